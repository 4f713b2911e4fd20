"""Small hand-built topologies, a shortest-path router and a reference fluid simulator."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from netsim.network import max_min_rates

__all__ = ["SPRouter", "line", "star", "dumbbell", "reference_finish_times"]


class SPRouter:
    """Router over ``networkx.shortest_path`` (fewest hops, deterministic)."""

    def __init__(self, graph: nx.Graph):
        self.graph = graph

    def path(self, src, dst):
        return nx.shortest_path(self.graph, src, dst)


def _hosts(g: nx.Graph, names: list[str]) -> None:
    for name in names:
        g.add_node(name, kind="host")
    g.graph["hosts"] = list(names)


def line(bandwidths: list[float], latencies: list[float]) -> nx.Graph:
    """Host h0 -- s0 -- s1 ... -- h1: a chain of ``len(bandwidths)`` links."""
    hops = len(bandwidths)
    nodes = ["h0"] + [f"s{i}" for i in range(hops - 1)] + ["h1"]
    g = nx.Graph()
    _hosts(g, ["h0", "h1"])
    for name in nodes[1:-1]:
        g.add_node(name, kind="switch")
    for (u, v), bw, lat in zip(
        zip(nodes, nodes[1:], strict=False), bandwidths, latencies, strict=True
    ):
        g.add_edge(u, v, bandwidth=bw, latency=lat)
    return g


def star(n: int, bandwidth: float = 1e9, latency: float = 1e-6) -> nx.Graph:
    """Hosts h0..h{n-1} on one switch s0."""
    g = nx.Graph()
    _hosts(g, [f"h{i}" for i in range(n)])
    g.add_node("s0", kind="switch")
    for i in range(n):
        g.add_edge(f"h{i}", "s0", bandwidth=bandwidth, latency=latency)
    return g


def dumbbell(n: int, bandwidth: float = 1e9, core: float = 5e8, latency: float = 1e-6) -> nx.Graph:
    """Hosts h0..h{n-1} on s0, h{n}..h{2n-1} on s1, s0 -- s1 of bandwidth `core`."""
    g = nx.Graph()
    _hosts(g, [f"h{i}" for i in range(2 * n)])
    g.add_node("s0", kind="switch")
    g.add_node("s1", kind="switch")
    for i in range(2 * n):
        g.add_edge(
            f"h{i}",
            "s0" if i < n else "s1",
            bandwidth=bandwidth * (1 + 0.5 * (i % 3)),
            latency=latency,
        )
    g.add_edge("s0", "s1", bandwidth=core, latency=2 * latency)
    return g


def reference_finish_times(
    flow_links: list[tuple[int, ...]],
    starts: list[float],
    sizes: list[float],
    capacities: np.ndarray,
    caps: list[float] | None = None,
) -> list[float]:
    """Times at which each flow sends its last byte, by brute force.

    Re-solves max-min over *all* active flows at every start and finish (no
    components, no batching): an independent check of the incremental model.
    """
    n = len(flow_links)
    caps = [math.inf] * n if caps is None else caps
    order = sorted(range(n), key=lambda i: starts[i])
    remaining = list(sizes)
    finish = [math.nan] * n
    active: list[int] = []
    now = 0.0
    k = 0
    while k < n or active:
        if active:
            rates = max_min_rates(
                [flow_links[i] for i in active], capacities, [caps[i] for i in active]
            )
            dt_end = min(remaining[i] / r for i, r in zip(active, rates, strict=True))
        else:
            rates, dt_end = [], math.inf
        next_start = starts[order[k]] if k < n else math.inf
        dt = min(dt_end, next_start - now)
        for i, r in zip(active, rates, strict=True):
            remaining[i] -= r * dt
        now += dt
        still = []
        for i, r in zip(active, rates, strict=True):
            if remaining[i] <= 1e-9 * sizes[i] or remaining[i] / r <= 1e-12 * max(now, 1e-300):
                finish[i] = now
            else:
                still.append(i)
        active = still
        while k < n and starts[order[k]] <= now:
            i = order[k]
            if sizes[i] == 0:
                finish[i] = now
            else:
                active.append(i)
            k += 1
    return finish
