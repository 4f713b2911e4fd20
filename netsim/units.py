"""Parse and format physical quantities: bandwidths, times, sizes and compute rates.

Quantities cross into netsim as strings with units (``"100Gbps"``, ``"1.5us"``,
``"25MiB"``) or as plain numbers already in SI base units. They are parsed once,
at the edge (scenario files, CLI, builders), into floats in SI base units:

======== ===================== =========================================
quantity base unit            accepted forms (examples)
======== ===================== =========================================
bandwidth bytes per second     ``100Gbps``, ``400Mbps``, ``12.5GB/s``, ``1GiB/s``, ``1e9``
time     seconds               ``1.5us``, ``1.5µs``, ``10ms``, ``2s``, ``100ns``, ``1e-6``
size     bytes                 ``25MiB``, ``1KB``, ``1.5GB``, ``8Gb`` (bits), ``1e9``
flops    FLOP per second       ``312TFLOPS``, ``10GFLOP/s``, ``1e12``
======== ===================== =========================================

Prefixes: ``K M G T P`` are SI (powers of 1000), ``Ki Mi Gi Ti Pi`` binary
(powers of 1024). A lower-case ``b`` means bits, an upper-case ``B`` bytes.
A bare number (or numeric string) is taken to be in the base unit.

Examples
--------
>>> parse_bandwidth("100Gbps")
12500000000.0
>>> parse_time("1.5us")
1.5e-06
>>> parse_size("25MiB")
26214400.0
>>> format_bandwidth(12.5e9)
'100 Gbps'
"""

from __future__ import annotations

import math
import re

from netsim.exceptions import ScenarioError

__all__ = [
    "parse_bandwidth",
    "parse_time",
    "parse_size",
    "parse_flops",
    "format_bandwidth",
    "format_time",
    "format_size",
    "format_flops",
    "BANDWIDTH_FORMS",
    "TIME_FORMS",
    "SIZE_FORMS",
    "FLOPS_FORMS",
]

BANDWIDTH_FORMS = "100Gbps, 400Mbps, 1Tbps, 12.5GB/s, 1GiB/s, or a number in bytes/s such as 1e9"
TIME_FORMS = "1.5us (or µs), 10ms, 2s, 100ns, or a number in seconds such as 1e-6"
SIZE_FORMS = "25MiB, 1KB, 1.5GB, 4GiB, 8Gb (bits), or a number of bytes such as 1e9"
FLOPS_FORMS = "312TFLOPS, 10GFLOP/s, or a number in FLOP/s such as 1e12"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([^\s\d].*?)?\s*$")

_SI = {"": 1.0, "K": 1e3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_BIN = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}


def _prefixed(unit_names: dict[str, float]) -> dict[str, float]:
    """Expand base unit names (name -> factor) with SI and binary prefixes."""
    table: dict[str, float] = {}
    for name, factor in unit_names.items():
        for prefix, scale in (_SI | _BIN).items():
            table[prefix + name] = scale * factor
    return table


_BANDWIDTH_UNITS = _prefixed(
    {"bps": 1 / 8, "b/s": 1 / 8, "bit/s": 1 / 8, "B/s": 1.0, "Bps": 1.0}
)
_SIZE_UNITS = _prefixed({"B": 1.0, "b": 1 / 8, "bit": 1 / 8, "bits": 1 / 8})
_FLOPS_UNITS = _prefixed({"FLOPS": 1.0, "FLOP/s": 1.0, "flops": 1.0, "FLOPs": 1.0})
_TIME_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ns": 1e-9,
    "ps": 1e-12,
    "min": 60.0,
    "h": 3600.0,
}


