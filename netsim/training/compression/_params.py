"""Validation of compressor parameters (private).

Constructors raise :class:`ParameterError`, a :class:`~netsim.exceptions.ScenarioError`
that knows the parameter's name; :func:`~netsim.training.compression.make_compressor`
re-labels it with the scenario field the value came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = [
    "DEFAULT_PARAM_FIELD",
    "ParameterError",
    "check_bool",
    "check_choice",
    "check_int",
    "check_real",
    "check_optional_positive",
    "check_fractions",
]

DEFAULT_PARAM_FIELD = "training.compression.{}"
"""Field template of a compressor parameter in error messages (``{}`` = parameter name)."""


class ParameterError(ScenarioError):
    """An invalid compressor parameter.

    Attributes
    ----------
    param : str
        The parameter's name (e.g. ``"ratio"``).
    detail : str
        What is wrong and what is accepted, without the field name.
    """

    def __init__(self, param: str, detail: str) -> None:
        self.param = param
        self.detail = detail
        super().__init__(f"{DEFAULT_PARAM_FIELD.format(param)}: {detail}")


def _is_number(value: object) -> bool:
    return not isinstance(value, bool | np.bool_) and isinstance(
        value, int | float | np.integer | np.floating
    )


def check_bool(value: object, param: str) -> bool:
    """Return ``value`` if it is a boolean."""
    if not isinstance(value, bool | np.bool_):
        raise ParameterError(param, f"must be true or false, got {value!r}")
    return bool(value)


def check_choice(value: object, param: str, accepted: Sequence) -> object:
    """Return ``value`` if it is one of ``accepted``."""
    if isinstance(value, bool | np.bool_) or value not in accepted:
        raise ParameterError(
            param, f"must be one of {', '.join(map(str, accepted))}, got {value!r}"
        )
    return value


def check_int(value: object, param: str, low: int, high: int | None = None) -> int:
    """Return ``value`` as int if it is an integer in ``[low, high]`` (``high=None``: no upper bound)."""
    ok = not isinstance(value, bool | np.bool_) and isinstance(value, int | np.integer)
    if ok:
        value = int(value)
        ok = value >= low and (high is None or value <= high)
    if not ok:
        span = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ParameterError(
            param, f"must be an integer {'in ' if high is not None else ''}{span}, got {value!r}"
        )
    return value


def check_real(
    value: object,
    param: str,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = True,
) -> float:
    """Return ``value`` as float if it is a finite number in the interval given."""
    ok = _is_number(value)
    if ok:
        value = float(value)
        ok = (
            math.isfinite(value)
            and (value > low if low_open else value >= low)
            and (value < high if high_open else value <= high)
        )
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        upper = "inf" if math.isinf(high) else f"{high:g}"
        raise ParameterError(
            param, f"must be a finite number in {lo}{low:g}, {upper}{hi}, got {value!r}"
        )
    return value


def check_optional_positive(value: object, param: str) -> float | None:
    """``None`` or ``0`` (off) give ``None``; otherwise a finite number ``> 0``."""
    if value is None or (_is_number(value) and value == 0):
        return None
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ParameterError(param, f"must be a finite number > 0 (or 0 for off), got {value!r}")
    return float(value)


def check_fractions(value: object, param: str) -> tuple[float, ...]:
    """A sequence (possibly empty) of numbers in ``[0, 1)``."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ParameterError(param, f"must be a list of numbers in [0, 1), got {value!r}")
    out = []
    for item in value:
        if not _is_number(item) or not 0.0 <= float(item) < 1.0:
            raise ParameterError(param, f"must be a list of numbers in [0, 1), got {list(value)!r}")
        out.append(float(item))
    return tuple(out)
