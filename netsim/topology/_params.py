"""Checks of builder parameters; each failure is a TopologyError naming the parameter.

Builders accept numbers in SI base units or strings with units (``"100Gbps"``,
``"2us"``); these helpers parse them with :mod:`netsim.units` and turn the
parser's :class:`~netsim.exceptions.ScenarioError` into a
:class:`~netsim.exceptions.TopologyError` that names the builder parameter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from netsim.exceptions import ScenarioError, TopologyError
from netsim.units import parse_bandwidth, parse_time

__all__ = [
    "check_count",
    "check_bandwidth",
    "check_latency",
    "check_ratio",
    "check_levels",
]


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise TopologyError unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TopologyError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise TopologyError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_bandwidth(name: str, value: object) -> float:
    """Parse a bandwidth (number in bytes/s or unit string) that must be positive; bytes/s."""
    try:
        result = parse_bandwidth(value, field=name)
    except ScenarioError as err:
        raise TopologyError(str(err)) from err
    if result <= 0:
        raise TopologyError(f"{name}: bandwidth must be positive, got {value!r}")
    return result


def check_latency(name: str, value: object) -> float:
    """Parse a latency (number in seconds or unit string) that must be non-negative; seconds."""
    try:
        return parse_time(value, field=name)
    except ScenarioError as err:
        raise TopologyError(str(err)) from err


def check_ratio(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise TopologyError unless it is a positive finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TopologyError(f"{name} must be a positive number, got {value!r}")
    result = float(value)
    if not math.isfinite(result) or result <= 0:
        raise TopologyError(f"{name} must be a positive finite number, got {value!r}")
    return result


def check_levels(name: str, values: object, parse) -> list[float]:
    """Parse a non-empty list of per-level values with ``parse(field, value)``.

    Each element's error names it as ``name[i]``.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) == 0:
        raise TopologyError(
            f"{name} must be a non-empty list (one value per level), got {values!r}"
        )
    return [parse(f"{name}[{i}]", value) for i, value in enumerate(values)]