def _shown(value: object) -> str:
    """``repr(value)``, cut to 60 characters (a message is for people)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse(value: object, units: dict[str, float], kind: str, forms: str, field: str | None) -> float:
    where = f"{field}: " if field else ""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}expected a {kind}, got the boolean {value!r}; accepted forms: {forms}")
    if isinstance(value, int | float):
        try:
            number, factor = float(value), 1.0
        except OverflowError:  # an int beyond the float range
            raise ScenarioError(f"{where}{kind} must be finite, got an integer of {value.bit_length()} bits") from None
    elif isinstance(value, str):
        match = _QUANTITY.match(value)
        if match is None:
            raise ScenarioError(f"{where}cannot read {_shown(value)} as a {kind}; accepted forms: {forms}")
        unit = match.group(2) or ""
        if unit not in units and unit != "":
            raise ScenarioError(
                f"{where}unknown unit {unit!r} in {_shown(value)} for a {kind}; accepted forms: {forms}"
            )
        number, factor = float(match.group(1)), units.get(unit, 1.0)
    else:
        raise ScenarioError(
            f"{where}expected a {kind} (number or string), got {type(value).__name__}; accepted forms: {forms}"
        )
    result = number * factor
    if not math.isfinite(result):
        raise ScenarioError(f"{where}{kind} must be finite, got {_shown(value)}")
    if result < 0:
        raise ScenarioError(f"{where}{kind} must not be negative, got {_shown(value)}")
    return result


def parse_bandwidth(value: object, field: str | None = None) -> float:
    """Parse a bandwidth into bytes per second.

    Parameters
    ----------
    value : str or float
        ``"100Gbps"`` (bits), ``"12.5GB/s"`` (bytes), or a number in bytes/s.
    field : str, optional
        Name of the scenario field, used in error messages.

    Returns
    -------
    float
        Bandwidth in bytes/s.

    Raises
    ------
    ScenarioError
        If the value cannot be read, has an unknown unit, or is negative or not finite.

    Examples
    --------
    >>> parse_bandwidth("400Mbps")
    50000000.0
    >>> parse_bandwidth("1GiB/s")
    1073741824.0
    """
    return _parse(value, _BANDWIDTH_UNITS, "bandwidth", BANDWIDTH_FORMS, field)


def parse_time(value: object, field: str | None = None) -> float:
    """Parse a duration into seconds.

    Examples
    --------
    >>> parse_time("10ms")
    0.01
    >>> parse_time(2)
    2.0
    """
    return _parse(value, _TIME_UNITS, "time", TIME_FORMS, field)


def parse_size(value: object, field: str | None = None) -> float:
    """Parse a data size into bytes (``b`` = bits, ``B`` = bytes).

    Examples
    --------
    >>> parse_size("1KB")
    1000.0
    >>> parse_size("8Gb")
    1000000000.0
    """
    return _parse(value, _SIZE_UNITS, "size", SIZE_FORMS, field)


def parse_flops(value: object, field: str | None = None) -> float:
    """Parse a compute rate into FLOP per second.

    Examples
    --------
    >>> parse_flops("312TFLOPS")
    312000000000000.0
    """
    return _parse(value, _FLOPS_UNITS, "compute rate", FLOPS_FORMS, field)


def _scaled(value: float, steps: list[tuple[float, str]], digits: int) -> str:
    magnitude = abs(value)
    for scale, unit in steps:
        if magnitude >= scale:
            return f"{value / scale:.{digits}g} {unit}"
    scale, unit = steps[-1]
    return f"{value / scale:.{digits}g} {unit}"


def format_bandwidth(bytes_per_second: float, digits: int = 6) -> str:
    """Format a bandwidth in bytes/s as bits per second with an SI prefix (``'100 Gbps'``)."""
    bits = bytes_per_second * 8
    return _scaled(bits, [(1e12, "Tbps"), (1e9, "Gbps"), (1e6, "Mbps"), (1e3, "Kbps"), (1.0, "bps")], digits)


def format_time(seconds: float, digits: int = 6) -> str:
    """Format seconds with the largest unit that keeps the number >= 1 (``'1.5 us'``)."""
    if seconds == 0:
        return "0 s"
    return _scaled(seconds, [(1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns"), (1e-12, "ps")], digits)


def format_size(nbytes: float, digits: int = 6) -> str:
    """Format a byte count with a binary prefix (``'25 MiB'``)."""
    return _scaled(
        nbytes, [(2.0**40, "TiB"), (2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B")], digits
    )


def format_flops(flops_per_second: float, digits: int = 6) -> str:
    """Format a compute rate in FLOP/s with an SI prefix (``'312 TFLOPS'``)."""
    return _scaled(
        flops_per_second,
        [(1e15, "PFLOPS"), (1e12, "TFLOPS"), (1e9, "GFLOPS"), (1e6, "MFLOPS"), (1.0, "FLOPS")],
        digits,
    )
