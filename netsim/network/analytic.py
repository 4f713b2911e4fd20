"""Alpha-beta network model: every transfer runs as if alone on the network.

A transfer of ``n`` bytes over a route with one-way latency ``L`` (sum over its
links) and bottleneck bandwidth ``B`` is delivered at ``now + L + n / B``
(``n / min(B, max_rate)`` with a rate bound). Other traffic never slows it: the
model is the reference for uncontended costs (REFERENCES.md §1-2) and a lower
bound for the contended models.

Link counters follow the same convention as the flow model: a transfer occupies
every link of its route at rate ``n / duration`` during ``[start, start + n / B)``;
bytes are counted as they cross (pro rata for transfers still in flight when the
counters are read) and a link is busy while at least one transfer occupies it.
Unlike the flow model, overlapping transfers may together exceed a link's
bandwidth (there is no contention), so utilisation can exceed 1.

With a transport profile (or a ``loss_rate``) a transfer is costed exactly as in the
flow model (:mod:`netsim.network.fluid_transport`): it occupies its links for
``size / rate`` after its handshake, software and slow-start delay, so it is delivered
``transport.transfer_time(...)`` after it is sent. ``buffer`` and ``ecn`` are accepted
and ignored (no queues).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from heapq import heappop, heappush
from typing import Any

import networkx as nx
import numpy as np
import simpy
from simpy.core import NORMAL
from simpy.events import PENDING, Event

from netsim.network.base import Network
from netsim.network.fluid_transport import FluidTransport
from netsim.transport import TransportProfile

__all__ = ["AnalyticNetwork"]

_INF = math.inf


class AnalyticNetwork(Network):
    """Alpha-beta (latency + size / bandwidth) model without contention.

    Parameters
    ----------
    env : simpy.Environment
        The simulation environment.
    graph : networkx.Graph
        Topology (edge ``bandwidth`` in bytes/s per direction, ``latency`` in s).
    router : object
        Any object with ``path(src, dst)``.
    transport : TransportProfile, optional
        Protocol profile (default ``ideal``: ``L + n / B`` exactly).
    loss_rate : float, optional
        Per-link frame loss probability in ``[0, 1)`` (expected cost, as in the flow model).
    buffer, ecn, seed : optional
        Accepted for a uniform constructor and ignored (no queues, no randomness).

    Examples
    --------
    >>> import networkx as nx, simpy
    >>> g = nx.Graph(); g.add_edge("h0", "h1", bandwidth=1e9, latency=1e-6)
    >>> class R:
    ...     def path(self, s, d): return nx.shortest_path(g, s, d)
    >>> env = simpy.Environment(); net = AnalyticNetwork(env, g, R())
    >>> done = net.transfer("h0", "h1", 1e6)
    >>> env.run(); round(env.now, 9)
    0.001001
    """

    name = "analytic"

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
        self._fluid = (
            None
            if self.transport.passthrough and not self.loss_rate
            else FluidTransport(self.transport, self.loss_rate)
        )
        n = len(self.links)
        self._busy = [0.0] * n
        self._busy_until = [0.0] * n
        # In-flight transfers: (end, seq, start, nbytes, links); retired lazily.
        self._inflight: list[tuple[float, int, float, float, tuple[int, ...]]] = []
        self._seq = 0
        self._completed = 0

    @property
    def flows_completed(self) -> int:
        """Number of network transfers whose last byte has left by ``env.now``."""
        self._retire(self.env.now)
        return self._completed

    @flows_completed.setter
    def flows_completed(self, count: int) -> None:
        self._completed = count

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
        """Send `nbytes` from `src` to `dst`, delivered after ``L + nbytes / B`` seconds.

        With a transport: after ``transport.transfer_time(...)``. See
        :meth:`netsim.network.base.Network.transfer` for the parameters.
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
        self.transfers += 1
        if not links:
            event._ok = True
            event._value = value
            env.schedule(event, NORMAL, 0.0)
            return event
        if self._fluid is None:  # no transport cost: _occupy() inlined (the hot path)
            self.bytes_sent += nbytes
            self.payload_bytes += nbytes
            self.bytes_delivered += nbytes
            duration = nbytes / (bottleneck if bottleneck <= max_rate else max_rate)
            now = env.now
            end = now + duration
            flows, busy, until = self._link_flows, self._busy, self._busy_until
            for link in links:
                flows[link] += 1
                last = until[link]
                if end > last:
                    busy[link] += end - (last if last > now else now)
                    until[link] = end
            self._seq += 1
            recorder = self.recorder
            if recorder is not None and nbytes > 0:
                recorder.started(now, self._seq, src, dst, nbytes, links)
                recorder.rate(now, self._seq, nbytes / duration)
                recorder.finished(end, self._seq)
            inflight = self._inflight
            heappush(inflight, (end, self._seq, now, nbytes, links))
            if inflight[0][0] <= now:
                self._retire(now)
            event._ok = True
            event._value = value
            env.schedule(event, NORMAL, latency + duration)
            return event
        pre, size, cap, retransmitted, dropped, conn, segments = self._fluid.plan(
            src, dst, nbytes, len(links), latency, bottleneck, max_rate, env.now
        )
        self.bytes_sent += size
        self.payload_bytes += nbytes
        self.bytes_delivered += size - dropped
        self.bytes_dropped += dropped
        self.bytes_retransmitted += retransmitted
        if conn is not None:  # its last byte is sent at `end`: window growth and idle time
            rate = bottleneck if bottleneck <= cap else cap
            end = env.now + pre + size / rate
            conn.pending.append((end, segments))
            conn.last = max(conn.last, end)
        args = (src, dst, size, links, latency, bottleneck, cap, event, value)
        if pre > 0:
            ev = Event(env)
            ev._ok = True
            ev._value = None
            ev.callbacks.append(lambda _: self._occupy(*args))
            env.schedule(ev, NORMAL, pre)
        else:
            self._occupy(*args)
        return event

    def _occupy(
        self,
        src: Hashable,
        dst: Hashable,
        nbytes: float,
        links: tuple[int, ...],
        latency: float,
        bottleneck: float,
        max_rate: float,
        event: Event,
        value: Any,
    ) -> None:
        """Occupy the route for ``nbytes / rate`` from now and schedule the delivery.

        (Inlined in :meth:`transfer` for transfers without a transport cost; keep both alike.)
        """
        env = self.env
        duration = nbytes / (bottleneck if bottleneck <= max_rate else max_rate)
        now = env.now
        end = now + duration
        flows, busy, until = self._link_flows, self._busy, self._busy_until
        for link in links:
            flows[link] += 1
            last = until[link]
            if end > last:
                busy[link] += end - (last if last > now else now)
                until[link] = end
        self._seq += 1
        recorder = self.recorder
        if recorder is not None and nbytes > 0:
            recorder.started(now, self._seq, src, dst, nbytes, links)
            recorder.rate(now, self._seq, nbytes / duration)
            recorder.finished(end, self._seq)
        inflight = self._inflight
        heappush(inflight, (end, self._seq, now, nbytes, links))
        if inflight[0][0] <= now:
            self._retire(now)
        event._ok = True
        event._value = value
        env.schedule(event, NORMAL, latency + duration)

    def _retire(self, now: float) -> None:
        """Count the bytes and completions of transfers whose last byte left by `now`."""
        inflight, link_bytes = self._inflight, self._link_bytes
        done = 0
        while inflight and inflight[0][0] <= now:
            _, _, _, nbytes, links = heappop(inflight)
            for link in links:
                link_bytes[link] += nbytes
            done += 1
        self._completed += done

    def link_bytes(self) -> np.ndarray:
        """Bytes that have crossed each directed link by ``env.now`` (pro rata in flight)."""
        now = self.env.now
        self._retire(now)
        result = np.array(self._link_bytes, dtype=np.float64)
        for end, _, start, nbytes, links in self._inflight:
            sent = nbytes * (now - start) / (end - start)
            for link in links:
                result[link] += sent
        return result

    def link_busy_time(self) -> np.ndarray:
        """Seconds each directed link has carried at least one transfer, up to ``env.now``."""
        now = self.env.now
        busy = np.array(self._busy, dtype=np.float64)
        ahead = np.array(self._busy_until, dtype=np.float64) - now
        return busy - np.maximum(ahead, 0.0)
