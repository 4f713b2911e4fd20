"""Go-back-N (RoCEv2 RC, and ``ideal``) and datagrams (UDP) in the packet model.

**Go-back-N** (any reliable profile that is not TCP: ``rocev2``, ``ideal``): no
congestion window and no slow start: the NIC sends a connection's frames at line rate
(round robin with its other connections). Frames carry consecutive packet sequence
numbers (PSN). The receiver accepts only the next PSN it expects; it discards a frame
beyond it and sends one NAK (sequence error) per gap, and it acknowledges cumulatively at
the end of every message, every :data:`ACK_EVERY` frames (ACK coalescing) and once per
run of duplicates. A NAK sends the sender back to the PSN it names; a timer (``RTO``
as for TCP, from ``min_rto``, doubled per expiry) restarted by each frame sent and each
ACK covers losses no later frame reveals (the tail of the stream). On a lossless fabric
(PFC, the ``rocev2`` default) none of this is needed unless ``loss_rate > 0``.

**Datagrams** (unreliable profiles: ``udp``): frames are sent at line rate and never
resent. A message's event fires once each of its frames has either reached the
receiver or been dropped (tail drop or link loss), with its value unchanged: the
collective above sees the whole payload (its arithmetic stays exact) and loses time
only. What was lost is counted: ``frames_dropped``/``frames_lost``, ``dropped_bytes``/
``lost_bytes`` and ``incomplete_messages`` (messages with at least one frame missing),
so a study of unreliable transports reads them off the network.
"""

from __future__ import annotations

import math

from netsim.network.packet.state import ACK, NAK, Frame

__all__ = ["GoBackNMixin", "DatagramMixin", "ACK_EVERY"]

_INF = math.inf
#: A go-back-N receiver acknowledges at least every this many in-order frames.
ACK_EVERY = 256


class GoBackNMixin:
    """Go-back-N engine of :class:`~netsim.network.packet.PacketNetwork`."""

    def _gbn_pull(self, conn, now: float):
        seq = conn.snd_nxt
        if seq >= conn.next_seg:
            return None
        new = seq >= conn.snd_max
        frame = self._data_frame(conn, seq, now, paced=new)
        if frame is not None:
            conn.snd_nxt = seq + 1
            if new and conn.rtt_seq < 0:
                conn.rtt_seq = seq
                conn.rtt_time = now
            self._arm_timer(conn, now)
        return frame

    def _gbn_receive(self, conn, frame, now: float) -> None:
        seq = frame.seq
        rcv = conn.rcv_nxt
        if seq == rcv:
            self.bytes_delivered += frame.size
            rcv = conn.rcv_nxt = rcv + 1
            conn.nak_sent = conn.dup_acked = False
            conn.since_ack += 1
            rx = conn.rx
            done = False
            while rx and rx[0].start + rx[0].k <= rcv:
                self._deliver(rx.popleft(), now)
                done = True
            if done or conn.since_ack >= ACK_EVERY:
                conn.since_ack = 0
                self._send_control(Frame(conn, None, rcv, self._ack_size, conn.rev, ACK), now)
            return
        self.duplicate_bytes += frame.size
        self.bytes_dropped += frame.size
        if seq > rcv:
            if not conn.nak_sent:
                conn.nak_sent = True
                self._send_control(Frame(conn, None, rcv, self._ack_size, conn.rev, NAK), now)
        elif not conn.dup_acked:
            conn.dup_acked = True
            self._send_control(Frame(conn, None, rcv, self._ack_size, conn.rev, ACK), now)

    def _gbn_ack(self, conn, frame, now: float) -> None:
        ack = frame.seq
        if ack > conn.snd_una:
            if conn.rtt_seq >= 0 and ack > conn.rtt_seq:
                self._sample_rtt(conn, now - conn.rtt_time)
                conn.rtt_seq = -1
            conn.snd_una = ack
            msgs = conn.msgs
            while msgs and msgs[0].start + msgs[0].k <= ack:
                msgs.popleft()
        if conn.snd_nxt < ack:
            conn.snd_nxt = ack
        if frame.kind == NAK and ack < conn.snd_nxt:
            self.go_backs += 1
            conn.snd_nxt = ack
            conn.rtt_seq = -1
            self._activate(conn, now)
        if conn.snd_una >= conn.snd_max:
            conn.deadline = _INF
        else:
            conn.deadline = now + conn.rto

    def _gbn_timeout(self, conn, now: float) -> None:
        if conn.snd_una >= conn.snd_max:
            return
        self.timeouts += 1
        conn.snd_nxt = conn.snd_una
        conn.rtt_seq = -1
        conn.rto = min(2 * conn.rto, self.MAX_RTO)
        self._arm_timer(conn, now)
        self._activate(conn, now)


class DatagramMixin:
    """Datagram engine (no reliability) of :class:`~netsim.network.packet.PacketNetwork`."""

    def _dgram_pull(self, conn, now: float):
        seq = conn.snd_nxt
        if seq >= conn.next_seg:
            return None
        frame = self._data_frame(conn, seq, now, paced=True)
        if frame is not None:
            conn.snd_nxt = seq + 1
            msgs = conn.msgs
            if msgs[0].start + msgs[0].k == seq + 1:
                msgs.popleft()
        return frame

    def _dgram_receive(self, conn, frame, now: float) -> None:
        self.bytes_delivered += frame.size
        self._settle(frame.msg, now)

    def _dgram_dropped(self, frame, now: float) -> None:
        msg = frame.msg
        msg.lost += 1
        self._settle(msg, now)

    def _settle(self, msg, now: float) -> None:
        msg.settled += 1
        if msg.settled == msg.k:
            if msg.lost:
                self.incomplete_messages += 1
            self._deliver(msg, now)
