"""Endpoints of the packet model: frames sent and received, timers, deliveries (internal).

What happens at the ends of a route, shared by the transport engines: building a data
frame from a connection's stream (and counting it), random link loss, the lazy
retransmission timer of a connection (one pending heap entry at most; RFC 6298
estimator), delivering a message (its SimPy event, the flow recorder, the response of
request/response profiles).
"""

from __future__ import annotations

import math
from heapq import heappush
from typing import Any

import numpy as np
from simpy.core import NORMAL
from simpy.events import Event

from netsim.network.packet.ports import PACE, START, TIMER
from netsim.network.packet.state import DATA, RESPONSE, Connection, Frame, Message

__all__ = ["EndpointsMixin", "RTO_GRANULARITY"]

_INF = math.inf
#: Clock granularity G of the RTO formula, s.
RTO_GRANULARITY = 1e-6


class EndpointsMixin:
    """Endpoint behaviour of :class:`~netsim.network.packet.PacketNetwork`."""

    @staticmethod
    def _stale_timer(entry: tuple) -> bool:
        """Whether a TIMER heap entry is superseded or its timer stopped."""
        conn = entry[3]
        if entry[4] != conn.timer_tok:
            return True
        if conn.deadline == _INF:
            conn.timer_at = _INF
            return True
        return False

    def _endpoint(self, frame: Frame, now: float) -> None:
        """`frame` has reached the last node of its route."""
        kind = frame.kind
        if kind == DATA:
            self.frames_delivered += 1
            self._receive(frame.conn, frame, now)
        elif kind == RESPONSE:
            self._response(frame.conn, now)
        else:
            self._on_ack(frame.conn, frame, now)

    def _lost(self, frame: Frame, link: int, now: float) -> None:
        """`link` lost `frame` (random loss)."""
        self._losses[link] += 1
        self.lost_bytes += frame.size
        self.bytes_dropped += frame.size
        self.frames_lost += 1
        self._dropped(frame, now)

    def _log(self, frame: Frame, link: int, now: float) -> None:
        """Record ``(link, first bit sent, last bit arrived)`` in :attr:`frame_log`."""
        cap = self._caps[link]
        self.frame_log.append((link, now - self._lats[link] - frame.size / cap, now))

    def _lose(self, link: int) -> bool:
        """Bernoulli(loss_rate) for the next data frame on `link` (geometric skips)."""
        left = self._countdown[link]
        if left == 0:
            rng = self._loss_rng[link]
            if rng is None:
                rng = self._loss_rng[link] = np.random.default_rng([self.options.seed, link])
            left = int(rng.geometric(self._loss_rate))
        left -= 1
        self._countdown[link] = left
        return left == 0

    # ---------------------------------------------------------------- helpers
    def _data_frame(self, conn: Connection, seq: int, now: float, paced: bool):
        """Frame of segment `seq` of `conn`, counted as sent (``None`` while paced)."""
        for msg in conn.msgs:
            if seq < msg.start + msg.k:
                break
        if paced and msg.cap < _INF:
            if msg.release > now:
                heappush(self._heap, (msg.release, next(self._count), PACE, conn, 0))
                return None
            msg.release = now + msg.size(seq) / msg.cap
        size = msg.size(seq)
        self.bytes_sent += size
        self.frames_sent += 1
        if seq < conn.snd_max:
            self.bytes_retransmitted += size
        else:
            conn.snd_max = seq + 1
        conn.last_tx = now
        return Frame(conn, msg, seq, size, conn.fwd, DATA)

    def _arm_timer(self, conn: Connection, now: float) -> None:
        if not self._timers:
            return
        deadline = conn.deadline = now + conn.rto
        if deadline < conn.timer_at:
            conn.timer_tok += 1
            conn.timer_at = deadline
            heappush(self._heap, (deadline, next(self._count), TIMER, conn, conn.timer_tok))

    def _timer(self, conn: Connection, now: float) -> None:
        """A live TIMER entry of `conn` is due: re-arm at a later deadline, or expire."""
        conn.timer_at = _INF
        deadline = conn.deadline
        if deadline > now:
            conn.timer_at = deadline
            heappush(self._heap, (deadline, next(self._count), TIMER, conn, conn.timer_tok))
            return
        conn.deadline = _INF
        self._on_timeout(conn, now)

    def _sample_rtt(self, conn: Connection, rtt: float) -> None:
        """RFC 6298 estimator; resets the backoff."""
        delta = rtt - conn.srtt
        conn.srtt += delta / 8
        conn.rttvar += (abs(delta) - conn.rttvar) / 4
        rto = conn.srtt + max(RTO_GRANULARITY, 4 * conn.rttvar)
        conn.rto = min(max(self.transport.min_rto, rto), self.MAX_RTO)

    def _fire(self, event: Event, value: Any, now: float) -> None:
        event._ok = True
        event._value = value
        if self._queue is None:
            self.env.schedule(event, NORMAL, 0.0)
        else:
            heappush(self._queue, (now, NORMAL, next(self._eid), event))

    def _deliver(self, msg: Message, now: float) -> None:
        """All of `msg` has arrived: fire its event (and answer it, if the profile does)."""
        self._fire(msg.event, msg.value, now)
        msg.event = msg.value = None
        self.flows_completed += 1
        conn = msg.conn
        recorder = self.recorder
        if recorder is not None:
            recorder.started(msg.injected, msg.ident, conn.src, conn.dst, msg.wire, conn.fwd)
            span = now - msg.injected
            recorder.rate(msg.injected, msg.ident, msg.wire / span if span > 0 else 0.0)
            recorder.finished(now, msg.ident)
        if self._response_size:
            self._send_control(
                Frame(conn, None, 0, self._response_size, conn.rev, RESPONSE), now
            )
        elif self._http:  # no response modelled (response_bytes = 0): free at delivery
            self._response(conn, now)

    def _response(self, conn: Connection, now: float) -> None:
        """An HTTP/gRPC response reaches the client: HTTP/1.1 may send its next request."""
        if not self._http:
            return
        conn.busy = False
        if conn.waiting:
            msg = conn.waiting.popleft()
            conn.busy = True
            at = now + msg.delay
            heappush(self._heap, (at, next(self._count), START, msg, 0))
