"""TCP slow start, modelled analytically (no SimPy).

The model (the ACK-clocked rounds of Cardwell, Savage & Anderson, "Modeling TCP
latency", INFOCOM 2000, without losses or delayed ACKs):

* A message is ``k`` segments; all but the last are full, each taking ``f`` wire bytes.
  The whole message takes ``W`` wire bytes (headers, padding and application framing
  included).
* The congestion window starts at ``IW`` segments (RFC 6928: 10) and doubles every
  round: round ``i`` (``i = 0, 1, …``) may send ``IW·2^i`` segments, starting ``i·rtt``
  after the first byte, back to back at ``rate`` (wire bytes/s).
* While a round's window is below the bandwidth-delay product (``IW·2^i·f < rate·rtt``)
  the sender goes idle until the first ACK of the round returns, one ``rtt`` after the
  round began. Once it is not (round ``r₁``), the ACK clock keeps the pipe full: the
  sender streams at ``rate`` until the end.
* If the data runs out first (round ``r₂`` is the first whose window holds all the
  segments left), round ``r₂`` sends the rest at ``rate``.

Hence, with ``r = min(r₁, r₂)`` rounds spent waiting for ACKs and
``S = IW·(2^r − 1)`` full segments sent in them, the time from the first byte sent to the
last byte sent is::

    T = r·rtt + (W − S·f) / rate

where ``r₁ = min{i ≥ 0 : IW·2^i·f ≥ rate·rtt}`` and
``r₂ = ⌊log₂ ⌈k / IW⌉⌋`` (the least ``i`` with ``IW·(2^{i+1} − 1) ≥ k``). With ``r = 0``
(the message fits in the initial window, or the initial window already fills the pipe)
``T = W / rate``: exactly the no-slow-start time. ``T`` never decreases when ``k``, ``W``
or ``rtt`` grow, never increases when ``rate`` grows, and ``T − W/rate < r·rtt``.
"""

from __future__ import annotations

import math

__all__ = ["slow_start_rounds", "slow_start_time", "check_rate_rtt"]


def check_rate_rtt(rate: float, rtt: float) -> None:
    """Raise ``ValueError`` unless ``rate > 0`` (bytes/s, ``inf`` allowed) and ``0 <= rtt < inf`` (s)."""
    if not rate > 0:  # also rejects NaN
        raise ValueError(f"rate must be > 0 bytes/s, got {rate!r}")
    if not 0 <= rtt < math.inf:
        raise ValueError(f"rtt must be finite and >= 0 s, got {rtt!r}")


def _check(segments: int, initial_window: int, segment_wire: int, rate: float, rtt: float) -> None:
    if segments < 0:
        raise ValueError(f"segments must be >= 0, got {segments!r}")
    if initial_window < 1:
        raise ValueError(f"initial_window must be >= 1 segment, got {initial_window!r}")
    if segment_wire < 1:
        raise ValueError(f"segment_wire must be >= 1 byte, got {segment_wire!r}")
    check_rate_rtt(rate, rtt)


def slow_start_rounds(
    segments: int, initial_window: int, segment_wire: int, rate: float, rtt: float
) -> int:
    """Rounds ``r`` a message spends waiting for ACKs in slow start (see the module doc).

    Parameters
    ----------
    segments : int
        Segments of the message, ``k``.
    initial_window : int
        Initial congestion window ``IW``, segments.
    segment_wire : int
        Wire bytes of a full segment, ``f`` (payload + every per-frame header).
    rate : float
        Sending rate once the pipe is full, wire bytes/s (``inf`` allowed).
    rtt : float
        Round-trip time, s.

    Returns
    -------
    int
        ``min(r₁, r₂)``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> slow_start_rounds(10, 10, 1538, 1.25e9, 1e-3)   # fits in the initial window
    0
    >>> slow_start_rounds(11, 10, 1538, 1.25e9, 1e-3)   # one round of 10, then 1
    1
    >>> slow_start_rounds(10**6, 10, 1538, 1.25e9, 1e-4)  # pipe full at 160 segments
    4
    """
    _check(segments, initial_window, segment_wire, rate, rtt)
    data_rounds = max(0, (-(-segments // initial_window)).bit_length() - 1)
    bdp = rate * rtt
    window = initial_window * segment_wire
    rounds = 0
    while rounds < data_rounds and window < bdp:
        window *= 2
        rounds += 1
    return rounds


def slow_start_time(
    segments: int,
    wire_bytes: int,
    initial_window: int,
    segment_wire: int,
    rate: float,
    rtt: float,
) -> float:
    """Time from the first to the last byte sent of a message in slow start, s.

    ``T = r·rtt + (wire_bytes − IW·(2^r − 1)·segment_wire) / rate`` with ``r`` from
    :func:`slow_start_rounds` (see the module doc for the model).

    Parameters
    ----------
    segments : int
        Segments of the message, ``k``.
    wire_bytes : int
        Wire bytes of the whole message, ``W``.
    initial_window, segment_wire, rate, rtt
        As in :func:`slow_start_rounds`.

    Returns
    -------
    float
        Seconds (add the one-way latency for the delivery time).

    Examples
    --------
    >>> slow_start_time(10, 15380, 10, 1538, 1.25e9, 1e-3) == 15380 / 1.25e9
    True
    >>> slow_start_time(11, 16918, 10, 1538, 1e6, 0.1)   # 0.1 + 1538/1e6
    0.101538
    """
    rounds = slow_start_rounds(segments, initial_window, segment_wire, rate, rtt)
    if rounds == 0:
        return wire_bytes / rate
    sent = initial_window * ((1 << rounds) - 1) * segment_wire
    return rounds * rtt + (wire_bytes - sent) / rate
