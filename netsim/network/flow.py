"""Fluid flow model: max-min fair sharing of every link direction (the default model).

Semantics
---------
* A transfer with ``src != dst`` is a *flow* over its route's directed links (each
  direction of a full-duplex edge is a separate link). It occupies bandwidth on
  all of them from the moment it starts until its last byte is sent.
* At every instant each flow runs at its max-min fair rate among the flows it
  shares links with (:func:`netsim.network.maxmin.max_min_rates`), bounded by its
  ``max_rate``. Rates are recomputed whenever a flow starts or ends, and only for
  the flows connected to that change through shared links (its *component*);
  flows on disjoint links are never touched.
* Delivery is cut-through: the event fires the route's latency ``ΣLᵢ`` after the
  last byte is sent. An uncontended transfer of ``n`` bytes over links of
  bottleneck bandwidth ``B`` therefore takes exactly ``ΣLᵢ + n / B``; ``k`` equal
  flows started together on one link take ``k`` times as long, and so on.
* A zero-byte transfer is delivered after ``ΣLᵢ`` and occupies no bandwidth; a
  transfer with ``src == dst`` is a local copy delivered with no delay.
* Rates change at discrete instants only, so a flow's bytes sent are piecewise
  linear in time; link ``bytes`` counts bytes as they are sent.
* With a transport profile other than ``ideal`` (or a ``loss_rate``), a flow carries
  the message's wire bytes (plus expected retransmissions), is capped by the profile's
  window and, under loss, the Mathis rate, and starts after the handshake (first
  message between two hosts), the software latency and the slow-start penalty at its
  uncontended rate (:mod:`netsim.network.fluid_transport`). An uncontended transfer
  then takes exactly ``transport.transfer_time(...)``. Buffers and ECN are not modelled
  (no queues): the ``buffer`` and ``ecn`` options are accepted and ignored.
* Faults (:mod:`netsim.faults`) act through the methods of the last section:
  :meth:`~FlowNetwork.set_link_capacity` (0 = a failed link: its flows stall),
  :meth:`~FlowNetwork.set_link_latency`, :meth:`~FlowNetwork.reroute_flows` (active
  flows move to the router's new routes, losing their in-flight bytes) and
  :meth:`~FlowNetwork.abort_flows` (a crashed host's flows are cut off).

Implementation
--------------
No SimPy process per flow. The model keeps its own heap of projected finish times
(flows due at the same instant share one entry; entries are invalidated lazily)
and a single pending SimPy wake-up for the earliest one. At a wake-up every flow
finishing at that instant (relative tolerance ``1e-12``) completes in one batch,
and each delivery is one event scheduled directly, as :class:`simpy.Timeout` does. A flow starting on idle links gets its
route's bottleneck rate at once (no solve). Otherwise it waits for one zero-delay
*solve* event per instant, which re-solves together the flows that started and ended
at that instant (an N-to-1 incast costs one solve of N flows). The solve is
incremental (:mod:`netsim.network.local_maxmin`): only the region a change reaches is
re-solved, on the capacity the other flows leave, and the result is checked against
the bottleneck characterisation of max-min fairness (the region grows until the check
passes); a large batch, or a region that keeps growing, re-solves its whole connected
component instead. Small problems are solved in pure Python, larger ones with NumPy.
Either way the rates are the max-min fair allocation of the whole network, equal to
a whole-component solve to rounding (~1e-16 relative).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from heapq import heapify, heappop, heappush
from itertools import chain
from operator import attrgetter
from typing import Any

import networkx as nx
import numpy as np
import simpy
from simpy.core import NORMAL
from simpy.events import PENDING, Event

from netsim.network.base import Network
from netsim.network.fluid_transport import FluidTransport
from netsim.network.local_maxmin import local_max_min
from netsim.network.maxmin import _fill, max_min_rates_small
from netsim.transport import TransportProfile

__all__ = ["FlowNetwork"]

_INF = math.inf
#: Flows finishing within this relative tolerance of a wake-up complete in its batch.
FINISH_RTOL = 1e-12
#: Components with at most this many (flow, link) incidences are solved in pure Python.
SMALL_NNZ = 128
#: How many times a solve may be pushed back behind other events at the same instant.
MAX_DEFER = 8

_DONE = -1.0  # Flow.finish of a finished flow (never equal to a bucket time)
_REROUTED = 1 << 62  # ids (seq) of flows moved to a new route start here (netsim.faults)


class _Flow:
    """State of one active flow (internal; attributes are set by the network)."""

    __slots__ = (
        "links",
        "nbytes",
        "remaining",
        "rate",
        "last",
        "finish",
        "event",
        "value",
        "latency",
        "cap",
        "seq",
        "conn",
        "segments",
        "mark",
    )
    # links: route link indices; nbytes: size (bytes); remaining: bytes left at time
    # `last`; rate: bytes/s since `last`; finish: projected time of the last byte (inf
    # while unscheduled, _DONE once finished); event/value: what to fire on delivery;
    # latency: route latency (s); cap: rate bound (bytes/s); seq: start order; conn: the
    # transport connection direction whose window the flow used (or None), to be grown
    # by `segments` when the last byte is sent; mark: the number of the last component
    # search that reached the flow (FlowNetwork._component).

    def __init__(self) -> None:
        self.conn = None  # reset to None whenever a flow with a connection completes
        self.mark = 0


_start_order = attrgetter("seq")
_links_of = attrgetter("links")
_cap_of = attrgetter("cap")


class FlowNetwork(Network):
    """Fluid network with max-min fair bandwidth sharing on every link direction.

    Parameters
    ----------
    env : simpy.Environment
        The simulation environment.
    graph : networkx.Graph
        Topology (edge ``bandwidth`` in bytes/s per direction, ``latency`` in s).
    router : object
        Any object with ``path(src, dst)``.
    transport : TransportProfile, optional
        Protocol profile (default ``ideal``: times exactly as without one).
    loss_rate : float, optional
        Per-link frame loss probability in ``[0, 1)``: expected retransmissions (reliable
        profiles, with the Mathis rate cap under AIMD congestion control) or expected
        losses (unreliable), see :mod:`netsim.network.fluid_transport`.
    buffer, ecn, seed : optional
        Accepted for a uniform constructor (:func:`netsim.network.make_network`) and
        ignored: the fluid model has no queues and no randomness.

    Attributes
    ----------
    solves : int
        Number of rate re-computations (zero-delay solve events that did work).
    solved_flows : int
        Total number of flow rates computed by those solves.
    flows_aborted : int
        Flows cut off by :meth:`abort_flows` (a crashed host); never delivered.

    Notes
    -----
    Flows that finish at the same instant are delivered in the order they started.
    Results do not depend on memory addresses or hash seeds: the same inputs give
    bit-identical times in any process. Besides the counters of
    :class:`~netsim.network.base.Network`, :meth:`link_rates` and
    :attr:`active_flows` show the instantaneous state.

    Examples
    --------
    Two 1 MB flows share a 1 GB/s link, so both finish after 2 ms (+ 1 us latency):

    >>> import networkx as nx, simpy
    >>> g = nx.Graph(); g.add_edge("h0", "h1", bandwidth=1e9, latency=1e-6)
    >>> class R:
    ...     def path(self, s, d): return nx.shortest_path(g, s, d)
    >>> env = simpy.Environment(); net = FlowNetwork(env, g, R())
    >>> a = net.transfer("h0", "h1", 1e6); b = net.transfer("h0", "h1", 1e6)
    >>> env.run(); round(env.now, 9)
    0.002001
    """

    name = "flow"

    def __init__(
        self,
        env: simpy.Environment,
        graph: nx.Graph,
        router: Any,
        *,
        transport: TransportProfile | None = None,
        loss_rate: float = 0.0,
        buffer: float | None = None,
        ecn: bool = False,
        seed: int | None = None,
    ):
        super().__init__(env, graph, router, transport=transport, loss_rate=loss_rate)
        n = len(self.links)
        # None: no transport cost at all (ideal, no loss): the original fast path.
        self._fluid = (
            None
            if self.transport.passthrough and not self.loss_rate
            else FluidTransport(self.transport, self.loss_rate)
        )
        # Active flows per directed link, as insertion-ordered dicts (flow -> None):
        # iteration order never depends on memory addresses, so runs are repeatable.
        self._active: list[dict[_Flow, None]] = [{} for _ in range(n)]
        self._busy = [0.0] * n
        self._since = [0.0] * n
        # Projected finishes: heap of distinct times, and the flows due at each time.
        # An entry is stale unless flow.finish still equals its time.
        self._times: list[float] = []
        self._due: dict[float, list[_Flow]] = {}
        self._stale = 0  # upper bound on stale entries in _due
        self._local = 0  # transfers with src == dst
        self._wake_at = math.inf
        self._wake_ev: Event | None = None
        self._solve_ev: Event | None = None
        self._defer = 0
        self._pending: list[_Flow] = []  # started on busy links, rate not yet solved
        self._dirty: list[int] = []  # links a finished flow left to other flows
        # Component searches mark what they reach with their number (no sets to build).
        self._search = 0
        self._link_mark = [0] * n
        # Finished flow objects, reused: fewer allocations, far less cyclic-GC work.
        # Safe because a stale entry of a reused flow can only match the flow's new
        # finish time inside the same list, where the _DONE guard skips it.
        self._pool: list[_Flow] = []
        # Deliveries push straight onto SimPy's queue (what Environment.schedule does)
        # unless the environment class overrides schedule().
        inline = type(env).schedule is simpy.Environment.schedule
        self._queue = env._queue if inline else None
        self._eid = env._eid if inline else None
        self.solves = 0
        self.solved_flows = 0
        self.flows_aborted = 0  # cut off by abort_flows (netsim.faults)
        self._reroutes = 0

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
        """Start a flow of `nbytes` from `src` to `dst`; the event fires on delivery.

        See :meth:`netsim.network.base.Network.transfer` for the parameters.
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
            links, latency, bottleneck = self._routes[src][dst]
        except (KeyError, TypeError):
            links, latency, bottleneck = self.route(src, dst)
        self.transfers = seq = self.transfers + 1
        if not links:  # local copy
            self._local += 1
            event._ok = True
            event._value = value
            env.schedule(event, NORMAL, 0.0)
            return event
        if self._fluid is not None:
            return self._transfer_costed(
                src, dst, nbytes, links, latency, bottleneck, value, event, max_rate, seq
            )
        self.bytes_sent += nbytes
        self.payload_bytes += nbytes
        self.bytes_delivered += nbytes
        if nbytes == 0:
            self._deliver_empty(links, latency, event, value)
            return event
        # The rest is _start() inlined: this is the hot path of every ideal run.
        now = env._now
        pool = self._pool
        flow = pool.pop() if pool else _Flow()
        flow.links = links
        flow.nbytes = flow.remaining = nbytes
        flow.last = now
        flow.event = event
        flow.value = value
        flow.latency = latency
        flow.cap = max_rate
        flow.seq = seq
        link_flows = self._link_flows
        active = self._active
        idle = True
        for link in links:
            link_flows[link] += 1
            flows = active[link]
            if flows:
                idle = False
            else:
                self._since[link] = now
            flows[flow] = None
        recorder = self.recorder
        if recorder is not None:
            recorder.started(now, seq, src, dst, nbytes, links)
        if (
            idle and bottleneck > 0.0
        ):  # fast path: alone on its links (none failed), no solve needed
            rate = flow.rate = bottleneck if bottleneck <= max_rate else max_rate
            if recorder is not None:
                recorder.rate(now, seq, rate)
            finish = flow.finish = now + nbytes / rate
            due = self._due.get(finish)
            if due is None:
                self._due[finish] = [flow]
                heappush(self._times, finish)
                if finish < self._wake_at:
                    self._schedule_wake(finish)
            else:
                due.append(flow)
        else:
            flow.rate = 0.0
            flow.finish = math.inf
            self._pending.append(flow)
            if self._solve_ev is None:
                self._schedule_solve()
        return event

    def _deliver_empty(
        self, links: tuple[int, ...], latency: float, event: Event, value: Any
    ) -> None:
        """A zero-byte flow: counted on its links, delivered after the route latency."""
        link_flows = self._link_flows
        for link in links:
            link_flows[link] += 1
        self.flows_completed += 1
        event._ok = True
        event._value = value
        self.env.schedule(event, NORMAL, latency)

    def _transfer_costed(
        self,
        src: Hashable,
        dst: Hashable,
        nbytes: float,
        links: tuple[int, ...],
        latency: float,
        bottleneck: float,
        value: Any,
        event: Event,
        max_rate: float,
        seq: int,
    ) -> Event:
        """``transfer`` through the transport profile (the network has one, or loss)."""
        env = self.env
        pre, size, cap, retransmitted, dropped, conn, segments = self._fluid.plan(
            src, dst, nbytes, len(links), latency, bottleneck, max_rate, env._now
        )
        self.bytes_sent += size
        self.payload_bytes += nbytes
        self.bytes_delivered += size - dropped
        self.bytes_dropped += dropped
        self.bytes_retransmitted += retransmitted
        if conn is not None:
            conn.active += 1
        pool = self._pool
        flow = pool.pop() if pool else _Flow()
        flow.links = links
        flow.nbytes = flow.remaining = size
        flow.event = event
        flow.value = value
        flow.latency = latency
        flow.cap = cap
        flow.seq = seq
        flow.conn = conn
        flow.segments = segments
        flow.finish = math.inf
        if pre > 0:
            ev = Event(env)
            ev._ok = True
            ev._value = None
            ev.callbacks.append(lambda _: self._begin(flow, src, dst))
            env.schedule(ev, NORMAL, pre)
        else:
            self._begin(flow, src, dst)
        return event

    def _begin(self, flow: _Flow, src: Hashable, dst: Hashable) -> None:
        """Put a costed flow on its links (after its handshake, software and slow-start delay)."""
        if flow.nbytes == 0:
            conn = flow.conn
            if conn is not None:
                conn.active -= 1
                conn.last = self.env._now
                conn.cwnd += flow.segments
            self._deliver_empty(flow.links, flow.latency, flow.event, flow.value)
            flow.event = flow.value = flow.conn = None
            self._pool.append(flow)
            return
        # Links may have changed capacity (a fault) since the transfer was planned: start at
        # what they give now (0: stall until the repair).
        bottleneck = min(self._caps[link] for link in flow.links)
        self._start(flow, src, dst, bottleneck, flow.cap)

    def _start(
        self, flow: _Flow, src: Hashable, dst: Hashable, bottleneck: float, max_rate: float
    ) -> None:
        """Occupy the flow's links now: alone, at once at its rate; else wait for the solve.

        (Inlined in :meth:`transfer` for transfers without a transport cost; keep both alike.)
        """
        now = self.env._now
        flow.last = now
        links = flow.links
        nbytes = flow.nbytes
        seq = flow.seq
        link_flows = self._link_flows
        active = self._active
        idle = True
        for link in links:
            link_flows[link] += 1
            flows = active[link]
            if flows:
                idle = False
            else:
                self._since[link] = now
            flows[flow] = None
        recorder = self.recorder
        if recorder is not None:
            recorder.started(now, seq, src, dst, nbytes, links)
        if (
            idle and bottleneck > 0.0
        ):  # fast path: alone on its links (none failed), no solve needed
            rate = flow.rate = bottleneck if bottleneck <= max_rate else max_rate
            if recorder is not None:
                recorder.rate(now, seq, rate)
            finish = flow.finish = now + nbytes / rate
            due = self._due.get(finish)
            if due is None:
                self._due[finish] = [flow]
                heappush(self._times, finish)
                if finish < self._wake_at:
                    self._schedule_wake(finish)
            else:
                due.append(flow)
        else:
            flow.rate = 0.0
            flow.finish = math.inf
            self._pending.append(flow)
            if self._solve_ev is None:
                self._schedule_solve()

    # ------------------------------------------------------------ event plumbing
    def _schedule_wake(self, finish: float) -> None:
        env = self.env
        ev = Event(env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(self._wake)
        self._wake_ev = ev
        self._wake_at = finish
        now = env._now
        env.schedule(ev, NORMAL, finish - now if finish > now else 0.0)

    def _schedule_solve(self) -> None:
        ev = Event(self.env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(self._solve)
        self._solve_ev = ev
        self.env.schedule(ev, NORMAL, 0.0)

    def _wake(self, ev: Event) -> None:
        """Complete every flow whose last byte is sent now; schedule the next wake-up."""
        if ev is not self._wake_ev:
            return  # superseded by an earlier wake-up
        self._wake_ev = None
        self._wake_at = math.inf
        env = self.env
        now = env._now
        limit = now + now * FINISH_RTOL
        times, due = self._times, self._due
        active, link_bytes, busy, since = self._active, self._link_bytes, self._busy, self._since
        dirty = self._dirty
        recycle = self._pool.append
        queue, eid = self._queue, self._eid
        recorder = self.recorder
        done = 0
        while times and times[0] <= limit:
            time = heappop(times)
            for flow in due.pop(time):
                if flow.finish != time:
                    continue  # stale: rescheduled or already finished
                flow.finish = _DONE
                if recorder is not None:
                    recorder.finished(now, flow.seq)
                nbytes = flow.nbytes
                for link in flow.links:
                    flows = active[link]
                    del flows[flow]
                    link_bytes[link] += nbytes
                    if flows:
                        dirty.append(link)
                    else:
                        busy[link] += now - since[link]
                event = flow.event
                event._ok = True
                event._value = flow.value
                if queue is None:
                    env.schedule(event, NORMAL, flow.latency)
                else:  # inlined Environment.schedule
                    heappush(queue, (now + flow.latency, NORMAL, next(eid), event))
                conn = flow.conn
                if conn is not None:
                    conn.active -= 1
                    conn.last = now
                    conn.cwnd += flow.segments
                    flow.conn = None
                flow.event = flow.value = None
                recycle(flow)
                done += 1
        self.flows_completed += done
        if dirty and self._solve_ev is None:
            self._schedule_solve()
        self._schedule_next()

    def _schedule_next(self) -> None:
        """Drop stale entries at the head of the finish heap and wake up for the first."""
        times, due = self._times, self._due
        while times:
            time = times[0]
            for flow in due[time]:
                if flow.finish == time:  # (stale entries left are skipped by _wake)
                    if time < self._wake_at:
                        self._schedule_wake(time)
                    return
            heappop(times)
            del due[time]

    # ------------------------------------------------------------------ solving
    def _solve(self, ev: Event) -> None:
        """Recompute the rates of every component touched at this instant."""
        if ev is not self._solve_ev:
            return
        env = self.env
        now = env._now
        if self._defer < MAX_DEFER and env.peek() == now:
            # More events at this instant may start or end flows: batch them too.
            self._defer += 1
            self._schedule_solve()
            return
        self._defer = 0
        self._solve_ev = None
        seeds = self._dirty
        for flow in self._pending:
            seeds.extend(flow.links)
        self._pending = []
        self._dirty = []
        self._search = search = self._search + 1
        local = local_max_min(seeds, self._active, self._caps, search)
        if local is None:  # the change reaches too far: solve its whole component
            flows = self._component(seeds)
            # Start order: deterministic, and flows finishing together are delivered FIFO.
            flows.sort(key=_start_order)
            rates = self._rates(flows) if flows else []
        else:
            flows, rates = local
        if not flows:
            return
        self.solves += 1
        self.solved_flows += len(flows)
        self._apply(flows, rates, now)

    def _component(self, seeds: list[int]) -> list[_Flow]:
        """Active flows connected to the `seeds` links through shared links."""
        active = self._active
        link_mark = self._link_mark
        self._search = search = self._search + 1
        stack = []
        for link in seeds:
            if link_mark[link] != search:
                link_mark[link] = search
                stack.append(link)
        push = stack.append
        flows: list[_Flow] = []
        found = flows.append
        for link in stack:  # grows while it is read: each link is pushed once
            for flow in active[link]:
                if flow.mark != search:
                    flow.mark = search
                    found(flow)
                    for other in flow.links:
                        if link_mark[other] != search:
                            link_mark[other] = search
                            push(other)
        return flows

    def _rates(self, flows: list[_Flow]) -> list[float]:
        """Max-min fair rates of `flows` (a union of whole components), bytes/s."""
        routes = list(map(_links_of, flows))
        lengths = list(map(len, routes))
        nnz = sum(lengths)
        if nnz <= SMALL_NNZ:
            return max_min_rates_small(flows, self._caps)
        n = len(flows)
        links = np.fromiter(chain.from_iterable(routes), np.intp, nnz)
        used, link_of = np.unique(links, return_inverse=True)
        flow_of = np.repeat(np.arange(n), lengths)
        flow_caps = np.fromiter(map(_cap_of, flows), np.float64, n)
        rates = _fill(flow_of, link_of, n, self.capacity[used], flow_caps)
        return rates.tolist()

    def _apply(self, flows: list[_Flow], rates: list[float], now: float) -> None:
        """Give `flows` their new `rates`, re-projecting the finish of those that changed."""
        times, due = self._times, self._due
        earliest = math.inf
        stale = self._stale
        recorder = self.recorder
        for flow, rate in zip(flows, rates, strict=True):
            old = flow.rate
            if rate == old:
                continue
            if old:
                remaining = flow.remaining - old * (now - flow.last)
                flow.remaining = remaining if remaining > 0.0 else 0.0
            flow.last = now
            flow.rate = rate
            if recorder is not None:
                recorder.rate(now, flow.seq, rate)
            if flow.finish != math.inf:
                stale += 1  # its old entry
            if rate > 0:
                finish = flow.finish = now + flow.remaining / rate
                batch = due.get(finish)
                if batch is None:
                    due[finish] = [flow]
                    heappush(times, finish)
                else:
                    batch.append(flow)
                if finish < earliest:
                    earliest = finish
            else:
                flow.finish = math.inf
        self._stale = stale
        if stale > 2 * self.active_flows + 1024:
            self._compact()
        if earliest < self._wake_at:
            self._schedule_wake(earliest)

    def _compact(self) -> None:
        """Rebuild the finish heap without stale entries."""
        due: dict[float, list[_Flow]] = {}
        for time, batch in self._due.items():
            if len(batch) == 1:
                if batch[0].finish == time:
                    due[time] = batch
            else:
                valid = [flow for flow in batch if flow.finish == time]
                if valid:
                    due[time] = valid
        self._due = due
        self._times = list(due)
        heapify(self._times)
        self._stale = 0

    # ---------------------------------------------------------------- counters
    def _active_flows(self) -> list[_Flow]:
        """Active flows in start order."""
        flows: dict[_Flow, None] = {}
        for link_flows in self._active:
            flows.update(link_flows)
        return sorted(flows, key=_start_order)

    def link_bytes(self) -> np.ndarray:
        """Bytes that have crossed each directed link by ``env.now`` (active flows included)."""
        now = self.env.now
        result = np.array(self._link_bytes, dtype=np.float64)
        for flow in self._active_flows():
            sent = flow.nbytes - max(flow.remaining - flow.rate * (now - flow.last), 0.0)
            for link in flow.links:
                result[link] += sent
        return result

    def link_busy_time(self) -> np.ndarray:
        """Seconds each directed link has carried at least one flow, up to ``env.now``."""
        now = self.env.now
        result = np.array(self._busy, dtype=np.float64)
        for link, flows in enumerate(self._active):
            if flows:
                result[link] += now - self._since[link]
        return result

    def link_rates(self) -> np.ndarray:
        """Current total rate of the flows on each directed link, bytes/s.

        Flows that started at this instant and wait for the solve count as 0.
        """
        result = np.zeros(len(self.links))
        for link, flows in enumerate(self._active):
            for flow in flows:
                result[link] += flow.rate
        return result

    @property
    def active_flows(self) -> int:
        """Number of flows started and not yet finished sending (nor cut off)."""
        return self.transfers - self._local - self.flows_completed - self.flows_aborted

    # ------------------------------------------------------------------ faults
    # Link failures, degradations and crashed hosts (netsim.faults); off the hot path.
    def set_link_capacity(self, link: int, bandwidth: float) -> None:
        """Set directed ``link``'s capacity to ``bandwidth`` bytes/s (0: failed) and re-solve.

        The flows crossing it get their new max-min rates at this instant (a flow on a
        link of capacity 0 stalls at rate 0); cached routes are dropped, since their
        bottlenecks change.
        """
        if not 0 <= bandwidth < _INF:
            raise ValueError(f"bandwidth must be finite and >= 0 bytes/s, got {bandwidth!r}")
        self._caps[link] = float(bandwidth)
        self.capacity[link] = bandwidth
        self._routes.clear()
        if self._active[link]:
            self._dirty.append(link)
            if self._solve_ev is None:
                self._schedule_solve()

    def set_link_latency(self, link: int, latency: float) -> None:
        """Set directed ``link``'s one-way latency (s); flows that start afterwards see it."""
        if not 0 <= latency < _INF:
            raise ValueError(f"latency must be finite and >= 0 s, got {latency!r}")
        self._lats[link] = float(latency)
        self.latency[link] = latency
        self._routes.clear()

    def reroute_flows(self, links) -> list[tuple]:
        """Move the active flows crossing ``links`` onto the routes the router gives now.

        Cached routes are dropped first. Each such flow loses the bytes it had in flight
        (its rate × its route latency, at most the bytes it has sent): a reliable
        transport sends them again, so they are added to its remaining bytes and counted
        in ``bytes_sent``, ``bytes_retransmitted`` and ``bytes_dropped``. It continues on
        its new route (perhaps the same links, where it waits at whatever rate they allow:
        0 on a failed link) and rates are re-solved at this instant. A rerouted flow
        continues under a new flow id in recordings.

        Returns
        -------
        list of tuple
            ``(src, dst, old links, new links, bytes lost, bytes left)`` per flow moved,
            in start order (bytes left: before the lost bytes are added back).
        """
        self._routes.clear()
        affected: dict[_Flow, None] = {}
        for link in links:
            affected.update(self._active[link])
        if not affected:
            return []
        now = self.env._now
        recorder = self.recorder
        moved = []
        for flow in sorted(affected, key=_start_order):
            old = flow.links
            src, dst = self.links[old[0]][0], self.links[old[-1]][1]
            left = max(flow.remaining - flow.rate * (now - flow.last), 0.0)
            sent = flow.nbytes - left
            lost = min(sent, flow.rate * flow.latency)
            new, latency, _ = self.route(src, dst)
            self._leave(flow, sent, now)
            if recorder is not None:
                recorder.finished(now, flow.seq)
            self._reroutes += 1
            flow.seq = _REROUTED + self._reroutes
            flow.links, flow.latency = new, latency
            flow.nbytes = flow.remaining = left + lost
            flow.last = now
            if flow.finish != math.inf:
                self._stale += 1
            flow.finish, flow.rate = math.inf, 0.0
            for link in new:
                if link not in old:
                    self._link_flows[link] += 1
                flows = self._active[link]
                if not flows:
                    self._since[link] = now
                flows[flow] = None
            if recorder is not None:
                recorder.started(now, flow.seq, src, dst, flow.nbytes, new)
            self._pending.append(flow)
            self.bytes_sent += lost
            self.bytes_retransmitted += lost
            self.bytes_dropped += lost
            moved.append((src, dst, old, new, lost, left))
        if self._solve_ev is None:
            self._schedule_solve()
        return moved

    def abort_flows(self, hosts) -> float:
        """Cut off the active flows from or to any of ``hosts`` (a crashed host); returns their bytes sent.

        Their deliveries never happen. The bytes they had sent count as dropped; those
        they had not sent are taken off ``bytes_sent`` (and off ``bytes_delivered``).
        """
        hosts = set(hosts)
        links = self.links
        victims: dict[_Flow, None] = {}
        for flows in self._active:
            for flow in flows:
                if links[flow.links[0]][0] in hosts or links[flow.links[-1]][1] in hosts:
                    victims[flow] = None
        now = self.env._now
        total = 0.0
        for flow in sorted(victims, key=_start_order):
            left = max(flow.remaining - flow.rate * (now - flow.last), 0.0)
            sent = flow.nbytes - left
            self._leave(flow, sent, now)
            if flow.finish != math.inf:
                self._stale += 1
            flow.finish = _DONE
            if self.recorder is not None:
                self.recorder.finished(now, flow.seq)
            conn = getattr(flow, "conn", None)
            if conn is not None:
                conn.active -= 1
                flow.conn = None
            flow.event = flow.value = None
            self.flows_aborted += 1
            self.bytes_sent -= left
            self.bytes_delivered -= flow.nbytes
            self.bytes_dropped += sent
            total += sent
        if self._dirty and self._solve_ev is None:
            self._schedule_solve()
        return total

    def _leave(self, flow: _Flow, sent: float, now: float) -> None:
        """Take ``flow`` off its links, crediting them with the ``sent`` bytes that crossed."""
        for link in flow.links:
            flows = self._active[link]
            del flows[flow]
            self._link_bytes[link] += sent
            if flows:
                self._dirty.append(link)
            else:
                self._busy[link] += now - self._since[link]
