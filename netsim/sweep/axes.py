"""Sweep axes: ``key=v1,v2,...`` lists and ``START:STOP:STEP`` ranges.

An axis is a dotted scenario key and the values it takes. Its text form, as in
``netsim sweep --grid KEY=VALUES``, is a comma-separated list; commas inside brackets
or quotes do not split (``[1, 2]`` is one list value). Each element is either

* a **value**, read like ``netsim run --set``: TOML when it parses (``8`` is an int,
  ``0.5`` a float, ``true`` a bool, ``"x"`` or ``[1, 2]`` as written), else the bare
  text as a string (``10Gbps``, ``ring``); or
* a **range** ``START:STOP:STEP`` (the end is inclusive):

  - ``START:STOP:+D`` arithmetic: START, START+D, START+2D, ... up to STOP (D > 0,
    START <= STOP); ``-D`` counts down (START >= STOP);
  - ``START:STOP:xF`` geometric: START, START*F, START*F**2, ... up to STOP (START > 0;
    F > 1 counts up, 0 < F < 1 down).

  Value ``i`` is computed as ``START + i*D`` (or ``START * F**i``), never by repeated
  addition; STOP is included when it is within 1e-9 steps of a value; floats are
  rounded to 12 significant digits (``0.1:0.5:+0.1`` gives 0.1, 0.2, 0.3, 0.4, 0.5,
  not 0.30000000000000004). When START and STOP are written as integers and every
  value is whole, the values are ints (``4:64:x2`` gives 4, 8, 16, 32, 64). START and STOP may carry the same
  unit, which the values keep: ``1Gbps:100Gbps:x10`` gives ``"1Gbps"``, ``"10Gbps"``,
  ``"100Gbps"`` (write ``0.1Gbps:100Gbps:x10``, not ``100Mbps:100Gbps:x10``). Ranges and values mix: ``1,2,4:16:x2``.

An element is taken as a range when it is unquoted, contains ``:`` and starts like a
number; a malformed one is an error rather than a string. Quote a string that
contains colons (``'"1:2"'``).

Examples
--------
>>> parse_values("1Gbps,10Gbps")
['1Gbps', '10Gbps']
>>> parse_values("4:64:x2")
[4, 8, 16, 32, 64]
>>> parse_values("0.1:0.5:+0.1")
[0.1, 0.2, 0.3, 0.4, 0.5]
>>> parse_values("1Gbps:100Gbps:x10")
['1Gbps', '10Gbps', '100Gbps']
>>> parse_axis("communication.algorithm=ring,ps")
('communication.algorithm', ['ring', 'ps'])
"""

from __future__ import annotations

import math
import re
import tomllib
from typing import Any

from netsim.exceptions import ScenarioError

__all__ = ["parse_axis", "parse_values", "parse_range", "MAX_RANGE_VALUES", "RANGE_FORMS"]

MAX_RANGE_VALUES = 10_000
"""Longest range accepted (a guard against typos such as ``1:1e9:+1``)."""

