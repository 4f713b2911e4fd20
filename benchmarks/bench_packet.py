"""Speed of the packet network model: frame-hop events per wall second.

Two cases, each on a star (one switch, store and forward), for several transports:

* **incast**: 16 senders each send ``--incast-size`` bytes to one more host at t = 0
  (10 Gbps links, 2 us, a 256 KiB switch buffer: TCP drops and recovers, RoCEv2
  pauses, UDP loses);
* **ring**: a ring allreduce of ``--ring-size`` bytes over 16 hosts (100 Gbps, 2 us),
  size-only payloads, through the collective API (``netsim.collectives``).

A frame-hop is one frame (data or control) crossing one link: the unit of the model's
work. Target: at least 300,000 frame-hops per wall second on both cases. The figure in
brackets is per CPU second of this process (less disturbed by other load).

Usage: ``python benchmarks/bench_packet.py [--quick] [--transports tcp,rocev2]``.
"""

from __future__ import annotations

import argparse
import time

import simpy

from netsim.collectives import get_algorithm
from netsim.collectives.comm import Communicator
from netsim.network import PacketNetwork
from netsim.topology import Router, star
from netsim.transport import make_transport
from netsim.units import format_time, parse_size

TARGET = 300_000


def timed(env: simpy.Environment) -> tuple[float, float]:
    """Run `env` to the end: (wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    env.run()
    return time.perf_counter() - wall, time.process_time() - cpu


def incast(transport: str, nbytes: float) -> tuple[PacketNetwork, float, float, float]:
    graph = star(17, "10Gbps", "2us")
    hosts = list(graph.graph["hosts"])
    env = simpy.Environment()
    tp = make_transport(transport, min_rto="1ms") if transport == "tcp" else make_transport(transport)
    net = PacketNetwork(env, graph, Router(graph), transport=tp, buffer=256 * 1024)
    for host in hosts[:16]:
        net.transfer(host, hosts[16], nbytes)
    wall, cpu = timed(env)
    return net, env.now, wall, cpu


def ring(transport: str, nbytes: float) -> tuple[PacketNetwork, float, float, float]:
    graph = star(16, "100Gbps", "2us")
    env = simpy.Environment()
    net = PacketNetwork(env, graph, Router(graph), transport=make_transport(transport))
    comm = Communicator(env, net, list(graph.graph["hosts"]))
    algo = get_algorithm("ring_allreduce")
    finish = [0.0] * comm.size

    def rank(r: int):
        yield from algo.run(comm, r, None, nbytes)
        finish[r] = env.now

    for r in range(comm.size):
        env.process(rank(r))
    wall, cpu = timed(env)
    return net, max(finish), wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incast-size", default="4MB")
    parser.add_argument("--ring-size", default="32MiB")
    parser.add_argument("--transports", default="tcp,rocev2,udp")
    parser.add_argument("--quick", action="store_true", help="1 MB incast, 8 MiB ring")
    args = parser.parse_args()
    incast_size = parse_size("1MB" if args.quick else args.incast_size)
    ring_size = parse_size("8MiB" if args.quick else args.ring_size)
    transports = [t for t in args.transports.split(",") if t]
    print(
        f"{'case':<8}{'transport':<10}{'sim time':>14}{'frame-hops':>12}{'wall s':>9}"
        f"{'hops/s':>11}{'(per CPU s)':>14}  target"
    )
    for case, run, size in (("incast", incast, incast_size), ("ring", ring, ring_size)):
        for transport in transports:
            if case == "ring" and transport == "udp":
                continue  # a lossless size-only ring is what rocev2 shows
            net, sim, wall, cpu = run(transport, size)
            hops = net.frame_hops
            rate = hops / wall if wall > 0 else float("inf")
            per_cpu = hops / cpu if cpu > 0 else float("inf")
            mark = "ok" if rate >= TARGET else f"below {TARGET:,}"
            print(
                f"{case:<8}{transport:<10}{format_time(sim, 5):>14}{hops:>12,}{wall:>9.2f}"
                f"{rate:>11,.0f}{f'({per_cpu:,.0f})':>14}  {mark}"
            )
            stats = net.packet_stats()
            print(
                f"{'':<18}drops {stats['frames_dropped']:,}, retransmitted "
                f"{stats['bytes_retransmitted']:,.0f} B, timeouts {stats['timeouts']}, "
                f"pauses {stats['pauses']:,}"
            )


if __name__ == "__main__":
    main()
