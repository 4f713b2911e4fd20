"""Max-min fair rate allocation by progressive filling (water-filling).

A pure function of its inputs: no SimPy, no state. The flow network model
(:mod:`netsim.network.flow`) calls it on the flows whose rates a change touched;
it is tested on its own, as SimGrid keeps ``lmm/maxmin`` apart from its models.

Algorithm
---------
Every flow starts unfrozen at rate 0. Each round computes, for every link, the
*saturation level* ``(capacity - frozen usage) / (number of unfrozen flows on
it)``, i.e. the rate at which the link would be full if all its unfrozen flows
grew together. The smallest level over all links (and over the caps of unfrozen
flows) is the next water level: every unfrozen flow crossing a link that saturates
at that level (within a relative tolerance of ``1e-12``), or whose cap is that level,
is frozen at it. Rounds repeat until every flow is frozen; there are at most as
many rounds as distinct levels, and each costs ``O(nnz + links + flows)`` NumPy work
(``nnz`` = total number of (flow, link) incidences), through ``numpy.bincount``.

The result is the unique max-min fair allocation: no link carries more than its
capacity, and every flow either runs at its cap or crosses a saturated link on
which no other flow has a larger rate (its *bottleneck*), so no flow can be given
more without taking from a flow that has no more than it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["max_min_rates", "max_min_rates_coo", "max_min_rates_small", "fill_small", "LEVEL_RTOL"]

LEVEL_RTOL = 1e-12
"""Relative tolerance under which two saturation levels count as equal."""


def max_min_rates(
    flow_links: Sequence[Sequence[int]],
    capacities: Sequence[float] | np.ndarray,
    flow_caps: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Max-min fair rates of flows sharing links, by progressive filling.

    Parameters
    ----------
    flow_links : sequence of sequences of int
        ``flow_links[f]`` lists the indices (into `capacities`) of the links flow
        ``f`` crosses. A link listed twice for one flow counts twice (the flow
        uses it twice). A flow crossing no link is limited only by its cap.
    capacities : 1-D array_like of float
        Capacity of every link, bytes/s (``>= 0``; ``inf`` for an unconstrained link).
    flow_caps : 1-D array_like of float, optional
        Upper bound on each flow's rate, bytes/s (``inf`` = no bound). Used for
        window-limited transports. Default: no bound.

    Returns
    -------
    numpy.ndarray
        Rate of every flow, bytes/s, ``float64`` of length ``len(flow_links)``.
        A flow crossing no link (or only links of infinite capacity) and having no
        cap gets ``inf``.

    Raises
    ------
    ValueError
        If a link index is out of range, a capacity or cap is negative or NaN, or
        `flow_caps` does not have one entry per flow.

    Examples
    --------
    Two links of capacity 1; flow 0 crosses both, flow 1 only the first, flow 2
    only the second: every flow gets half a link.

    >>> max_min_rates([(0, 1), (0,), (1,)], [1.0, 1.0]).tolist()
    [0.5, 0.5, 0.5]

    Unequal capacities give unequal levels: flow 1 is frozen first on link 0
    (level 0.5), then flow 2 takes what flow 0 leaves on link 1.

    >>> max_min_rates([(0, 1), (0,), (1,)], [1.0, 3.0]).tolist()
    [0.5, 0.5, 2.5]

    A cap freezes a flow early and frees bandwidth for the others:

    >>> max_min_rates([(0,), (0,)], [1.0], flow_caps=[0.25, np.inf]).tolist()
    [0.25, 0.75]
    """
    n_flows = len(flow_links)
    lengths = np.fromiter((len(links) for links in flow_links), dtype=np.intp, count=n_flows)
    nnz = int(lengths.sum())
    if nnz:
        link_of = np.fromiter(
            (link for links in flow_links for link in links), dtype=np.intp, count=nnz
        )
    else:
        link_of = np.zeros(0, dtype=np.intp)
    flow_of = np.repeat(np.arange(n_flows, dtype=np.intp), lengths)
    return max_min_rates_coo(flow_of, link_of, n_flows, capacities, flow_caps)


