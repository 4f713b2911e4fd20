"""Options of the packet model (``network.buffer``, ``network.ecn``, ...), validated.

========================= =========== ==================================================
option                    default     meaning
========================= =========== ==================================================
``buffer``                1 MiB       bytes per switch output port (tail-drop limit; the
                                      PFC pause threshold XOFF on a lossless fabric)
``ecn``                   ``False``   mark data frames (CE) that join a switch queue
                                      holding more than ``ecn_threshold`` bytes
``ecn_threshold``         100 kB      marking threshold K, bytes (at most ``buffer/2``)
``loss_rate``             0           independent probability that a link loses a data
                                      frame (bit errors), per frame and link
``seed``                  0           seed of the per-link loss streams
========================= =========== ==================================================

Where the defaults come from: data-centre switch ASICs share a packet buffer among
their ports, of the order of 1 MB per port (Broadcom Trident II: 12 MB for 32×40G,
~375 kB per port; Tomahawk 3 / Trident 4 class: 64 MB for 32×400G, 2 MB per port;
the 1 Gbps Triumph of the DCTCP paper: 4 MB for 48 ports, ~85 kB). The ECN threshold is
the DCTCP heuristic for 10 Gbps (Alizadeh et al., SIGCOMM 2010; Linux
``Documentation/networking/dctcp``: 65 packets, ~100 kB at 10 Gbps, 20 packets at
1 Gbps). Sizes accept the scenario forms of :mod:`netsim.units` (``"256KiB"``).
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass

from netsim.exceptions import ScenarioError
from netsim.units import parse_size

__all__ = [
    "PacketOptions",
    "parse_packet_options",
    "DEFAULT_BUFFER",
    "DEFAULT_ECN_THRESHOLD",
    "PACKET_OPTIONS",
]

#: Bytes per switch output port.
DEFAULT_BUFFER = 1 << 20
#: ECN marking threshold K, bytes (capped at half the buffer).
DEFAULT_ECN_THRESHOLD = 100_000
#: Accepted option names.
PACKET_OPTIONS = ("buffer", "ecn", "ecn_threshold", "loss_rate", "seed")


@dataclass(frozen=True)
class PacketOptions:
    """Validated options (bytes, probability, seed); see the module table."""

    buffer: int = DEFAULT_BUFFER
    ecn: bool = False
    ecn_threshold: int = DEFAULT_ECN_THRESHOLD
    loss_rate: float = 0.0
    seed: int = 0

    @property
    def mark_threshold(self) -> int:
        """K actually used: ``min(ecn_threshold, buffer // 2)`` bytes."""
        return min(self.ecn_threshold, self.buffer // 2)


def _size(field: str, raw: object, low: int) -> int:
    if isinstance(raw, bool):
        raise ScenarioError(f"network.{field}: expected a size in bytes, got {raw!r}")
    value = parse_size(raw, f"network.{field}")
    if value != math.floor(value) or value < low:
        raise ScenarioError(
            f"network.{field}: expected a whole number of bytes >= {low}, got {raw!r}"
        )
    return int(value)


def parse_packet_options(options: dict[str, object]) -> PacketOptions:
    """Check the packet model's options and fill in defaults.

    Parameters
    ----------
    options : dict
        ``buffer`` (bytes or a size string, >= 1), ``ecn`` (bool), ``ecn_threshold``
        (bytes, >= 0), ``loss_rate`` (float in [0, 1)), ``seed`` (int >= 0). ``None``
        values mean the default.

    Returns
    -------
    PacketOptions

    Raises
    ------
    ScenarioError
        Naming ``network.<option>``, the value and what is accepted.

    Examples
    --------
    >>> parse_packet_options({"buffer": "64KiB"}).buffer
    65536
    >>> parse_packet_options({"bufer": 1})
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: network.bufer: unknown option of the packet model (did you mean 'buffer'?); accepted: buffer, ecn, ecn_threshold, loss_rate, seed
    """
    values: dict[str, object] = {}
    for key, raw in options.items():
        if key not in PACKET_OPTIONS:
            close = difflib.get_close_matches(str(key), PACKET_OPTIONS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ScenarioError(
                f"network.{key}: unknown option of the packet model{hint}; "
                f"accepted: {', '.join(PACKET_OPTIONS)}"
            )
        if raw is None:
            continue
        if key == "buffer":
            values[key] = _size(key, raw, 1)
        elif key == "ecn_threshold":
            values[key] = _size(key, raw, 0)
        elif key == "ecn":
            if not isinstance(raw, bool):
                raise ScenarioError(f"network.ecn: expected true or false, got {raw!r}")
            values[key] = raw
        elif key == "loss_rate":
            ok = isinstance(raw, numbers.Real) and not isinstance(raw, bool)
            if not ok or not 0 <= float(raw) < 1:
                raise ScenarioError(
                    f"network.loss_rate: expected a probability in [0, 1), got {raw!r}"
                )
            values[key] = float(raw)
        else:  # seed
            if isinstance(raw, bool) or not isinstance(raw, numbers.Integral) or raw < 0:
                raise ScenarioError(f"network.seed: expected a whole number >= 0, got {raw!r}")
            values[key] = int(raw)
    return PacketOptions(**values)
