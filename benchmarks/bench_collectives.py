"""Speed of every allreduce algorithm at scale (size-only payloads, flow model).

Prints, per algorithm: ranks, simulated time, wall time, flows completed and flow
completions per wall second (and per CPU second of this process, which other load on
the machine disturbs less), for a 1 GiB allreduce on a 1,024-host star, through the
whole ``simulate_collective`` call (network and communicator set-up included). Target:
at least 300,000 flow completions per wall second for ring and double binary tree.

Size-only collectives run on the dataflow engine by default
(:mod:`netsim.collectives.engine`); ``--engine generators`` times the reference SPMD
generators instead, and ``--compare`` runs both and prints the speed-up (the simulated
times are checked to be equal).

``--chunks 8,32,128`` instead times the double binary tree at those chunk counts: the
more chunks, the more its flows overlap in one connected component, which is what the
flow model's incremental max-min (:mod:`netsim.network.local_maxmin`) is for; it
prints solves and flows solved per solve, and ``--whole-component`` adds the same runs
with every solve over the whole component (the solver before the incremental one).

Usage: ``python benchmarks/bench_collectives.py [--hosts N] [--size 1GiB] [--only a,b]
[--engine auto|callbacks|generators] [--compare] [--no-gc-freeze]
[--chunks 8,32,128 [--whole-component]]`` (``--quick`` = 256 hosts). Each run starts after a full garbage collection and, unless ``--no-gc-freeze``,
with the older objects frozen (:func:`gc.freeze`), as the header line says.
"""

from __future__ import annotations

import argparse
import gc
import time

import netsim.network.local_maxmin as local_maxmin
from netsim.collectives import algorithms, simulate_collective
from netsim.collectives.engine import ENGINES, use_engine
from netsim.topology import star
from netsim.units import format_time, parse_size

TARGET = 300_000


def measure(graph, name: str, nbytes: float, engine_name: str, freeze: bool = True, **options):
    """One run: (run, wall seconds, CPU seconds).

    A full garbage collection first, so that every run starts from the same collector
    state. With ``freeze`` (the default; ``--no-gc-freeze`` turns it off) the objects
    that exist before the run (modules, the topology) are then moved out of the
    collector's sight with :func:`gc.freeze` for the duration of the run: the run's own
    objects are still collected as usual, but a full collection during the run does not
    rescan the rest of the process's heap (~0.1 s here, a cost that depends on what
    else the process holds, not on the simulation).
    """
    gc.collect()
    if freeze:
        gc.freeze()
    try:
        with use_engine(engine_name):
            wall, cpu = time.perf_counter(), time.process_time()
            run = simulate_collective(graph, name, nbytes=nbytes, **options)
            return run, time.perf_counter() - wall, time.process_time() - cpu
    finally:
        if freeze:
            gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1024)
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--only", default="", help="comma-separated algorithm names")
    parser.add_argument("--quick", action="store_true", help="256 hosts")
    parser.add_argument("--engine", default="auto", choices=ENGINES, help="collective engine (default auto)")
    parser.add_argument("--compare", action="store_true", help="also run the reference generators")
    parser.add_argument(
        "--no-gc-freeze",
        dest="freeze",
        action="store_false",
        help="let full garbage collections during a run rescan the objects made before it",
    )
    parser.add_argument("--chunks", default="", help="comma-separated chunk counts: double binary tree only")
    parser.add_argument(
        "--whole-component", action="store_true", help="with --chunks: also solve whole components"
    )
    args = parser.parse_args()
    hosts = 256 if args.quick else args.hosts
    nbytes = parse_size(args.size)
    wanted = [n for n in args.only.split(",") if n]
    graph = star(hosts, "100Gbps", "2us")
    if args.chunks:
        chunk_scaling(graph, hosts, args, nbytes)
        return
    engines = ["generators", args.engine] if args.compare else [args.engine]
    print(
        f"allreduce of {args.size} on a {hosts}-host star (100 Gbps, 2 us), flow model, size-only"
    )
    print(
        "gc: full collection before each run, then "
        + (
            "gc.freeze() of the objects made before it (--no-gc-freeze to rescan them)"
            if args.freeze
            else "no freeze (full collections rescan the whole heap)"
        )
    )
    print(
        f"{'algorithm':<22}{'engine':>11}{'ranks':>7}{'sim time':>14}{'wall s':>9}{'flows':>11}"
        f"{'flows/s':>12}{'per CPU s':>12}  target"
    )
    for name in algorithms("allreduce"):
        if wanted and name not in wanted:
            continue
        times = []
        rates = []
        for engine_name in engines:
            run, wall, cpu = measure(graph, name, nbytes, engine_name, args.freeze)
            flows = run.network.flows_completed
            rate = flows / wall if wall > 0 else float("inf")
            per_cpu = flows / cpu if cpu > 0 else float("inf")
            times.append(run.time)
            rates.append(rate)
            mark = ""
            if name in ("ring_allreduce", "double_binary_tree") and engine_name != "generators":
                mark = "ok" if rate >= TARGET else f"below {TARGET:,}"
            print(
                f"{name:<22}{engine_name:>11}{run.comm.size:>7}{format_time(run.time, 5):>14}{wall:>9.2f}"
                f"{flows:>11,}{rate:>12,.0f}{per_cpu:>12,.0f}  {mark}"
            )
        if len(times) == 2:
            same = "identical simulated time" if times[0] == times[1] else f"SIMULATED TIMES DIFFER: {times}"
            print(f"{'':<22}{'speed-up':>11}{rates[1] / rates[0]:>7.2f}x  ({same})")


def chunk_scaling(graph, hosts: int, args, nbytes: float) -> None:
    """Double binary tree at several chunk counts: wall time, flows/s, solver work."""
    chunk_counts = [int(c) for c in args.chunks.split(",") if c]
    solvers = ["incremental", "whole"] if args.whole_component else ["incremental"]
    print(f"double binary tree allreduce of {args.size} on a {hosts}-host star (100 Gbps, 2 us), flow model, size-only")
    print(
        f"{'chunks':>7}{'solver':>13}{'sim time':>14}{'wall s':>9}{'flows':>11}{'flows/s':>12}"
        f"{'solves':>9}{'flows/solve':>13}"
    )
    start_limit = local_maxmin.START_LIMIT
    for chunks in chunk_counts:
        for solver in solvers:
            local_maxmin.START_LIMIT = start_limit if solver == "incremental" else -1
            try:
                run, wall, _ = measure(graph, "double_binary_tree", nbytes, args.engine, args.freeze, chunks=chunks)
            finally:
                local_maxmin.START_LIMIT = start_limit
            net = run.network
            flows = net.flows_completed
            per_solve = net.solved_flows / net.solves if net.solves else 0.0
            print(
                f"{chunks:>7}{solver:>13}{format_time(run.time, 5):>14}{wall:>9.2f}{flows:>11,}"
                f"{flows / wall:>12,.0f}{net.solves:>9,}{per_solve:>13,.1f}"
            )


if __name__ == "__main__":
    main()
