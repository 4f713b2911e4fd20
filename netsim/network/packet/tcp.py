"""TCP in the packet model: NewReno congestion control over per-segment ACKs.

The sender of a connection (one per ordered host pair, persistent) keeps a congestion
window ``cwnd`` in segments (RFC 5681, RFC 6582 NewReno):

* **Slow start** from ``initial_window`` segments: ``cwnd += min(acked, 2)`` per ACK
  (RFC 3465 with L = 2) while ``cwnd < ssthresh`` (initially unlimited); then
  **congestion avoidance**: ``cwnd += acked / cwnd`` per ACK (one segment per RTT).
* **Fast retransmit** on the third duplicate ACK: ``ssthresh = max(flight / 2, 2)``,
  the first unacknowledged segment is resent, ``cwnd = ssthresh + 3``, inflated by one
  per further duplicate; a partial ACK resends the next hole and deflates the window; a
  full ACK (above ``recover``) ends recovery with ``cwnd = ssthresh``.
* **Retransmission timeout**: ``RTO = max(min_rto, SRTT + max(G, 4·RTTVAR))``
  (RFC 6298, G = 1 µs, samples by Karn's rule, first sample from the handshake round
  trip), doubled on each expiry (at most 60 s); on expiry ``ssthresh = max(flight / 2,
  2)``, ``cwnd = 1`` and the sender goes back to the first unacknowledged segment.
* **ECN** (RFC 3168): an ACK echoing a CE mark halves ``cwnd`` at most once per window.
* **Idle restart** (RFC 5681 §4.1): a connection idle for an RTO restarts from
  ``min(cwnd, initial_window)``.
* ``congestion_control = "none"``: no window (retransmissions as above); ``slow_start =
  false``: the window starts unlimited and only losses set it; ``window`` (receive /
  HTTP/2 flow-control window, payload bytes) caps the segments in flight at
  ``max(1, window // max_payload)``.

The receiver acknowledges every data segment at once (no delayed ACKs, no SACK) with
the next segment it expects, buffering out-of-order segments; a message is delivered
when all its segments have arrived in order.
"""

from __future__ import annotations

import math

from netsim.network.packet.state import ACK, Frame

__all__ = ["TcpMixin"]

_INF = math.inf


class TcpMixin:
    """The TCP engine of :class:`~netsim.network.packet.PacketNetwork`."""

    def _tcp_pull(self, conn, now: float):
        """Next segment `conn` may send at `now`, as a frame (``None``: nothing)."""
        retx = conn.retx
        while retx:
            seq = retx.pop()
            if seq >= conn.snd_una:
                conn.rtt_seq = -1
                return self._data_frame(conn, seq, now, paced=False)
        seq = conn.snd_nxt
        if seq >= conn.next_seg or seq >= conn.snd_una + min(conn.cwnd, self._wnd):
            return None
        new = seq >= conn.snd_max
        frame = self._data_frame(conn, seq, now, paced=True)
        if frame is not None:
            conn.snd_nxt = seq + 1
            if new and conn.rtt_seq < 0:
                conn.rtt_seq = seq
                conn.rtt_time = now
            if conn.deadline == _INF:
                self._arm_timer(conn, now)
        return frame

    def _tcp_receive(self, conn, frame, now: float) -> None:
        """A data segment reaches the receiver: buffer, deliver, acknowledge."""
        seq = frame.seq
        rcv = conn.rcv_nxt
        if seq == rcv:
            self.bytes_delivered += frame.size
            rcv += 1
            ooo = conn.ooo
            if ooo:
                while rcv in ooo:
                    ooo.remove(rcv)
                    rcv += 1
            conn.rcv_nxt = rcv
            rx = conn.rx
            while rx and rx[0].start + rx[0].k <= rcv:
                self._deliver(rx.popleft(), now)
        elif seq > rcv and seq not in conn.ooo:
            conn.ooo.add(seq)
            self.bytes_delivered += frame.size
        else:
            self.duplicate_bytes += frame.size
            self.bytes_dropped += frame.size
        ack = Frame(conn, None, rcv, self._ack_size, conn.rev, ACK)
        ack.ce = frame.ce
        self._send_control(ack, now)

    def _tcp_ack(self, conn, frame, now: float) -> None:
        """An ACK reaches the sender: NewReno."""
        ack = frame.seq
        una = conn.snd_una
        newreno = self._newreno
        if ack > una:
            acked = ack - una
            if conn.rtt_seq >= 0 and ack > conn.rtt_seq:
                self._sample_rtt(conn, now - conn.rtt_time)
                conn.rtt_seq = -1
            if conn.in_recovery:
                if ack > conn.recover:
                    conn.in_recovery = False
                    if newreno:
                        conn.cwnd = conn.ssthresh
                else:  # partial ACK: resend the next hole
                    conn.retx.append(ack)
                    if newreno:
                        conn.cwnd = max(conn.cwnd - acked + 1, 1.0)
            elif newreno:
                if conn.cwnd < conn.ssthresh:
                    conn.cwnd += acked if acked < 2 else 2
                else:
                    conn.cwnd += acked / conn.cwnd
            conn.snd_una = ack
            if conn.snd_nxt < ack:
                conn.snd_nxt = ack
            conn.dupacks = 0
            msgs = conn.msgs
            while msgs and msgs[0].start + msgs[0].k <= ack:
                msgs.popleft()
            if ack < conn.snd_max:
                conn.deadline = now + conn.rto
            else:
                conn.deadline = _INF
        elif ack == una and conn.snd_max > una:
            conn.dupacks += 1
            if conn.in_recovery:
                if newreno:
                    conn.cwnd += 1
            elif conn.dupacks == 3 and una > conn.recover:
                flight = conn.snd_max - una
                conn.in_recovery = True
                conn.recover = conn.snd_max - 1
                conn.retx.append(una)
                conn.rtt_seq = -1
                self.fast_retransmits += 1
                if newreno:
                    conn.ssthresh = max(flight / 2, 2.0)
                    conn.cwnd = conn.ssthresh + 3
        if frame.ce and newreno and not conn.in_recovery and conn.snd_una > conn.ecn_recover:
            conn.ssthresh = max(conn.cwnd / 2, 2.0)
            conn.cwnd = conn.ssthresh
            conn.ecn_recover = conn.snd_max
            self.ecn_reductions += 1
        self._activate(conn, now)

    def _tcp_timeout(self, conn, now: float) -> None:
        """The retransmission timer expired: back to the first unacknowledged segment."""
        una = conn.snd_una
        if una >= conn.snd_max:
            return
        self.timeouts += 1
        if self._newreno:
            conn.ssthresh = max((conn.snd_max - una) / 2, 2.0)
            conn.cwnd = 1.0
        conn.recover = conn.snd_max - 1
        conn.in_recovery = False
        conn.dupacks = 0
        conn.retx.clear()
        conn.snd_nxt = una
        conn.rtt_seq = -1
        conn.rto = min(2 * conn.rto, self.MAX_RTO)
        self._arm_timer(conn, now)
        self._activate(conn, now)

    def _tcp_restart(self, conn, now: float) -> None:
        """Before a new message: restart slow start after an idle RTO (RFC 5681 §4.1)."""
        if (
            self._slow_start
            and conn.snd_una == conn.snd_max
            and now - conn.last_tx >= conn.rto
            and conn.cwnd > self._iw
        ):
            conn.cwnd = float(self._iw)
