"""The packet-level network model (``network.model = "packet"``).

A message (one :meth:`~PacketNetwork.transfer`) is cut into frames exactly as its
transport profile frames it (:meth:`~netsim.transport.TransportProfile.wire_bytes`):
``frames(n)`` frames, all but the last ``frame_bytes`` long on the wire (RoCE's RETH on
the first). Frames leave the sender's NIC back to back at the link's bandwidth, and
every hop stores and forwards them (:mod:`~netsim.network.packet.ports`); the transport
engine of the profile decides what may be sent: TCP (:mod:`~netsim.network.packet.tcp`)
for ``protocol = "tcp"`` (``tcp``, ``grpc``, ``rest``), go-back-N for the other reliable
profiles (``rocev2``, ``ideal``) and datagrams for unreliable ones (``udp``)
(:mod:`~netsim.network.packet.gbn`). The event of a message fires when its last frame
has arrived in order (datagrams: arrived or been dropped).

Per message, before its first frame: the profile's software time
(:meth:`~netsim.transport.TransportProfile.message_latency`, encoding included) and, on
the first use of a connection (one per ordered host pair, kept open), the handshake:
``handshake_rtts`` round trips of a header-only frame each way, uncontended (SYN and
SYN-ACK are not simulated frame by frame). HTTP/1.1 (``rest``) sends a connection's next
request only when the previous response (``response_bytes``, one control frame back)
has arrived; gRPC sends its response without waiting for it.

Implementation: no SimPy process and no SimPy event per frame. The model keeps its own
heap of ``(time, n, kind, obj, token)`` entries (frame arrivals at the end of a link,
NIC completions, timers, message starts, PFC checks) and one pending SimPy wake-up for
the earliest. At a wake-up it processes its entries in time order for as long as no
SimPy event is due earlier (advancing the environment's clock itself: a run of frame
events costs no SimPy step), at most :data:`BATCH` entries per wake-up so that the run
guards keep control. A switch queue is FIFO, so a frame's departure is known when it
joins and one heap entry per frame and hop suffices; a NIC adds one entry per frame.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable
from heapq import heapify, heappop, heappush, heapreplace
from itertools import count
from typing import Any

import networkx as nx
import numpy as np
import simpy
from simpy.core import NORMAL
from simpy.events import PENDING, Event

from netsim.exceptions import ScenarioError
from netsim.network.base import Network
from netsim.network.packet.counters import CountersMixin
from netsim.network.packet.endpoints import RTO_GRANULARITY, EndpointsMixin
from netsim.network.packet.gbn import DatagramMixin, GoBackNMixin
from netsim.network.packet.options import parse_packet_options
from netsim.network.packet.ports import ARRIVE, NIC, RESUME, START, TIMER, PortsMixin
from netsim.network.packet.state import DATA, Connection, Frame, Message
from netsim.network.packet.tcp import TcpMixin
from netsim.transport import TransportProfile, make_transport

__all__ = ["PacketNetwork", "BATCH"]

_INF = math.inf
#: Heap entries processed per SimPy wake-up at most.
BATCH = 4096


def _ignore(frame: Frame, now: float) -> None:
    """A reliable engine learns of losses from its ACKs, not from the network."""


class PacketNetwork(CountersMixin, EndpointsMixin, TcpMixin, GoBackNMixin, DatagramMixin, PortsMixin, Network):
    """Frames, store-and-forward queues with finite buffers, and transport engines.

    Parameters
    ----------
    env : simpy.Environment
        The simulation environment.
    graph : networkx.Graph
        Topology (edge ``bandwidth`` bytes/s per direction, ``latency`` s; node ``kind``
        ``"switch"`` for switches, anything else is a host).
    router : object
        Any object with ``path(src, dst)``.
    transport : TransportProfile or str, optional
        The protocol stack (default ``ideal``: one unframed frame per message; give it
        an ``mtu`` to cut messages into frames without overhead).
    **options
        ``buffer``, ``ecn``, ``ecn_threshold``, ``loss_rate``, ``seed``
        (:mod:`~netsim.network.packet.options`).

    Attributes
    ----------
    payload_bytes : float
        Payload bytes of the network transfers (``Σ nbytes``).
    offered_bytes : int or float
        Wire bytes of every message, first transmission (``Σ wire_bytes(n)``).
    bytes_sent, bytes_retransmitted : float
        Data wire bytes handed to NICs, and the part that repeats earlier frames.
    bytes_delivered : float
        Data bytes accepted by receivers (each frame once).
    bytes_dropped : float
        Data bytes that did not count: ``dropped_bytes + lost_bytes + duplicate_bytes``.
    dropped_bytes, lost_bytes, duplicate_bytes : float
        Dropped by full switch queues; lost on links (``loss_rate``); arrived but not
        accepted (duplicates, and frames a go-back-N receiver discards).
    control_bytes : float
        ACK, NAK and response bytes sent.
    frames_sent, frames_delivered, frames_dropped, frames_lost : int
        The same in frames (``frames_delivered`` counts arrivals at receivers).
    frame_hops : int
        Frames that crossed a link (data and control), the unit of the model's work.
    timeouts, fast_retransmits, go_backs, ecn_reductions, incomplete_messages : int
        Transport events; ``incomplete_messages``: datagram messages missing frames.

    Notes
    -----
    Invariants (tested): ``bytes_sent = offered_bytes + bytes_retransmitted``;
    ``bytes_sent = bytes_delivered + bytes_dropped + in flight`` (:attr:`in_flight_bytes`);
    with a reliable profile ``bytes_delivered = offered_bytes`` once every message is
    delivered; no link serialises two frames at once. Results are a pure function of the
    inputs and ``seed``.

    Examples
    --------
    Ten 1500-byte frames over two 1 GB/s hops (store and forward): ``ΣL + (k + h −
    1)·m/B``:

    >>> import networkx as nx, simpy
    >>> g = nx.path_graph(3); nx.set_edge_attributes(g, 1e9, "bandwidth")
    >>> nx.set_edge_attributes(g, 1e-6, "latency"); g.nodes[1]["kind"] = "switch"
    >>> class R:
    ...     def path(self, s, d): return nx.shortest_path(g, s, d)
    >>> env = simpy.Environment()
    >>> net = PacketNetwork(env, g, R(), transport=make_transport("ideal", mtu=1500))
    >>> done = net.transfer(0, 2, 15000); env.run(done)
    >>> round(env.now * 1e6, 6)   # 2 us + 11 * 1.5 us
    18.5
    """

    name = "packet"
    #: Largest RTO, s (RFC 6298).
    MAX_RTO = 60.0
    #: Frames a NIC commits back to back at most (a TSO/GSO-like burst).
    NIC_BURST = 8

    def __init__(
        self,
        env: simpy.Environment,
        graph: nx.Graph,
        router: Any,
        *,
        transport: TransportProfile | str | None = None,
        **options: Any,
    ):
        opts = parse_packet_options(options)
        if isinstance(transport, str):
            transport = make_transport(transport)
        super().__init__(env, graph, router, transport=transport, loss_rate=opts.loss_rate)
        tp = self.transport
        self.options = opts
        self._setup_transport(tp, opts)
        n = len(self.links)
        kinds = graph.nodes
        self._switch = [kinds[u].get("kind") == "switch" for u, _ in self.links]
        self._buffer = opts.buffer
        self._ecn = opts.ecn
        self._mark_at = opts.mark_threshold
        full = tp.frame_bytes
        self._xon = max(0, opts.buffer - 2 * full) if full else opts.buffer // 2
        if full and opts.buffer < full + tp.first_frame_extra:
            effect = "PFC would pause on every frame" if self._lossless else "tail drop would drop every frame"
            raise ScenarioError(
                f"network.buffer: {opts.buffer} bytes cannot hold one {full}-byte frame of "
                f"transport {tp.name!r} ({effect}); use at least {full + tp.first_frame_extra}"
            )
        self._free = [0.0] * n
        self._sched: list[deque] = [deque() for _ in range(n)]
        self._occ = [0] * n
        self._max_occ = [0] * n
        self._held: list[deque] = [deque() for _ in range(n)]
        self._paused_from = [_INF] * n
        self._pause_count = [0] * n
        self._paused_links: list[list[int]] = [[] for _ in range(n)]
        self._resume_tok = [0] * n
        self._arrivals: list[deque] = [deque() for _ in range(n)]
        self._link_tok = [0] * n
        self._nic_tok = [0] * n
        self._fifo: list[deque] = [deque() for _ in range(n)]
        self._rr: list[deque] = [deque() for _ in range(n)]
        self._nic_busy = [False] * n
        self._drops = [0] * n
        self._losses = [0] * n
        self._marks = [0] * n
        self._pauses = [0] * n
        self._loss_rate = opts.loss_rate
        self._countdown: list[int] = [0] * n  # frames to the next loss (0: not drawn)
        self._loss_rng: list[np.random.Generator | None] = [None] * n
        self._conns: dict[Hashable, dict[Hashable, Connection]] = {}
        self._heap: list[tuple] = []
        self._count = count()
        self._wake_at = _INF
        self._wake_ev: Event | None = None
        inline = type(env).schedule is simpy.Environment.schedule
        self._queue = env._queue if inline else None
        self._eid = env._eid if inline else None
        self._sizes: dict[float, tuple] = {}
        self.frame_log: list[tuple[int, float, float]] | None = None
        for name in ("offered_bytes", "duplicate_bytes", "dropped_bytes", "lost_bytes"):
            setattr(self, name, 0)
        self.control_bytes = 0
        for name in (
            "frames_sent", "frames_delivered", "frames_dropped", "frames_lost", "frame_hops",
            "timeouts", "fast_retransmits", "go_backs", "ecn_reductions",
            "incomplete_messages",
        ):  # fmt: skip
            setattr(self, name, 0)

    def _setup_transport(self, tp: TransportProfile, opts) -> None:
        """Choose the engine and precompute the profile's constants."""
        if tp.protocol == "tcp":
            engine = "tcp"
        elif tp.reliable:
            engine = "gbn"
        else:
            engine = "dgram"
        self.engine = engine
        self._pull = getattr(self, f"_{engine}_pull")
        self._receive = getattr(self, f"_{engine}_receive")
        self._on_ack = getattr(self, f"_{engine}_ack", None)
        self._on_timeout = getattr(self, f"_{engine}_timeout", None)
        self._dropped = self._dgram_dropped if engine == "dgram" else _ignore
        self._lossless = tp.lossless
        # Timers only where a frame can be lost (a lossless fabric without link loss
        # loses nothing, and a timer could only fire spuriously).
        self._timers = tp.reliable and (not tp.lossless or opts.loss_rate > 0)
        self._newreno = tp.congestion_control == "newreno"
        self._slow_start = tp.slow_start and self._newreno
        self._iw = tp.initial_window
        payload = tp.max_payload
        if tp.window is None:
            self._wnd = _INF
        else:
            self._wnd = max(1, tp.window // payload) if payload else 1
        self._json = tp.application == "http" and tp.encoding == "json"
        self._ack_size = self._control_size(4 if tp.protocol == "rocev2" else 0)
        self._response_size = (
            self._control_size(tp.response_bytes) if tp.response_bytes else 0
        )
        self._http = tp.application == "http"

    def _control_size(self, payload: int) -> int:
        """Wire bytes of a control frame carrying `payload` bytes after the L4 header."""
        tp = self.transport
        if tp.max_payload is None:
            return payload
        ip = tp.ip_header + tp.l4_header + tp.trailer + payload
        return tp.l1_overhead + max(tp.min_frame, tp.l2_overhead + ip)

    # ---------------------------------------------------------------- transfer
    def transfer(
        self,
        src: Hashable,
        dst: Hashable,
        nbytes: float,
        *,
        value: Any = None,
        event: simpy.Event | None = None,
        max_rate: float = math.inf,
    ) -> simpy.Event:
        """Send a message of `nbytes` payload bytes; the event fires on delivery.

        See :meth:`netsim.network.base.Network.transfer`. `nbytes` is the payload: the
        wire carries ``transport.wire_bytes(nbytes)``. `max_rate` paces the message's
        first transmissions at that many wire bytes/s.
        """
        env = self.env
        if event is None:
            if not 0 <= nbytes < _INF:
                self._check(nbytes, None)
            event = Event(env)
        elif event._value is not PENDING or not 0 <= nbytes < _INF:
            self._check(nbytes, event)
        if not max_rate > 0:
            raise ValueError(f"max_rate must be > 0 bytes/s, got {max_rate!r}")
        try:
            links = self._routes[src][dst][0]
        except (KeyError, TypeError):
            links = self.route(src, dst)[0]
        self.transfers += 1
        now = env._now
        if not links:
            self._fire(event, value, now)
            return event
        self.payload_bytes += nbytes
        conn = self._connection(src, dst, links)
        k, first, full, last, wire, delay = self._framing(nbytes, value)
        self.offered_bytes += wire
        msg = Message(conn, k, first, full, last, wire, nbytes, event, value, self.transfers, now)
        msg.cap = max_rate
        msg.delay = delay
        link_flows = self._link_flows
        for link in links:
            link_flows[link] += 1
        if conn.ready_at == -_INF:
            hs = self.transport.handshake_time(self._handshake_rtt(conn))
            conn.ready_at = now + hs
        if self._http:
            if conn.busy:
                conn.waiting.append(msg)
                return event
            conn.busy = True
        at = (conn.ready_at if conn.ready_at > now else now) + delay
        if at <= now:
            self._start(msg, now)
        else:
            heappush(self._heap, (at, next(self._count), START, msg, 0))
        if self._heap and self._heap[0][0] < self._wake_at:
            self._schedule_wake(self._heap[0][0])
        return event

    def _framing(self, nbytes: float, value: Any) -> tuple:
        """(frames, first, full, last, wire bytes, software time) of a message."""
        tp = self.transport
        payload = value if self._json and isinstance(value, np.ndarray) else None
        if payload is None:
            cached = self._sizes.get(nbytes)
            if cached is not None:
                return cached
        delay = tp.message_latency(nbytes, payload)
        if tp.max_payload is None:  # unframed (ideal): one frame of exactly nbytes
            sizes = (1, nbytes, nbytes, nbytes, nbytes, delay)
        else:
            wire = tp.wire_bytes(nbytes, payload)
            k = tp.frames(nbytes, payload)
            full, extra = tp.frame_bytes, tp.first_frame_extra
            if k == 1:
                sizes = (1, wire, full, wire, wire, delay)
            else:
                sizes = (k, full + extra, full, wire - (k - 1) * full - extra, wire, delay)
        if payload is None and len(self._sizes) < 4096:
            self._sizes[nbytes] = sizes
        return sizes

    def _connection(self, src: Hashable, dst: Hashable, links: tuple) -> Connection:
        try:
            return self._conns[src][dst]
        except KeyError:
            pass
        rev = self.route(dst, src).links
        rtt = self._handshake_rtt_links(links, rev)
        tp = self.transport
        rto = max(tp.min_rto, rtt + max(RTO_GRANULARITY, 2 * rtt))
        cwnd = float(tp.initial_window) if self._slow_start else _INF
        conn = Connection(src, dst, links, rev, cwnd, rtt, rto)
        self._conns.setdefault(src, {})[dst] = conn
        return conn

    def _handshake_rtt_links(self, fwd: tuple, rev: tuple) -> float:
        size = self._ack_size
        return sum(size / self._caps[i] + self._lats[i] for i in (*fwd, *rev))

    def _handshake_rtt(self, conn: Connection) -> float:
        """Uncontended round trip of a header-only frame each way, s."""
        return self._handshake_rtt_links(conn.fwd, conn.rev)

    def _start(self, msg: Message, now: float) -> None:
        """The message's first frame may leave now: append it to its connection's stream."""
        conn = msg.conn
        if self.engine == "tcp":
            self._tcp_restart(conn, now)
        msg.start = conn.next_seg
        conn.next_seg += msg.k
        conn.msgs.append(msg)
        if self.engine != "dgram":
            conn.rx.append(msg)
        msg.injected = msg.release = now
        self._activate(conn, now)

    # ------------------------------------------------------------- event loop
    def _schedule_wake(self, at: float) -> None:
        """One pending SimPy wake-up at `at`; a superseded one leaves SimPy's queue.

        (A superseded wake-up left in the queue would still move the clock to its time
        when it fires, e.g. the time of a retransmission timer stopped since.)
        """
        env = self.env
        old = self._wake_ev
        if old is not None and self._queue is not None:
            queue = self._queue
            for i, item in enumerate(queue):
                if item[3] is old:
                    last = queue.pop()
                    if i < len(queue):
                        queue[i] = last
                        heapify(queue)
                    break
        ev = Event(env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(self._run)
        self._wake_ev = ev
        self._wake_at = at
        now = env._now
        env.schedule(ev, NORMAL, at - now if at > now else 0.0)

    def _run(self, ev: Event) -> None:
        """Process heap entries until a SimPy event is due earlier (or BATCH of them)."""
        if ev is not self._wake_ev:
            return
        self._wake_ev = None
        self._wake_at = _INF
        env = self.env
        heap = self._heap
        queue = env._queue
        budget = BATCH
        link_tok = self._link_tok
        arrivals = self._arrivals
        count = self._count
        link_bytes = self._link_bytes
        switch = self._switch
        log = self.frame_log
        lossy = self._loss_rate > 0
        enqueue = self._enqueue
        endpoint = self._endpoint
        hops = 0
        while heap and budget:
            entry = heap[0]
            t = entry[0]
            if queue and queue[0][0] < t:
                break
            budget -= 1
            kind = entry[2]
            if kind == ARRIVE:
                # A frame has fully crossed `link` at t: the hot path, inlined.
                link = entry[3]
                if entry[4] != link_tok[link]:
                    heappop(heap)
                    continue
                q = arrivals[link]
                frame = q.popleft()[1]
                if q:
                    heapreplace(heap, (q[0][0], next(count), ARRIVE, link, entry[4]))
                else:
                    heappop(heap)
                env._now = t
                hops += 1
                link_bytes[link] += frame.size
                if log is not None:
                    self._log(frame, link, t)
                if lossy and frame.kind == DATA and self._lose(link):
                    self._lost(frame, link, t)
                    continue
                links = frame.links
                hop = frame.hop + 1
                if hop == len(links):
                    endpoint(frame, t)
                    continue
                frame.hop = hop
                out = links[hop]
                if switch[out]:
                    enqueue(frame, out, link, t)
                else:  # a host forwarding (ring, torus): its NIC sends transit frames first
                    self._fifo[out].append(frame)
                    self._nic_kick(out, t)
                continue
            heappop(heap)
            if kind == NIC:
                p = entry[3]
                if entry[4] == self._nic_tok[p]:
                    env._now = t
                    self._nic_busy[p] = False
                    self._nic_send(p, t)
            elif kind == TIMER:
                if not self._stale_timer(entry):
                    env._now = t
                    self._timer(entry[3], t)
            elif kind == START:
                env._now = t
                self._start(entry[3], t)
            elif kind == RESUME:
                if entry[4] == self._resume_tok[entry[3]]:
                    env._now = t
                    self._resume_check(entry[3], t)
            else:  # PACE
                env._now = t
                self._activate(entry[3], t)
        self.frame_hops += hops
        # Entries that would do nothing must not move the clock: drop them.
        while heap and heap[0][2] == TIMER and self._stale_timer(heap[0]):
            heappop(heap)
        if heap:
            self._schedule_wake(heap[0][0])
