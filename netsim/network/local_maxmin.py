"""Incremental max-min: re-solve only the flows a change can affect, with a proof.

When a few flows start or end inside a large connected component (a double binary
tree on 1,024 hosts keeps thousands of flows in one component), re-solving the whole
component at every change costs ``O(component)`` per event even though a handful of
rates actually move. This module re-solves a *region* around the change and proves
that the result is the max-min fair allocation of the whole network; if it cannot,
the region grows until it can.

Method
------
1. The region ``R`` starts as every active flow on the *seed* links (links whose set
   of flows or capacity changed at this instant).
2. ``R`` is solved by progressive filling (:func:`netsim.network.maxmin._fill`, or
   :func:`~netsim.network.maxmin.max_min_rates_small` for a few flows) on *residual*
   capacities: each link's capacity minus the rates of the flows outside ``R`` that
   cross it, which keep their rates.
3. The combined allocation is checked against the characterisation of max-min
   fairness (Bertsekas & Gallager, *Data Networks*, §6.5.2): it is feasible and every
   flow either runs at its cap or has a *bottleneck*, a saturated link on which no
   flow is faster. The check covers every flow of ``R`` and every outside flow that
   shares a link with ``R``; any other flow sees exactly the links, flows and rates it
   had, so its old bottleneck still holds. Since the max-min fair allocation is unique,
   an allocation that passes *is* it.
4. A flow that fails brings the flows on its links into ``R``, and step 2 repeats. If
   nothing can be added, or ``R`` grows past :data:`LOCAL_LIMIT` flows, the caller
   re-solves the whole component instead.

Tolerances follow the rounding of the sums involved, not a fixed fraction of the
link: a link counts as saturated if its spare capacity is at most
``(n + 1)·4ε·capacity + 2·LEVEL_RTOL·load`` (``n`` flows on it, ``ε`` the float64
epsilon; the second term is the level merging of progressive filling), a flow is the
fastest on it within ``2·LEVEL_RTOL`` of the fastest rate plus the same rounding term,
and a flow is at its cap within ``2·LEVEL_RTOL`` of it. A residual capacity is a
difference, so it loses the low bits of the link's capacity: where the outside flows
leave less than :data:`RESIDUAL_FLOOR` of a link, they are brought into the region
instead, which keeps every residual accurate to ~1e-14 of itself. Results therefore
equal a whole-component solve to within rounding (not bit for bit: sums are taken in
another order), and are deterministic: regions are built and solved in start order.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

import numpy as np

from netsim.network.maxmin import LEVEL_RTOL, _fill, fill_small

__all__ = ["LOCAL_LIMIT", "RESIDUAL_FLOOR", "START_LIMIT", "local_max_min"]

RESIDUAL_FLOOR = 1e-2
"""Outside flows leaving less than this fraction of a link's capacity join the region."""

START_LIMIT = 128
"""A change touching more flows than this is solved over its whole component at once.

A large simultaneous batch (every leaf of a tree starting a chunk together) changes
most of its component anyway, where the NumPy whole-component solve is cheaper than
the checks."""

LOCAL_LIMIT = 256
"""A region that grows past this many flows is abandoned for a whole-component solve.

The checks cost Python work per flow where the whole-component solve is NumPy work, so
a region only pays while it is much smaller than its component. Measured (random
arrivals on an oversubscribed 64-host tree, where most changes reach most flows): limits
of 128/256 cost 6 % over whole-component solves, 256/1,024 cost 40 %; a double binary
tree of 512 ranks in 32 chunks is 3x faster than whole-component solves with either."""

SMALL_NNZ = 128
"""Regions with at most this many (flow, link) incidences are solved in pure Python."""

_start_order = attrgetter("seq")
_INF = math.inf
_RATE_TOL = 2 * LEVEL_RTOL  # relative: ties, caps and the level merging of the solver
_ROUND = 4 * float(np.finfo(np.float64).eps)  # per term of a sum, relative to the link capacity