RANGE_FORMS = "START:STOP:+D (arithmetic), START:STOP:-D (down) or START:STOP:xF (geometric), e.g. 4:64:x2 or 0.1:0.5:+0.1"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BOUND = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z/%µ]*)\s*$")
_STEP = re.compile(r"^\s*([+\-xX*])\s*((?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/%µ]*)\s*$")
_LOOKS_NUMERIC = re.compile(r"^\s*[-+]?\.?\d")
_TOLERANCE = 1e-9


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """Split ``"dotted.key=VALUES"`` into the key and its list of values.

    Parameters
    ----------
    text : str
        ``KEY=VALUES`` as given to ``--grid`` or ``--zip`` (see the module docstring).

    Returns
    -------
    (str, list)
        The dotted key and its values, in order.

    Raises
    ------
    ScenarioError
        If there is no ``=``, the key is malformed, or a value or range is invalid.

    Examples
    --------
    >>> parse_axis("topology.hosts=4:16:x2")
    ('topology.hosts', [4, 8, 16])
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part.strip() for part in key.split(".")):
        raise ScenarioError(f"sweep axis {text!r}: expected dotted.key=VALUES, e.g. topology.bandwidth=1Gbps,10Gbps")
    try:
        return key, parse_values(raw)
    except ScenarioError as exc:
        raise ScenarioError(f"sweep axis {key!r}: {exc}") from None


def parse_values(text: str) -> list[Any]:
    """Parse a comma-separated list of values and ranges (see the module docstring).

    Raises
    ------
    ScenarioError
        If the list or an element is empty, brackets or quotes are unbalanced, or a
        range is malformed.

    Examples
    --------
    >>> parse_values('1, 2.5, true, ring, [1, 2], "a,b"')
    [1, 2.5, True, 'ring', [1, 2], 'a,b']
    >>> parse_values("64:16:x0.5")
    [64, 32, 16]
    """
    if not isinstance(text, str) or not text.strip():
        raise ScenarioError(f"no values in {text!r}: give one or more, separated by commas")
    values: list[Any] = []
    for element in _split_top_level(text):
        if not element:
            raise ScenarioError(f"empty value in {text!r} (two commas in a row, or a trailing comma?)")
        if ":" in element and _LOOKS_NUMERIC.match(element):
            values.extend(parse_range(element))
        else:
            values.append(_parse_value(element))
    return values


def parse_range(text: str) -> list[int | float | str]:
    """Expand one ``START:STOP:STEP`` range (see the module docstring).

    Raises
    ------
    ScenarioError
        Naming the range and the accepted forms.

    Examples
    --------
    >>> parse_range("1:10:+3")
    [1, 4, 7, 10]
    >>> parse_range("1:0:-0.25")
    [1.0, 0.75, 0.5, 0.25, 0.0]
    >>> parse_range("1us:100us:x10")
    ['1us', '10us', '100us']
    >>> parse_range("1Gbps:3Gbps:+1Gbps")
    ['1Gbps', '2Gbps', '3Gbps']
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise ScenarioError(f"bad range {text!r}: expected {RANGE_FORMS}")
    start_m, stop_m, step_m = _BOUND.match(parts[0]), _BOUND.match(parts[1]), _STEP.match(parts[2])
    if not (start_m and stop_m and step_m):
        raise ScenarioError(f"bad range {text!r}: expected {RANGE_FORMS}")
    unit = start_m.group(2)
    if stop_m.group(2) != unit:
        raise ScenarioError(
            f"bad range {text!r}: START and STOP must have the same unit "
            f"(got {unit or 'none'!r} and {stop_m.group(2) or 'none'!r}), e.g. 0.1Gbps:100Gbps:x10"
        )
    start_s, stop_s = start_m.group(1), stop_m.group(1)
    op, step_s, step_unit = step_m.group(1).lower(), step_m.group(2), step_m.group(3)
    if step_unit and (op not in ("+", "-") or step_unit != unit):
        raise ScenarioError(
            f"bad range {text!r}: an additive step may repeat START's unit ({unit or 'none'!r}); "
            f"a factor (xF) takes no unit, e.g. 1Gbps:100Gbps:+1Gbps or 1Gbps:100Gbps:x10"
        )
    start, stop, step = float(start_s), float(stop_s), float(step_s)
    if op in ("+", "-"):
        values = _arithmetic(text, start, stop, step if op == "+" else -step)
    else:
        values = _geometric(text, start, stop, step)
    if _is_int_literal(start_s) and _is_int_literal(stop_s) and all(v.is_integer() for v in values):
        values = [round(v) for v in values]
    if unit:
        return [f"{_format_number(v)}{unit}" for v in values]
    return values


def _arithmetic(text: str, start: float, stop: float, step: float) -> list[float]:
    if step == 0:
        raise ScenarioError(f"bad range {text!r}: the step must not be zero")
    span = (stop - start) / step
    if span < -_TOLERANCE:
        direction = "+D with START <= STOP" if step < 0 else "-D with START >= STOP"
        raise ScenarioError(f"bad range {text!r}: the step goes away from STOP; use {direction}")
    count = math.floor(span + _TOLERANCE) + 1
    _check_count(text, count)
    return [_round(start + i * step) for i in range(count)]


def _geometric(text: str, start: float, stop: float, factor: float) -> list[float]:
    if start <= 0 or stop <= 0:
        raise ScenarioError(f"bad range {text!r}: a geometric range needs START > 0 and STOP > 0")
    if factor <= 0 or factor == 1:
        raise ScenarioError(f"bad range {text!r}: the factor must be positive and not 1")
    span = math.log(stop / start) / math.log(factor)
    if span < -_TOLERANCE:
        direction = "xF with F < 1" if stop < start else "xF with F > 1"
        raise ScenarioError(f"bad range {text!r}: the factor goes away from STOP; use {direction}")
    count = math.floor(span + _TOLERANCE) + 1
    _check_count(text, count)
    return [_round(start * factor**i) for i in range(count)]


def _check_count(text: str, count: int) -> None:
    if count > MAX_RANGE_VALUES:
        raise ScenarioError(f"range {text!r} has {count} values; at most {MAX_RANGE_VALUES} are accepted")


def _round(value: float) -> float:
    return float(f"{value:.12g}")


def _is_int_literal(text: str) -> bool:
    return not any(c in text for c in ".eE")


def _format_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.12g}"


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except (ValueError, RecursionError):  # TOMLDecodeError, or an integer of more than 4300 digits
        return raw


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes; strip each element."""
    parts: list[str] = []
    depth, quote, current = 0, "", []
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth < 0:
                raise ScenarioError(f"unbalanced {char!r} in {text!r}")
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if quote or depth:
        raise ScenarioError(f"unbalanced {'quote' if quote else 'bracket'} in {text!r}")
    parts.append("".join(current).strip())
    return parts
