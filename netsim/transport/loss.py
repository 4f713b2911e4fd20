"""Random frame loss in the fluid models: expected values, no randomness (no SimPy).

A route of ``h`` links, each losing a frame with probability ``p`` independently, loses a
frame with probability ``P = 1 − (1 − p)^h`` (:func:`route_loss`). The fluid network
models (``flow``, ``analytic``) charge the *expected* cost of that loss; the packet model
draws the losses.

Reliable profiles resend lost frames. With ``retransmission = "selective"`` (TCP's fast
retransmit) only the lost frame is resent; with ``"go_back_n"`` (RoCE RC) the receiver
discards every frame after a lost one until it is resent, so the sender resends the
``K`` frames it sent in the round trip before it learned of the loss. The expected
number of transmissions per delivered frame is then (go-back-N efficiency, Bertsekas &
Gallager, *Data Networks*, 2nd ed., §2.4; selective repeat is ``K = 1``)::

    1 + K·P / (1 − P)                              transmissions_per_frame(P, K)

so a message of ``W`` wire bytes puts ``W·K·P/(1 − P)`` more bytes on the wire
(:meth:`LossMixin.retransmitted_bytes`), all of them dropped or discarded on the way.
An unreliable profile (UDP) resends nothing and loses ``W·P`` bytes.

A profile with a loss-driven congestion window (``congestion_control = "newreno"``: AIMD)
cannot keep more than the Mathis et al. rate in flight (M. Mathis, J. Semke, J. Mahdavi,
T. Ott, "The macroscopic behavior of the TCP congestion avoidance algorithm", ACM SIGCOMM
CCR 27(3), 1997; periodic loss, no delayed ACKs)::

    rate ≤ MSS / (RTT·√(2P/3))                     mathis_rate(segment, rtt, P)

with ``MSS`` counted here as the full segment's wire bytes (``frame_bytes``), so the cap is
in wire bytes/s like every rate of the network models.

Sizes in bytes, times in seconds, rates in wire bytes/s, probabilities in ``[0, 1)``.
"""

from __future__ import annotations

import math

__all__ = ["route_loss", "mathis_rate", "transmissions_per_frame", "check_loss", "LossMixin"]

_INF = math.inf


def check_loss(loss: float, name: str = "loss") -> float:
    """`loss` as a float, or ``ValueError`` unless ``0 <= loss < 1``."""
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not 0 <= loss < 1:
        raise ValueError(f"{name} must be a probability in [0, 1), got {loss!r}")
    return float(loss)


def route_loss(loss_rate: float, hops: int) -> float:
    """Probability that a frame crossing `hops` links is lost: ``1 − (1 − p)^hops``.

    Examples
    --------
    >>> route_loss(0.0, 4), route_loss(0.5, 2)
    (0.0, 0.75)
    """
    p = check_loss(loss_rate, "loss_rate")
    if p == 0 or hops <= 0:
        return 0.0
    return 1.0 - (1.0 - p) ** hops


def mathis_rate(segment: float, rtt: float, loss: float) -> float:
    """Mathis et al.'s throughput bound ``segment / (rtt·√(2·loss/3))`` (``inf`` if no loss or RTT).

    Parameters
    ----------
    segment : float
        Bytes of one full segment (payload, or wire bytes for a wire rate).
    rtt : float
        Round-trip time, s.
    loss : float
        Probability that a segment is lost, in ``[0, 1)``.

    Examples
    --------
    >>> round(mathis_rate(1538, 1e-3, 0.01) / 1e6, 4)   # MB/s
    18.8366
    """
    loss = check_loss(loss)
    if loss == 0 or rtt == 0:
        return _INF
    return segment / (rtt * math.sqrt(2.0 * loss / 3.0))


def transmissions_per_frame(loss: float, window: int) -> float:
    """Expected transmissions per delivered frame, go-back-`window` ARQ: ``1 + window·P/(1 − P)``.

    ``window = 1`` is selective repeat: ``1/(1 − P)``.

    Examples
    --------
    >>> transmissions_per_frame(0.5, 1), transmissions_per_frame(0.5, 4)
    (2.0, 5.0)
    """
    loss = check_loss(loss)
    if window < 1:
        raise ValueError(f"window must be >= 1 frame, got {window!r}")
    return 1.0 + window * loss / (1.0 - loss)


class LossMixin:
    """Loss methods of :class:`~netsim.transport.TransportProfile` (uses its fields and framing)."""

    def rto(self, rtt: float) -> float:
        """Retransmission timeout on a connection with a steady RTT, s: ``max(min_rto, rtt)``.

        RFC 6298's ``SRTT + 4·RTTVAR`` with ``RTTVAR → 0``, floored at ``min_rto``. The fluid
        models restart slow start on a connection idle for longer than this.
        """
        return max(self.min_rto, rtt)

    def loss_limited_rate(self, rtt: float, loss: float) -> float:
        """Rate cap of loss-driven congestion control, wire bytes/s (``inf`` if none applies).

        ``frame_bytes / (rtt·√(2·loss/3))`` (:func:`mathis_rate`) for a reliable profile
        whose ``congestion_control`` is not ``"none"``; ``inf`` otherwise, or without loss,
        RTT or frames. `loss` is the route's frame loss probability (:func:`route_loss`).
        """
        if (
            not loss
            or not self.reliable
            or self.congestion_control == "none"
            or not self.frame_bytes
        ):
            check_loss(loss)
            return _INF
        return mathis_rate(self.frame_bytes, rtt, loss)

    def retransmission_window(self, nbytes: float, rate: float, rtt: float) -> int:
        """Frames resent per lost frame, ``K``: 1 (``selective``) or, with ``go_back_n``, the
        lost frame and those sent in the round trip after it, ``min(k, 1 + ⌊rate·rtt / f⌋)``
        (``k = frames(n)``, ``f = frame_bytes``; 1 when unframed)."""
        if self.retransmission == "selective" or not self.frame_bytes:
            return 1
        frames = self.frames(nbytes)
        in_flight = rate * rtt / self.frame_bytes
        return frames if in_flight >= frames else min(frames, 1 + math.floor(in_flight))

    def retransmitted_bytes(self, nbytes: float, rate: float, rtt: float, loss: float) -> float:
        """Expected wire bytes sent again for one message: ``W·K·P/(1 − P)`` if reliable, else 0.

        ``W = wire_bytes(n)``, ``K = retransmission_window(n, rate, rtt)``, ``P = loss``
        (the route's frame loss probability); `rate` in wire bytes/s, `rtt` in s.

        Examples
        --------
        >>> from netsim.transport import make_transport
        >>> make_transport("tcp").retransmitted_bytes(1460, 1.25e9, 1e-4, 0.5)   # 1538·1·0.5/0.5
        1538.0
        """
        loss = check_loss(loss)
        if not loss or not self.reliable:
            return 0.0
        window = self.retransmission_window(nbytes, rate, rtt)
        return self.wire_bytes(nbytes) * (window * loss / (1.0 - loss))

    def dropped_bytes(self, nbytes: float, rate: float, rtt: float, loss: float) -> float:
        """Expected wire bytes of one message that never arrive (lost or discarded).

        Reliable: every resent byte replaces one, :meth:`retransmitted_bytes`. Unreliable:
        ``W·P``. So ``wire_bytes + retransmitted = delivered + dropped`` with ``delivered =
        W`` (reliable) or ``W·(1 − P)`` (unreliable).
        """
        loss = check_loss(loss)
        if not loss:
            return 0.0
        if self.reliable:
            return self.retransmitted_bytes(nbytes, rate, rtt, loss)
        return self.wire_bytes(nbytes) * loss
