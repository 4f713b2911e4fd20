"""How the fluid models (``flow``, ``analytic``) apply a transport profile to a transfer.

For a message of ``n`` payload bytes over a route with one-way latency ``L`` (so
``rtt = 2L``) and bottleneck bandwidth ``B``, :meth:`FluidTransport.plan` gives:

* the **wire bytes** ``W = transport.wire_bytes(n)`` (``n`` itself, fractions kept, for
  a pass-through profile such as ``ideal``); the JSON body of ``rest`` is charged by its
  size rule, never by serialising the array (that would cost more than the simulation);
* the **rate cap** ``min(max_rate, transport.max_rate(rtt), transport.loss_limited_rate(rtt, P))``
  (receive window; Mathis et al. under loss), with ``P = 1 − (1 − loss_rate)^hops``;
* the **delay before the first byte** (the flow holds no link meanwhile):
  ``handshake_time(rtt)`` on the first message between two hosts (a connection serves
  both directions and stays open; a message sent while the handshake is under way waits
  for it), ``message_latency(n)`` (software, encoding) and the **slow-start penalty**
  ``slow_start_delay(n, r, rtt, cwnd)`` at the uncontended rate ``r = min(B, cap)``;
* the **retransmitted** bytes (reliable profiles: ``W·K·P/(1 − P)``, ``K`` frames resent
  per loss) that the flow carries on top of ``W``, and the **dropped** bytes (reliable:
  the same; unreliable: ``W·P``, the payload still arrives whole).

So an uncontended message is delivered exactly ``transport.transfer_time(n, B, L,
new_connection=..., loss=P, cwnd=...)`` after it is sent.

Slow start and connections (decided here; ``docs/transports.md``): each direction of a
connection keeps its congestion window from message to message. A message of ``k``
segments grows the window by ``k`` (one segment per ACK, RFC 5681; no loss, so no
ssthresh), credited when its last byte is sent, and a connection idle (no message of
that direction sending) for longer than the RTO (``transport.rto(rtt) = max(min_rto,
rtt)``) restarts from ``min(w, initial_window)`` (RFC 5681 §4.1, Linux
``tcp_slow_start_after_idle``). Messages that overlap on one direction are independent
flows, each starting from the window the connection had when it was sent (a real
connection would serialise them in one byte stream, so the later ones would finish
later than here).

No protocol is special-cased by name: only profile attributes and methods are used.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from netsim.transport import TransportProfile, route_loss
from netsim.transport.slow_start import slow_start_rounds

__all__ = ["Connection", "FluidTransport"]

_INF = math.inf
_SIZE_CACHE = 4096  # distinct message sizes remembered per network


class Connection:
    """One direction of a connection (internal state of :class:`FluidTransport`).

    Attributes
    ----------
    cwnd : int
        Congestion window the next message starts with, segments.
    active : int
        Messages of this direction still sending (counted by the flow model).
    last : float
        Time the last byte of the latest message was (or will be) sent, s
        (``-inf`` before the first).
    pending : list of (float, int)
        ``(time, segments)``: window growth due when a message's last byte is sent, for
        a model that knows that time in advance (analytic); see :meth:`settle`.
    """

    __slots__ = ("cwnd", "active", "last", "pending")

    def __init__(self, cwnd: int):
        self.cwnd = cwnd
        self.active = 0
        self.last = -_INF
        self.pending: list[tuple[float, int]] = []

    def settle(self, now: float) -> None:
        """Credit the growth of every message whose last byte is sent by `now`."""
        pending = self.pending
        if pending:
            due = [item for item in pending if item[0] <= now]
            if due:
                self.cwnd += sum(segments for _, segments in due)
                self.pending = [item for item in pending if item[0] > now]


class FluidTransport:
    """Per-network transport state of a fluid model: connections and cached sizes.

    Parameters
    ----------
    transport : TransportProfile
        The profile every transfer uses.
    loss_rate : float
        Probability that a link loses a frame, in ``[0, 1)``.
    """

    __slots__ = ("transport", "loss_rate", "_sizes", "_routes", "_opened", "_conns")

    def __init__(self, transport: TransportProfile, loss_rate: float = 0.0):
        self.transport = transport
        self.loss_rate = loss_rate
        self._sizes: dict[float, tuple[float, int, float]] = {}
        self._routes: dict[tuple[float, int], tuple[float, float, float]] = {}
        self._opened: dict[tuple[Hashable, Hashable], float] = {}
        self._conns: dict[tuple[Hashable, Hashable], Connection] = {}

    def plan(
        self,
        src: Hashable,
        dst: Hashable,
        nbytes: float,
        hops: int,
        latency: float,
        bottleneck: float,
        max_rate: float,
        now: float,
    ) -> tuple[float, float, float, float, float, Connection | None, int]:
        """How one message of `nbytes` payload bytes goes from `src` to `dst` at time `now`.

        Parameters
        ----------
        src, dst : node
            End points (``src != dst``).
        nbytes : float
            Payload bytes.
        hops : int
            Links on the route.
        latency : float
            One-way route latency, s.
        bottleneck : float
            Smallest link bandwidth on the route, bytes/s.
        max_rate : float
            The caller's rate bound, wire bytes/s.
        now : float
            Current simulated time, s.

        Returns
        -------
        tuple
            ``(pre, size, cap, retransmitted, dropped, conn, segments)``: seconds before
            the first byte, bytes the flow carries (wire bytes + retransmitted), its rate
            cap (bytes/s), expected retransmitted and dropped bytes, the connection
            direction whose window the message used (``None`` without slow start) and
            the segments to credit to its window when the last byte is sent.
        """
        t = self.transport
        sized = self._sizes.get(nbytes)
        if sized is None:
            wire = nbytes if t.passthrough else t.wire_bytes(nbytes)
            sized = (wire, t.frames(nbytes), t.message_latency(nbytes))
            if len(self._sizes) >= _SIZE_CACHE:
                self._sizes.clear()
            self._sizes[nbytes] = sized
        wire, frames, software = sized
        rtt = 2 * latency
        routed = self._routes.get((latency, hops))
        if routed is None:
            loss = route_loss(self.loss_rate, hops)
            routed = (loss, min(t.max_rate(rtt), t.loss_limited_rate(rtt, loss)), t.rto(rtt))
            self._routes[(latency, hops)] = routed
        loss, limit, rto = routed
        cap = max_rate if max_rate <= limit else limit
        rate = bottleneck if bottleneck <= cap else cap
        pre = 0.0
        if t.handshake_rtts:
            ready = self._opened.get((src, dst))
            if ready is None:
                pre = t.handshake_time(rtt)
                self._opened[(src, dst)] = self._opened[(dst, src)] = now + pre
            elif ready > now:
                pre = ready - now
        pre += software
        conn = None
        if t.slow_start:
            conn = self._conns.get((src, dst))
            if conn is None:
                conn = self._conns[(src, dst)] = Connection(t.initial_window)
            else:
                conn.settle(now)
                if conn.active == 0 and now - conn.last > rto:
                    conn.cwnd = min(conn.cwnd, t.initial_window)
            cwnd = conn.cwnd
            # Else it fits in the window: no round waits for ACKs. A route through a failed
            # link (rate 0) stalls the flow until the repair; no slow-start penalty is
            # charged for it (the fluid model does not replay slow start after an outage).
            if frames > cwnd and rate > 0:
                # transport.slow_start_delay(nbytes, rate, rtt, cwnd=cwnd), from cached frames
                rounds = slow_start_rounds(frames, cwnd, t.frame_bytes, rate, rtt)
                if rounds:
                    pre += rounds * rtt - cwnd * ((1 << rounds) - 1) * t.frame_bytes / rate
        if not loss:
            return pre, wire, cap, 0.0, 0.0, conn, frames
        if t.reliable:
            window = t.retransmission_window(nbytes, rate, rtt)
            retransmitted = wire * (window * loss / (1.0 - loss))
            return pre, wire + retransmitted, cap, retransmitted, retransmitted, conn, frames
        return pre, wire, cap, 0.0, wire * loss, conn, frames
