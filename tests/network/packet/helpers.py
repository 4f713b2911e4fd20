"""Shared builders of the packet-model tests: networks, runs and Jain's fairness index."""

from __future__ import annotations

import simpy

from netsim.network import PacketNetwork
from netsim.transport import make_transport
from tests.network.network_helpers import SPRouter, line, star

__all__ = ["build", "run_transfers", "jain", "line", "star", "incast", "make_transport"]


def build(graph, transport="ideal", **options):
    """(env, PacketNetwork) over `graph` with a shortest-path router."""
    env = simpy.Environment()
    if isinstance(transport, str):
        transport = make_transport(transport)
    return env, PacketNetwork(env, graph, SPRouter(graph), transport=transport, **options)


def run_transfers(env, net, transfers):
    """Start ``(src, dst, nbytes)`` transfers at t = 0, run, return their delivery times."""
    times = [None] * len(transfers)

    def watch(i, event):
        yield event
        times[i] = env.now

    for i, (src, dst, nbytes) in enumerate(transfers):
        env.process(watch(i, net.transfer(src, dst, nbytes, value=i)))
    env.run()
    return times


def incast(transport, senders=16, nbytes=200_000, bandwidth=1.25e9, latency=2e-6, **options):
    """`senders` hosts of a star send `nbytes` each to one more host: (net, times)."""
    graph = star(senders + 1, bandwidth, latency)
    env, net = build(graph, transport, **options)
    target = f"h{senders}"
    times = run_transfers(env, net, [(f"h{i}", target, nbytes) for i in range(senders)])
    return net, times


def jain(values):
    """Jain's fairness index ``(Σx)² / (n·Σx²)``: 1 when all equal."""
    total = sum(values)
    return total * total / (len(values) * sum(v * v for v in values))
