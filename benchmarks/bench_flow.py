"""Benchmark the flow network model: flow completions per wall second.

Run ``python benchmarks/bench_flow.py`` (``--quick`` for a smaller run,
``--profile`` to print a cProfile of the ring case). Prints figures and ratios;
asserts nothing about wall time. Rates are given per wall second and per CPU
second of this process (the latter is less disturbed by other load).

Cases
-----
(a) ring-allreduce communication pattern (size-only, 1 GiB, chunks of n/p bytes)
    on a p-host ring (hosts linked directly in a cycle);
(b) the same pattern on a p-host star (one switch);
(c) N-to-1 incast on a star, N = 256, 512, 1024: every sender starts one flow to
    the same host at time 0 (equal sizes), plus a staggered variant where sizes
    differ so flows finish one by one (each end re-solves the remaining flows);
(d) for comparison, the real ``netsim.collectives`` ring allreduce on
    ``netsim.topology.ring`` / ``star`` (skipped if those are not importable).

The ring pattern is driven by minimal SimPy rank processes (the real collective
lives in ``netsim.collectives``): each rank, for ``2 (p - 1)`` steps, sends one
chunk to its right neighbour and waits for the chunk from its left neighbour.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import sys
import time
from pathlib import Path

import networkx as nx
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netsim.network import FlowNetwork, make_network  # noqa: E402

BANDWIDTH = 12.5e9  # bytes/s (100 Gbps)
LATENCY = 1e-6  # s per link
GIB = 2.0**30


class ShortestPathRouter:
    """Routes along ``networkx.shortest_path`` (hop count)."""

    def __init__(self, graph: nx.Graph):
        self.graph = graph

    def path(self, src, dst):
        return nx.shortest_path(self.graph, src, dst)


class NeighbourRouter:
    """Direct routes between ring neighbours (avoids a BFS per route on big rings)."""

    def path(self, src, dst):
        return (src, dst)


def ring_graph(p: int) -> nx.Graph:
    g = nx.Graph(hosts=[f"h{i}" for i in range(p)])
    for i in range(p):
        g.add_node(f"h{i}", kind="host")
    for i in range(p):
        g.add_edge(f"h{i}", f"h{(i + 1) % p}", bandwidth=BANDWIDTH, latency=LATENCY)
    return g


def star_graph(p: int) -> nx.Graph:
    g = nx.Graph(hosts=[f"h{i}" for i in range(p)])
    g.add_node("s0", kind="switch")
    for i in range(p):
        g.add_node(f"h{i}", kind="host")
        g.add_edge(f"h{i}", "s0", bandwidth=BANDWIDTH, latency=LATENCY)
    return g


def ring_pattern(env: simpy.Environment, net, hosts: list, nbytes: float) -> None:
    """Start the rank processes of a ring allreduce's communication pattern."""
    p = len(hosts)
    chunk = nbytes / p
    steps = 2 * (p - 1)
    boxes: list[dict[int, simpy.Event]] = [{} for _ in range(p)]

    def slot(rank: int, step: int) -> simpy.Event:
        box = boxes[rank]
        event = box.pop(step, None)
        if event is None:
            event = box[step] = env.event()
        return event

    def run_rank(rank: int):
        right = (rank + 1) % p
        src, dst = hosts[rank], hosts[right]
        transfer = net.transfer
        for step in range(steps):
            transfer(src, dst, chunk, event=slot(right, step))
            yield slot(rank, step)

    for rank in range(p):
        env.process(run_rank(rank))


def run_ring_case(
    label: str, graph: nx.Graph, router, nbytes: float, profile: bool = False
) -> None:
    env = simpy.Environment()
    net = make_network("flow", env, graph, router)
    hosts = graph.graph["hosts"]
    p = len(hosts)
    ring_pattern(env, net, hosts, nbytes)
    profiler = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    env.run()
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    flows = net.flows_completed
    hops = len(net.route(hosts[0], hosts[1]).links)
    ideal = 2 * (p - 1) * (hops * LATENCY + nbytes / p / BANDWIDTH)
    print(
        f"{label:<28} p={p:<5} flows={flows:>9,}  wall={wall:7.2f} s  sim={env.now * 1e3:8.3f} ms "
        f"(alpha-beta {ideal * 1e3:8.3f} ms)  {flows / wall:>9,.0f} flows/s "
        f"({flows / cpu:,.0f} per CPU s)  solves={net.solves}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def run_incast(n: int, staggered: bool) -> tuple[float, int]:
    graph = star_graph(n + 1)
    env = simpy.Environment()
    net = FlowNetwork(env, graph, ShortestPathRouter(graph))
    hosts = graph.graph["hosts"]
    sink = hosts[n]
    for i in range(n):  # warm the route cache outside the timing
        net.route(hosts[i], sink)
    start = time.perf_counter()
    for i in range(n):
        size = 1e6 * (1 + i / n) if staggered else 1e6
        net.transfer(hosts[i], sink, size)
    env.run()
    return time.perf_counter() - start, net.solves


def run_collective_case(label: str, topology: str, p: int) -> None:
    """The real ``ring_allreduce`` collective (``netsim.collectives``), if available."""
    try:
        from netsim.collectives import simulate_collective
        from netsim.topology import ring, star
    except ImportError as exc:  # the collectives are written concurrently
        print(f"{label:<28} skipped ({exc})")
        return
    graph = (ring if topology == "ring" else star)(p, BANDWIDTH, LATENCY)
    start, cpu = time.perf_counter(), time.process_time()
    run = simulate_collective(graph, "ring_allreduce", nbytes=GIB, ranks=p)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    flows = run.network.flows_completed
    print(
        f"{label:<28} p={p:<5} flows={flows:>9,}  wall={wall:7.2f} s  sim={run.time * 1e3:8.3f} ms  "
        f"{flows / wall:>9,.0f} flows/s ({flows / cpu:,.0f} per CPU s; whole simulate_collective call)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="p = 128 and smaller incasts")
    parser.add_argument("--profile", action="store_true", help="cProfile the ring case")
    parser.add_argument("-p", type=int, default=None, help="number of hosts for (a) and (b)")
    args = parser.parse_args(argv)
    p = args.p or (128 if args.quick else 1024)
    print(
        f"flow model, link {BANDWIDTH * 8 / 1e9:g} Gbps, {LATENCY * 1e6:g} us per link, 1 GiB ring allreduce"
    )
    ring = ring_graph(p)
    run_ring_case("(a) ring allreduce / ring", ring, NeighbourRouter(), GIB, args.profile)
    if not args.profile:
        star = star_graph(p)
        run_ring_case("(b) ring allreduce / star", star, ShortestPathRouter(star), GIB)
        sizes = (64, 128, 256) if args.quick else (256, 512, 1024)
        run_incast(64, staggered=True)  # warm-up (imports, first NumPy calls)
        print("(c) N-to-1 incast on a star (all flows start at t = 0)")
        for staggered in (False, True):
            kind = "staggered sizes" if staggered else "equal sizes    "
            for n in sizes:
                wall, solves = run_incast(n, staggered)
                per_flow = wall / n
                ratio = wall / (n * math.log2(n))
                print(
                    f"    {kind} N={n:<5} wall={wall * 1e3:8.2f} ms  per flow={per_flow * 1e6:8.2f} us  "
                    f"wall/(N lg N)={ratio * 1e9:8.1f} ns  solves={solves}"
                )
        for topology in ("ring", "star"):
            run_collective_case(f"(d) collectives / {topology}", topology, p)


if __name__ == "__main__":
    main()