def local_max_min(
    seeds: list[int], active: list[dict], caps: list[float], search: int
) -> tuple[list[Any], list[float]] | None:
    """Max-min fair rates of the flows a change at ``seeds`` can affect.

    Parameters
    ----------
    seeds : list of int
        Directed links whose flows or capacity changed.
    active : list of dict
        ``active[link]`` holds the flows crossing ``link`` (keys, insertion-ordered).
        Each flow has ``links`` (link indices), ``rate`` (current rate, bytes/s; 0 for
        a flow waiting for its first solve), ``cap`` (bytes/s), ``seq`` (start order),
        and ``mark`` (a scratch attribute this function writes).
    caps : list of float
        Capacity of every link, bytes/s.
    search : int
        A number no flow's ``mark`` holds yet (the caller's search counter).

    Returns
    -------
    (flows, rates) or None
        The region's flows in start order and their max-min fair rates (bytes/s); every
        other active flow keeps its rate. ``None`` if the change touches more than
        :data:`START_LIMIT` flows, or the region grew past :data:`LOCAL_LIMIT` flows or
        could not grow: then solve the whole component.
    """
    region: list[Any] = []
    add = region.append
    for link in seeds:
        for flow in active[link]:
            if flow.mark != search:
                flow.mark = search
                add(flow)
    if not region:
        return [], []
    if len(region) > START_LIMIT:
        return None
    while True:
        region.sort(key=_start_order)
        # Residual capacities of the region's links and the fastest outside flow on each;
        # the outside flows met there are the region's neighbours.
        residual: dict[int, float] = {}
        fastest: dict[int, float] = {}
        count: dict[int, int] = {}  # the region's flows per link
        neighbours: dict[Any, None] = {}
        crowded = []  # links whose outside flows leave too little to subtract accurately
        for flow in region:
            for link in flow.links:
                if link in count:
                    count[link] += 1
                else:
                    count[link] = 1
                    capacity = free = caps[link]
                    top = 0.0
                    for other in active[link]:
                        if other.mark != search:
                            rate = other.rate
                            free -= rate
                            if rate > top:
                                top = rate
                            neighbours[other] = None
                    if capacity == _INF:
                        free = _INF  # (inf - inf would be NaN)
                    elif top and free < capacity * RESIDUAL_FLOOR:
                        crowded.append(link)
                    residual[link] = free
                    fastest[link] = top
        if crowded:
            for link in crowded:
                for other in active[link]:
                    if other.mark != search:
                        other.mark = search
                        add(other)
            if len(region) > LOCAL_LIMIT:
                return None
            continue
        rates = _solve(region, residual, count)
        failed = _unproven(region, rates, neighbours, residual, fastest, active, caps)
        if not failed:
            return region, rates
        grown = False
        for flow in failed:
            if flow.mark != search:
                flow.mark = search
                add(flow)
                grown = True
            for link in flow.links:
                for other in active[link]:
                    if other.mark != search:
                        other.mark = search
                        add(other)
                        grown = True
        if not grown or len(region) > LOCAL_LIMIT:
            return None


def _solve(region: list[Any], residual: dict[int, float], count: dict[int, int]) -> list[float]:
    """Progressive filling of ``region`` on the residual capacities (``count``: flows per link).

    The rounds of :mod:`netsim.network.maxmin` (same level tolerance): in pure Python
    (:func:`~netsim.network.maxmin.fill_small`) for a few incidences, else
    :func:`~netsim.network.maxmin._fill`.
    """
    n = len(region)
    if sum(count.values()) > SMALL_NNZ:
        index = {link: i for i, link in enumerate(residual)}
        lengths = [len(flow.links) for flow in region]
        link_of = np.fromiter((index[link] for flow in region for link in flow.links), np.intp, sum(lengths))
        flow_of = np.repeat(np.arange(n), lengths)
        cap = np.fromiter(residual.values(), np.float64, len(residual))
        flow_caps = np.fromiter((flow.cap for flow in region), np.float64, n)
        return _fill(flow_of, link_of, n, cap, flow_caps).tolist()
    return fill_small(region, residual.copy(), count)


def _unproven(
    region: list[Any],
    rates: list[float],
    neighbours: dict[Any, None],
    residual: dict[int, float],
    fastest: dict[int, float],
    active: list[dict],
    caps: list[float],
) -> list[Any]:
    """Flows of ``region`` (at ``rates``) and ``neighbours`` without a proven bottleneck or cap.

    ``residual`` and ``fastest`` hold, per link of the region, the capacity left by the
    outside flows and the fastest outside rate.
    """
    used = dict.fromkeys(residual, 0.0)  # the region's new total rate per link
    top = fastest.copy()
    for flow, rate in zip(region, rates, strict=True):
        for link in flow.links:
            used[link] += rate
            if rate > top[link]:
                top[link] = rate
    # bar[link]: the rate a flow needs to be bottlenecked there (inf: link not saturated).
    bar: dict[int, float] = {}
    for link, free in residual.items():
        capacity = caps[link]
        if capacity == _INF:  # never saturated
            bar[link] = _INF
            continue
        fuzz = _ROUND * capacity * (len(active[link]) + 1)
        fastest_rate = top[link]
        saturated = used[link] >= free - fuzz - _RATE_TOL * used[link]
        bar[link] = fastest_rate - fuzz - _RATE_TOL * fastest_rate if saturated else _INF
    failed = []
    for flow, rate in zip(region, rates, strict=True):
        if rate >= flow.cap * (1.0 - _RATE_TOL) or rate == _INF:
            continue
        for link in flow.links:
            if rate >= bar[link]:
                break
        else:
            failed.append(flow)
    for flow in neighbours:
        rate = flow.rate
        if rate >= flow.cap * (1.0 - _RATE_TOL) or rate == _INF:
            continue
        links = flow.links
        for link in links:  # first the region's links, whose bars are known
            need = bar.get(link)
            if need is not None and rate >= need:
                break
        else:
            if not _bottlenecked_elsewhere(flow, rate, bar, active, caps):
                failed.append(flow)
    return failed


def _bottlenecked_elsewhere(flow: Any, rate: float, bar: dict[int, float], active: list[dict], caps: list[float]) -> bool:
    """Whether ``flow`` has a bottleneck among its links outside the region (bars cached in ``bar``)."""
    for link in flow.links:
        if link not in bar:  # a link no region flow crosses: its flows kept their rates
            load = 0.0
            top_rate = 0.0
            for other in active[link]:
                other_rate = other.rate
                load += other_rate
                if other_rate > top_rate:
                    top_rate = other_rate
            capacity = caps[link]
            fuzz = _ROUND * capacity * (len(active[link]) + 1)
            saturated = capacity != _INF and load >= capacity - fuzz - _RATE_TOL * load
            need = bar[link] = top_rate - fuzz - _RATE_TOL * top_rate if saturated else _INF
            if rate >= need:
                return True
    return False
