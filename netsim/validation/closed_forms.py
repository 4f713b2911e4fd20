"""The reference formulas of the validation suite (REFERENCES §1–2), as plain functions.

Written out here from the references, independently of the network models and of the
algorithms' own ``predict`` functions, so that ``netsim validate`` compares the simulator
with the formulas rather than with itself. No SimPy. Sizes in bytes, bandwidths in
bytes/s, times in seconds; ``alpha`` is a route latency (s) and ``beta = 1 / B``
(s/byte).

Examples
--------
>>> alpha_beta(1e6, [1e-6, 2e-6], [1e9, 5e8])          # 3 us + 1 MB at 0.5 GB/s
0.002003
>>> store_and_forward(3, 1500, [1e-6, 1e-6], 1.5e9)     # 2 us + (3 + 2 - 1) frames
6e-06
>>> ring_allreduce(4, 4e6, 1e-6, 1e-9)                  # 6 us + 1.5 × 4 MB at 1 GB/s
0.006006
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "alpha_beta",
    "store_and_forward",
    "ring_allreduce",
    "recursive_doubling_allreduce",
    "rabenseifner_allreduce",
    "binomial_allreduce",
    "ring_all_gather",
    "parameter_server",
    "tcp_wire_bytes",
    "tcp_transfer_time",
    "frame_sizes",
    "framed_wire_bytes",
    "store_and_forward_frames",
]


def _lg(p: int) -> float:
    return math.log2(p)


def _clg(p: int) -> int:
    return (p - 1).bit_length()


def alpha_beta(nbytes: float, latencies: Sequence[float], bandwidths: Sequence[float]) -> float:
    """Cut-through point-to-point time ``ΣLᵢ + n / min Bᵢ`` (REFERENCES §1, fluid model), s.

    Parameters
    ----------
    nbytes : float
        Bytes on the wire.
    latencies : sequence of float
        One-way latency of every link of the route, s.
    bandwidths : sequence of float
        Bandwidth of every link of the route, bytes/s.
    """
    return math.fsum(latencies) + nbytes / min(bandwidths)


def store_and_forward(
    frames: int, frame_bytes: float, latencies: Sequence[float], bandwidths: float | Sequence[float]
) -> float:
    """Store-and-forward time of ``k`` equal frames sent back to back over ``h`` links, s.

    ``ΣLᵢ + Σ m/Bᵢ + (k − 1)·m/min Bᵢ``: the first frame crosses the links one after
    another, the other ``k − 1`` follow at the pace of the slowest link. On ``h`` equal
    links this is REFERENCES §1's ``ΣLᵢ + (k + h − 1)·m/B``.

    Parameters
    ----------
    frames : int
        Number of frames ``k`` (all of ``frame_bytes`` wire bytes), ``>= 1``.
    frame_bytes : float
        Wire bytes of one frame, ``m``.
    latencies : sequence of float
        One-way latency of each of the ``h`` links, s.
    bandwidths : float or sequence of float
        Bandwidth of every link (one value: all equal), bytes/s.
    """
    if isinstance(bandwidths, int | float):
        bandwidths = [bandwidths] * len(latencies)
    if len(bandwidths) != len(latencies):
        raise ValueError("store_and_forward needs one bandwidth per link")
    first = math.fsum(frame_bytes / b for b in bandwidths)
    return math.fsum(latencies) + first + (frames - 1) * frame_bytes / min(bandwidths)


def ring_allreduce(p: int, n: float, alpha: float, beta: float) -> float:
    """Ring allreduce, ``2(p−1)α + 2((p−1)/p)nβ`` s (REFERENCES §2)."""
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * n * beta


def recursive_doubling_allreduce(p: int, n: float, alpha: float, beta: float) -> float:
    """Recursive-doubling allreduce (``p`` a power of two), ``lg p·(α + nβ)`` s."""
    return _lg(p) * (alpha + n * beta)


def rabenseifner_allreduce(p: int, n: float, alpha: float, beta: float) -> float:
    """Rabenseifner allreduce (``p`` a power of two), ``2 lg p·α + 2((p−1)/p)nβ`` s."""
    return 2 * _lg(p) * alpha + 2 * (p - 1) / p * n * beta


def binomial_allreduce(p: int, n: float, alpha: float, beta: float) -> float:
    """Binomial reduce + binomial broadcast, ``2⌈lg p⌉(α + nβ)`` s."""
    return 2 * _clg(p) * (alpha + n * beta)


def ring_all_gather(p: int, n: float, alpha: float, beta: float) -> float:
    """Ring all-gather of ``n`` gathered bytes in total, ``(p−1)α + ((p−1)/p)nβ`` s."""
    return (p - 1) * alpha + (p - 1) / p * n * beta


def parameter_server(p: int, n: float, alpha: float, beta: float) -> float:
    """One server, ``p`` workers, server link the bottleneck: ``2(α + p·nβ)`` s."""
    return 2 * (alpha + p * n * beta)


def tcp_wire_bytes(nbytes: int, mss: int = 1460, overhead: int = 78) -> tuple[int, int]:
    """Segments and wire bytes of one TCP message, ``(k, n + k·overhead)``.

    ``k = ⌈n / mss⌉``; every segment carries ``overhead`` bytes of Ethernet line time,
    Ethernet, IPv4 and TCP headers (20 + 18 + 20 + 20 = 78 at MTU 1500, REFERENCES §5).
    Valid when no frame needs padding (the last segment carries at least 6 bytes).

    Raises
    ------
    ValueError
        If the last segment would be padded (``n mod mss`` in ``1..5``) or ``n < 6``.
    """
    segments = -(-nbytes // mss)
    last = nbytes - (segments - 1) * mss
    if nbytes < 6 or last < 6:
        raise ValueError(f"{nbytes} bytes: the last segment would be padded; pick another size")
    return segments, nbytes + segments * overhead


def tcp_transfer_time(
    nbytes: int,
    bandwidth: float,
    latency: float,
    *,
    software_latency: float = 10e-6,
    initial_window: int = 10,
    mss: int = 1460,
    overhead: int = 78,
    handshake_rtts: int = 1,
) -> float:
    """Uncontended delivery time of one TCP message on a new connection, s.

    ``handshake_rtts·rtt + software_latency + T_ss + latency`` with ``rtt = 2·latency``
    and ``T_ss`` the slow-start time of :func:`netsim.transport.slow_start.slow_start_time`
    (rounds of ``IW·2^i`` segments, each waiting one RTT, until the window reaches the
    bandwidth-delay product or holds the rest of the message).

    Parameters
    ----------
    nbytes : int
        Payload bytes.
    bandwidth : float
        Bottleneck bandwidth of the route, bytes/s (wire bytes).
    latency : float
        One-way route latency, s.
    software_latency, initial_window, mss, overhead, handshake_rtts
        The ``tcp`` profile's defaults (REFERENCES §5).
    """
    from netsim.transport.slow_start import slow_start_time

    segments, wire = tcp_wire_bytes(nbytes, mss, overhead)
    rtt = 2 * latency
    send = slow_start_time(segments, wire, initial_window, mss + overhead, bandwidth, rtt)
    return handshake_rtts * rtt + software_latency + send + latency



def frame_sizes(nbytes: int, max_payload: int, overhead: int, first_extra: int = 0) -> list[int]:
    """Wire bytes of each frame of a message cut into frames of at most `max_payload` bytes.

    ``k = ⌈n / max_payload⌉`` frames, each adding `overhead` bytes (line time and every
    header), the first `first_extra` more (RoCE's RETH: 16). REFERENCES §5: UDP at MTU
    1500 adds 66 bytes per datagram of up to 1472; RoCEv2 adds 82 per packet of up to
    1024 (path MTU at IP MTU 1500). Valid when no frame needs padding (the caller picks
    `nbytes`: a multiple of 4 for RoCE, a last frame of at least 18 bytes for UDP).
    """
    frames = -(-nbytes // max_payload)
    sizes = [max_payload + overhead] * frames
    sizes[-1] = nbytes - (frames - 1) * max_payload + overhead
    sizes[0] += first_extra
    return sizes


def framed_wire_bytes(nbytes: int, max_payload: int, overhead: int, first_extra: int = 0) -> int:
    """Wire bytes of a framed message, ``n + k·overhead + first_extra`` (see :func:`frame_sizes`)."""
    return sum(frame_sizes(nbytes, max_payload, overhead, first_extra))


def store_and_forward_frames(sizes: Sequence[float], latencies: Sequence[float], bandwidth: float) -> float:
    """Store-and-forward time of frames of any sizes, back to back over ``h`` equal links, s.

    ``ΣLᵢ + (Σ sⱼ + (h − 1)·max sⱼ) / B``: the largest frame is the one the pipeline waits
    for on every extra hop (a proportionate flow shop). With equal frames it is
    :func:`store_and_forward`.
    """
    hops = len(latencies)
    return math.fsum(latencies) + (math.fsum(sizes) + (hops - 1) * max(sizes)) / bandwidth
