"""Speed of every allreduce algorithm at scale (size-only payloads, flow model).

Prints, per algorithm: ranks, simulated time, wall time, flows completed and flow
completions per wall second, for a 1 GiB allreduce on a 1,024-host star. Target: at
least 300,000 flow completions per wall second for ring and double binary tree.

Usage: ``python benchmarks/bench_collectives.py [--hosts N] [--size 1GiB] [--only a,b]``
(``--quick`` = 256 hosts).
"""

from __future__ import annotations

import argparse
import time

from netsim.collectives import algorithms, simulate_collective
from netsim.topology import star
from netsim.units import format_time, parse_size

TARGET = 300_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1024)
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--only", default="", help="comma-separated algorithm names")
    parser.add_argument("--quick", action="store_true", help="256 hosts")
    args = parser.parse_args()
    hosts = 256 if args.quick else args.hosts
    nbytes = parse_size(args.size)
    wanted = [n for n in args.only.split(",") if n]
    graph = star(hosts, "100Gbps", "2us")
    print(
        f"allreduce of {args.size} on a {hosts}-host star (100 Gbps, 2 us), flow model, size-only"
    )
    print(
        f"{'algorithm':<22}{'ranks':>7}{'sim time':>14}{'wall s':>9}{'flows':>11}{'flows/s':>12}  target"
    )
    for name in algorithms("allreduce"):
        if wanted and name not in wanted:
            continue
        started = time.perf_counter()
        run = simulate_collective(graph, name, nbytes=nbytes)
        wall = time.perf_counter() - started
        flows = run.network.flows_completed
        rate = flows / wall if wall > 0 else float("inf")
        mark = ""
        if name in ("ring_allreduce", "double_binary_tree"):
            mark = "ok" if rate >= TARGET else f"below {TARGET:,}"
        ranks = run.comm.size
        print(
            f"{name:<22}{ranks:>7}{format_time(run.time, 5):>14}{wall:>9.2f}{flows:>11,}{rate:>12,.0f}  {mark}"
        )


if __name__ == "__main__":
    main()
