"""State records of the packet model: frames, messages and connections (internal).

Plain ``__slots__`` classes with no behaviour: the network and the transport engines
update them directly. Sizes are wire bytes (preamble and inter-frame gap included),
times seconds, sequence numbers count frames (segments) of a connection's stream.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["Frame", "Message", "Connection", "DATA", "ACK", "NAK", "RESPONSE"]

#: Frame kinds. Only DATA frames can be dropped; the others are control frames.
DATA, ACK, NAK, RESPONSE = 0, 1, 2, 3


class Frame:
    """One frame on its way: ``links[hop]`` is the link it is crossing or queued for.

    ``seq`` is the segment number (DATA) or the acknowledged number (ACK, NAK); ``ce``
    the ECN mark (DATA) or its echo (ACK).
    """

    __slots__ = ("conn", "msg", "seq", "size", "links", "hop", "kind", "ce")

    def __init__(self, conn, msg, seq: int, size: int | float, links: tuple, kind: int):
        self.conn = conn
        self.msg = msg
        self.seq = seq
        self.size = size
        self.links = links
        self.hop = 0
        self.kind = kind
        self.ce = False


class Message:
    """One transfer: segments ``start .. start + k − 1`` of its connection's stream.

    Frame sizes: the first ``first`` (RoCE's RETH included), the middle ones ``full``,
    the last ``last``; they add up to ``wire`` (``TransportProfile.wire_bytes``).
    """

    __slots__ = (
        "conn", "start", "k", "first", "full", "last", "wire", "nbytes", "event", "value",
        "ident", "created", "injected", "settled", "lost", "cap", "release", "delay",
    )  # fmt: skip

    def __init__(self, conn, k: int, first, full, last, wire, nbytes, event, value, ident, now):
        self.conn = conn
        self.start = -1
        self.k = k
        self.first = first
        self.full = full
        self.last = last
        self.wire = wire
        self.nbytes = nbytes
        self.event = event
        self.value = value
        self.ident = ident
        self.created = now
        self.injected = now
        self.settled = 0  # frames arrived or dropped (datagrams)
        self.lost = 0  # frames dropped (datagrams)
        self.cap = math.inf  # pacing rate, wire bytes/s
        self.release = now  # earliest start of the next frame when paced
        self.delay = 0.0  # software time before the first frame, s

    def size(self, seq: int):
        """Wire bytes of stream segment `seq` of this message."""
        i = seq - self.start
        if i == self.k - 1:
            return self.last
        return self.first if i == 0 else self.full


class Connection:
    """Sender and receiver state of one ordered host pair (one TCP connection, one QP)."""

    __slots__ = (
        # route and NICs
        "src", "dst", "fwd", "rev", "nic", "active",
        # stream and messages
        "next_seg", "msgs", "rx", "ready_at", "busy", "waiting",
        # sender
        "snd_una", "snd_nxt", "snd_max", "cwnd", "ssthresh", "dupacks", "recover",
        "in_recovery", "retx", "ecn_recover", "last_tx",
        # RTT and timer
        "srtt", "rttvar", "rto", "rtt_seq", "rtt_time", "timer_at", "deadline", "timer_tok",
        "backoff",
        # receiver
        "rcv_nxt", "ooo", "nak_sent", "dup_acked", "since_ack",
    )  # fmt: skip

    def __init__(self, src, dst, fwd: tuple, rev: tuple, cwnd: float, rtt: float, rto: float):
        self.src = src
        self.dst = dst
        self.fwd = fwd
        self.rev = rev
        self.nic = fwd[0]
        self.active = False
        self.next_seg = 0
        self.msgs: deque[Message] = deque()  # sender: not yet fully acknowledged
        self.rx: deque[Message] = deque()  # receiver: not yet delivered
        self.ready_at = -math.inf  # handshake done at
        self.busy = False  # HTTP/1.1: a request awaits its response
        self.waiting: deque[Message] = deque()
        self.snd_una = self.snd_nxt = self.snd_max = 0
        self.cwnd = cwnd
        self.ssthresh = math.inf
        self.dupacks = 0
        self.recover = -1
        self.in_recovery = False
        self.retx: list[int] = []
        self.ecn_recover = -1
        self.last_tx = -math.inf
        self.srtt = rtt
        self.rttvar = rtt / 2
        self.rto = rto
        self.rtt_seq = -1
        self.rtt_time = 0.0
        self.timer_at = math.inf  # time of the pending timer entry
        self.deadline = math.inf
        self.timer_tok = 0
        self.backoff = 1
        self.rcv_nxt = 0
        self.ooo: set[int] = set()
        self.nak_sent = False
        self.dup_acked = False
        self.since_ack = 0
