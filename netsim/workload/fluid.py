"""Weighted fluid network: max-min sharing of links among *families* of identical flows.

The aggregated LLM simulation (:mod:`netsim.workload.aggregate`) moves a whole family of
symmetric flows (the same transfer in every data-parallel replica, say) as one flow. A
family crosses each link ``w`` times (``w`` of its members use that link); its members
all run at the family's rate ``x``, so the link carries ``w·x``. Rates are the weighted
max-min fair allocation (progressive filling: every unfrozen family grows at the same
rate; a link saturates when ``Σ w·x`` reaches its capacity) — exactly the per-flow
max-min allocation of :mod:`netsim.network.maxmin` when the families are symmetric
(:mod:`netsim.workload.symmetry` proves it for a given step before it is used).

Semantics are those of :class:`netsim.network.FlowNetwork`: rates are re-solved when a
family starts or ends (once per instant, for the families sharing links with the
change), a family's members deliver the route latency after their last byte is sent
(cut-through), and an uncontended family of weight 1 takes ``latency + n/B``.

Examples
--------
Two members of one family share a 1 GB/s link (weight 2): 1 MB each takes 2 ms.

>>> import simpy
>>> env = simpy.Environment()
>>> net = FluidNetwork(env, [1e9])
>>> net.add_route("f", (0,), (2,), 1e-6)
>>> done = net.transfer("f", 1e6)
>>> env.run(); round(env.now, 9)
0.002001
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np
import simpy
from simpy.core import NORMAL
from simpy.events import Event

from netsim.network.maxmin import LEVEL_RTOL, _fill

__all__ = ["FluidNetwork", "weighted_max_min"]

FINISH_RTOL = 1e-12
"""Families finishing within this relative tolerance of a wake-up complete in its batch (as in the flow model)."""

SMALL = 64
"""Components with at most this many (family, link) incidences are solved in pure Python."""

MAX_DEFER = 8
"""How many times a solve may be pushed back behind other events at the same instant."""


def weighted_max_min(
    flow_links: Sequence[Sequence[int]],
    flow_weights: Sequence[Sequence[float]],
    capacities: Sequence[float],
) -> list[float]:
    """Weighted max-min fair rates by progressive filling.

    Parameters
    ----------
    flow_links : sequence of sequences of int
        Distinct links (indices into ``capacities``) each family crosses.
    flow_weights : sequence of sequences of float
        ``flow_weights[f][j]``: how many members of family ``f`` cross ``flow_links[f][j]``.
    capacities : sequence of float
        Link capacities, bytes/s.

    Returns
    -------
    list of float
        The rate of one member of each family, bytes/s (``inf`` for a family crossing
        no link).

    Examples
    --------
    Family 0 (2 members) and family 1 (1 member) share a link of 3 bytes/s: every
    member gets 1.

    >>> weighted_max_min([(0,), (0, 1)], [(2,), (1, 1)], [3.0, 10.0])
    [1.0, 1.0]
    """
    n = len(flow_links)
    nnz = sum(len(links) for links in flow_links)
    if nnz <= SMALL:
        return _small(flow_links, flow_weights, capacities)
    link_of = np.fromiter((link for links in flow_links for link in links), np.intp, nnz)
    weight = np.fromiter((w for ws in flow_weights for w in ws), np.float64, nnz)
    flow_of = np.repeat(np.arange(n), [len(links) for links in flow_links])
    used, local = np.unique(link_of, return_inverse=True)
    cap = np.asarray(capacities, dtype=np.float64)[used]
    return _fill(flow_of, local, n, cap, np.full(n, np.inf), weight).tolist()


def _small(flow_links, flow_weights, capacities) -> list[float]:
    """Pure-Python progressive filling for a few incidences."""
    residual: dict[int, float] = {}
    count: dict[int, float] = {}
    for links, weights in zip(flow_links, flow_weights, strict=True):
        for link, w in zip(links, weights, strict=True):
            if link in count:
                count[link] += w
            else:
                count[link] = w
                residual[link] = capacities[link]
    rates = [math.inf] * len(flow_links)
    tol = 1.0 + LEVEL_RTOL
    unfrozen = [i for i, links in enumerate(flow_links) if links]
    while unfrozen:
        level = math.inf
        for link, c in count.items():
            if c:
                free = residual[link]
                value = (free if free > 0.0 else 0.0) / c
                if value < level:
                    level = value
        if level == math.inf:
            break
        limit = level * tol
        saturated = set()
        for link, c in count.items():
            if c:
                free = residual[link]
                if (free if free > 0.0 else 0.0) / c <= limit:
                    saturated.add(link)
        still = []
        for i in unfrozen:
            links = flow_links[i]
            if saturated.isdisjoint(links):
                still.append(i)
                continue
            rates[i] = level
            for link, w in zip(links, flow_weights[i], strict=True):
                residual[link] -= w * level
                count[link] -= w
        unfrozen = still
    return rates


class _Family:
    """One active family (internal)."""

    __slots__ = ("links", "weights", "nbytes", "remaining", "rate", "last", "finish", "event", "value", "latency", "seq")


class FluidNetwork:
    """Fluid max-min network whose flows are weighted families (see the module docstring).

    Parameters
    ----------
    env : simpy.Environment
        The simulation environment.
    capacities : sequence of float
        Bandwidth of every directed link, bytes/s (indexed like the topology network's links).

    Attributes
    ----------
    transfers : int
        Families started.
    solves : int
        Rate re-computations that did work.
    """

    def __init__(self, env: simpy.Environment, capacities: Sequence[float]):
        self.env = env
        self._caps = [float(c) for c in capacities]
        n = len(self._caps)
        self._active: list[dict[_Family, None]] = [{} for _ in range(n)]
        self._routes: dict[Hashable, tuple[tuple[int, ...], tuple[float, ...], float, float]] = {}
        self._bytes = [0.0] * n
        self._busy = [0.0] * n
        self._since = [0.0] * n
        self._flows = [0.0] * n
        self._heap: list[tuple[float, int, _Family]] = []
        self._wake_at = math.inf
        self._wake_ev: Event | None = None
        self._solve_ev: Event | None = None
        self._defer = 0
        self._touched: list[int] = []
        self.transfers = 0
        self.solves = 0

    # ---------------------------------------------------------------- routes
    def add_route(self, key: Hashable, links: Sequence[int], weights: Sequence[float], latency: float) -> None:
        """Register the route of a family: distinct ``links``, member counts ``weights``, ``latency`` (s)."""
        links, weights = tuple(int(x) for x in links), tuple(float(w) for w in weights)
        if len(set(links)) != len(links) or len(links) != len(weights) or any(w <= 0 for w in weights):
            raise ValueError("a family route needs distinct links and one positive weight per link")
        bottleneck = min((self._caps[link] / w for link, w in zip(links, weights, strict=True)), default=math.inf)
        self._routes[key] = (links, weights, float(latency), bottleneck)

    def has_route(self, key: Hashable) -> bool:
        """Whether ``key`` has a registered route."""
        return key in self._routes

    # -------------------------------------------------------------- transfer
    def transfer(self, key: Hashable, nbytes: float, *, value: Any = None, event: Event | None = None) -> Event:
        """Start family ``key`` sending ``nbytes`` per member; the event fires on delivery.

        Raises
        ------
        KeyError
            If ``key`` has no route (:meth:`add_route`).
        """
        env = self.env
        event = Event(env) if event is None else event
        links, weights, latency, bottleneck = self._routes[key]
        self.transfers += 1
        flows = self._flows
        for link, w in zip(links, weights, strict=True):
            flows[link] += w
        if nbytes <= 0 or not links:
            event._ok = True
            event._value = value
            env.schedule(event, NORMAL, latency)
            return event
        now = env.now
        family = _Family()
        family.links, family.weights = links, weights
        family.nbytes = family.remaining = float(nbytes)
        family.last, family.event, family.value = now, event, value
        family.latency, family.seq = latency, self.transfers
        active = self._active
        idle = True
        for link in links:
            if active[link]:
                idle = False
            else:
                self._since[link] = now
            active[link][family] = None
        if idle:
            family.rate = bottleneck
            family.finish = now + nbytes / bottleneck
            self._push(family)
        else:
            family.rate = 0.0
            family.finish = math.inf
            self._touched.extend(links)
            self._request_solve()
        return event

    # ------------------------------------------------------------ plumbing
    def _push(self, family: _Family) -> None:
        heappush(self._heap, (family.finish, family.seq, family))
        if family.finish < self._wake_at:
            self._wake_at = family.finish
            ev = Event(self.env)
            ev._ok, ev._value = True, None
            ev.callbacks.append(self._wake)
            self._wake_ev = ev
            self.env.schedule(ev, NORMAL, max(family.finish - self.env.now, 0.0))

    def _request_solve(self) -> None:
        if self._solve_ev is None:
            ev = Event(self.env)
            ev._ok, ev._value = True, None
            ev.callbacks.append(self._solve)
            self._solve_ev = ev
            self.env.schedule(ev, NORMAL, 0.0)

    def _wake(self, ev: Event) -> None:
        if ev is not self._wake_ev:
            return
        self._wake_ev, self._wake_at = None, math.inf
        env = self.env
        now = env.now
        limit = now + now * FINISH_RTOL
        heap, active = self._heap, self._active
        while heap and heap[0][0] <= limit:
            finish, _, family = heappop(heap)
            if family.finish != finish:
                continue  # stale entry
            family.finish = -1.0
            for link, w in zip(family.links, family.weights, strict=True):
                flows = active[link]
                del flows[family]
                self._bytes[link] += family.nbytes * w
                if flows:
                    self._touched.append(link)
                else:
                    self._busy[link] += now - self._since[link]
            event = family.event
            event._ok, event._value = True, family.value
            env.schedule(event, NORMAL, family.latency)
            family.event = family.value = None
        if self._touched:
            self._request_solve()
        while heap and heap[0][2].finish != heap[0][0]:
            heappop(heap)
        if heap:
            family = heap[0][2]
            self._wake_at = math.inf
            heappop(heap)
            self._push(family)

    def _solve(self, ev: Event) -> None:
        if ev is not self._solve_ev:
            return
        env = self.env
        if self._defer < MAX_DEFER and env.peek() == env.now:
            self._defer += 1
            self._solve_ev = None
            self._request_solve()
            return
        self._defer = 0
        self._solve_ev = None
        seeds, self._touched = self._touched, []
        families = self._component(seeds)
        if not families:
            return
        families.sort(key=lambda f: f.seq)
        self.solves += 1
        rates = weighted_max_min([f.links for f in families], [f.weights for f in families], self._caps)
        now = env.now
        for family, rate in zip(families, rates, strict=True):
            if rate == family.rate:
                continue
            if family.rate:
                left = family.remaining - family.rate * (now - family.last)
                family.remaining = left if left > 0.0 else 0.0
            family.last, family.rate = now, rate
            family.finish = now + family.remaining / rate if rate > 0 else math.inf
            if rate > 0:
                self._push(family)

    def _component(self, seeds: list[int]) -> list[_Family]:
        active = self._active
        seen_links: set[int] = set()
        seen: set[_Family] = set()
        out: list[_Family] = []
        stack = list(seeds)
        while stack:
            link = stack.pop()
            if link in seen_links:
                continue
            seen_links.add(link)
            for family in active[link]:
                if family not in seen:
                    seen.add(family)
                    out.append(family)
                    stack.extend(family.links)
        return out

    # ------------------------------------------------------------- counters
    def link_bytes(self) -> np.ndarray:
        """Bytes each link has carried by ``env.now`` (all members; active families pro rata)."""
        now = self.env.now
        out = np.array(self._bytes)
        seen: set[_Family] = set()
        for flows in self._active:
            for family in flows:
                if family in seen:
                    continue
                seen.add(family)
                sent = family.nbytes - max(family.remaining - family.rate * (now - family.last), 0.0)
                for link, w in zip(family.links, family.weights, strict=True):
                    out[link] += sent * w
        return out

    def link_busy_time(self) -> np.ndarray:
        """Seconds each link has carried at least one family, up to ``env.now``."""
        now = self.env.now
        out = np.array(self._busy)
        for link, flows in enumerate(self._active):
            if flows:
                out[link] += now - self._since[link]
        return out

    def link_flows(self) -> np.ndarray:
        """Member flows started on each link."""
        return np.array(self._flows)