def max_min_rates_coo(
    flow_of: np.ndarray,
    link_of: np.ndarray,
    n_flows: int,
    capacities: Sequence[float] | np.ndarray,
    flow_caps: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Max-min fair rates from a coordinate (COO) incidence list.

    The same computation as :func:`max_min_rates`, for callers that already hold
    the incidence as two parallel integer arrays (no per-flow Python objects).

    Parameters
    ----------
    flow_of, link_of : 1-D int arrays of equal length
        Incidence ``k`` says flow ``flow_of[k]`` crosses link ``link_of[k]``.
    n_flows : int
        Number of flows (flows ``0 .. n_flows-1``; a flow with no incidence
        crosses no link).
    capacities : 1-D array_like of float
        Link capacities, bytes/s.
    flow_caps : 1-D array_like of float, optional
        Per-flow rate bounds, bytes/s (``inf`` = none).

    Returns
    -------
    numpy.ndarray
        Rates, bytes/s, one per flow.

    Raises
    ------
    ValueError
        On out-of-range indices, negative/NaN capacities or caps, or mismatched lengths.

    Examples
    --------
    >>> max_min_rates_coo(np.array([0, 0, 1]), np.array([0, 1, 0]), 2, [2.0, 5.0]).tolist()
    [1.0, 1.0]
    """
    cap = np.asarray(capacities, dtype=np.float64)
    if cap.ndim != 1:
        raise ValueError(f"capacities must be a 1-D array, got shape {cap.shape}")
    if np.isnan(cap).any() or (cap < 0).any():
        raise ValueError("capacities must be >= 0 and not NaN")
    n_links = cap.shape[0]
    flow_of = np.asarray(flow_of, dtype=np.intp)
    link_of = np.asarray(link_of, dtype=np.intp)
    if flow_of.shape != link_of.shape:
        raise ValueError("flow_of and link_of must have the same length")
    if link_of.size and (link_of.min() < 0 or link_of.max() >= n_links):
        raise ValueError(f"link index out of range for {n_links} link(s)")
    if flow_of.size and (flow_of.min() < 0 or flow_of.max() >= n_flows):
        raise ValueError(f"flow index out of range for {n_flows} flow(s)")
    if flow_caps is None:
        caps = np.full(n_flows, np.inf)
    else:
        caps = np.asarray(flow_caps, dtype=np.float64)
        if caps.shape != (n_flows,):
            raise ValueError(
                f"flow_caps must have one entry per flow ({n_flows}), got shape {caps.shape}"
            )
        if np.isnan(caps).any() or (caps < 0).any():
            raise ValueError("flow caps must be >= 0 and not NaN")

    return _fill(flow_of, link_of, n_flows, cap, caps)


def _fill(
    flow_of: np.ndarray,
    link_of: np.ndarray,
    n_flows: int,
    cap: np.ndarray,
    caps: np.ndarray,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """Progressive filling on validated float64/intp arrays (the rounds of the module doc).

    ``weight`` (float64, one per incidence, optional): incidence ``k`` counts as
    ``weight[k]`` flows on its link, all at the flow's rate (weighted max-min; used by
    :mod:`netsim.workload.fluid` for families of identical flows). Without it every
    incidence counts once.
    """
    n_links = cap.shape[0]
    rates = np.zeros(n_flows)
    frozen = np.zeros(n_flows, dtype=bool)
    free = cap.copy()  # capacity not yet used by frozen flows
    caps = caps.copy()  # caps of unfrozen flows; inf once frozen
    tol = 1.0 + LEVEL_RTOL
    # Incidences of unfrozen flows; shrinks as flows freeze.
    inc_flow, inc_link, inc_w = flow_of, link_of, weight
    unfrozen = n_flows
    while unfrozen:
        counts = np.bincount(inc_link, weights=inc_w, minlength=n_links)
        level_of_link = np.divide(
            np.maximum(free, 0.0), counts, out=np.full(n_links, np.inf), where=counts > 0
        )
        level = min(level_of_link.min() if n_links else np.inf, caps.min())
        if level == np.inf:
            # Only unconstrained flows are left.
            rates[~frozen] = np.inf
            break
        # Flows to freeze: those crossing a link saturating at this level, and those
        # whose cap is this level (frozen flows have an infinite cap here).
        limit = level * tol
        hit = caps <= limit
        hit[inc_flow[(level_of_link <= limit)[inc_link]]] = True
        rates[hit] = level
        caps[hit] = np.inf
        frozen |= hit
        unfrozen -= int(np.count_nonzero(hit))
        done = hit[inc_flow]
        free -= np.bincount(inc_link[done], weights=None if inc_w is None else inc_w[done], minlength=n_links) * level
        keep = ~done
        inc_flow, inc_link = inc_flow[keep], inc_link[keep]
        if inc_w is not None:
            inc_w = inc_w[keep]
    return rates


def max_min_rates_small(flows: Sequence[Any], capacities: Sequence[float]) -> list[float]:
    """Max-min fair rates in pure Python, for a few flows (no NumPy call overhead).

    The same rounds, tolerance and result as :func:`max_min_rates`; cheaper below
    roughly a hundred (flow, link) incidences, where NumPy's per-call overhead
    dominates. The flow model uses it for small components.

    Parameters
    ----------
    flows : sequence of objects
        Each with attributes ``links`` (sequence of link indices) and ``cap``
        (rate bound, bytes/s; ``inf`` for none).
    capacities : sequence of float
        Link capacities, bytes/s, indexed by the link indices (no validation).

    Returns
    -------
    list of float
        Rate of every flow, bytes/s.

    Examples
    --------
    >>> from types import SimpleNamespace as Flow
    >>> flows = [Flow(links=(0, 1), cap=math.inf), Flow(links=(0,), cap=math.inf),
    ...          Flow(links=(1,), cap=math.inf)]
    >>> max_min_rates_small(flows, [1.0, 3.0])
    [0.5, 0.5, 2.5]
    """
    residual: dict[int, float] = {}
    count: dict[int, int] = {}
    for flow in flows:
        for link in flow.links:
            if link in count:
                count[link] += 1
            else:
                count[link] = 1
                residual[link] = capacities[link]
    return fill_small(flows, residual, count)


def fill_small(flows: Sequence[Any], residual: dict[int, float], count: dict[int, int]) -> list[float]:
    """The rounds of :func:`max_min_rates_small` on prepared per-link state (consumed).

    Parameters
    ----------
    flows : sequence of objects
        With ``links`` and ``cap``, as for :func:`max_min_rates_small`.
    residual : dict
        Capacity available to ``flows`` on each link they cross, bytes/s (modified).
    count : dict
        Number of ``flows`` crossing each link (same keys; modified).

    Returns
    -------
    list of float
        Rate of every flow, bytes/s.
    """
    rates = [0.0] * len(flows)
    tol = 1.0 + LEVEL_RTOL
    unfrozen = list(range(len(flows)))
    while unfrozen:
        level = math.inf
        for link, n in count.items():
            if n:
                free = residual[link]
                value = (free if free > 0.0 else 0.0) / n
                if value < level:
                    level = value
        for i in unfrozen:
            cap = flows[i].cap
            if cap < level:
                level = cap
        if level == math.inf:
            for i in unfrozen:
                rates[i] = math.inf
            break
        limit = level * tol
        saturated = set()
        for link, n in count.items():
            if n:
                free = residual[link]
                if (free if free > 0.0 else 0.0) / n <= limit:
                    saturated.add(link)
        still = []
        for i in unfrozen:
            flow = flows[i]
            if flow.cap <= limit or not saturated.isdisjoint(flow.links):
                rates[i] = level
                for link in flow.links:
                    residual[link] -= level
                    count[link] -= 1
            else:
                still.append(i)
        unfrozen = still
    return rates
