"""Closed forms: a collective alone on its links, run once per flow and cached.

A collective whose links carry nothing else during the step is not slowed by any other
traffic (max-min components on disjoint links do not interact), so its time is the time
it takes alone. :class:`ClosedForm` runs it alone, per flow, on the flow model, once per
*route signature* (its transfers' routes with links renumbered by first use, with their
capacities and latencies: isomorphic groups give identical runs) and message size.

Examples
--------
>>> import simpy
>>> from netsim.collectives import get_algorithm
>>> from netsim.network import make_network
>>> from netsim.topology import Router, star
>>> g = star(4, 1e9, 1e-6)
>>> router = Router(g)
>>> cf = ClosedForm(g, router, make_network("flow", simpy.Environment(), g, router))
>>> hosts = ["h0", "h1", "h2", "h3"]
>>> sig, links = cf.signature(hosts, [(0, 1), (1, 2), (2, 3), (3, 0)])
>>> run = cf.run(hosts, sig, links, get_algorithm("ring_allreduce"), {}, 4e6)
>>> round(run.time, 9) == round(2 * 3 * 2e-6 + 2 * 3 / 4 * 4e6 / 1e9, 9), run.symmetric
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import simpy

from netsim.collectives import Algorithm, Communicator
from netsim.network import make_network

__all__ = ["ClosedForm", "IsolatedRun"]


@dataclass
class IsolatedRun:
    """One collective run alone (closed form)."""

    time: float
    symmetric: bool
    bytes_sent: float
    member_bytes: list[float]
    link_bytes: list[float]
    link_busy: list[float]
    link_flows: list[int]


class ClosedForm:
    """Isolated per-flow runs of collectives, cached by the route signature of the group."""

    def __init__(self, graph, router, analysis):
        self.graph, self.router, self.analysis = graph, router, analysis
        self._runs: dict = {}

    def signature(self, hosts: Sequence, pairs: Sequence[tuple[int, int]]) -> tuple[tuple, list[int]]:
        """``(signature, links)``: routes of ``pairs`` with links renumbered by first use; ``links[i]`` is link ``i``."""
        order: dict[int, int] = {}
        caps, lats = self.analysis.capacity, self.analysis.latency
        sig = []
        for a, b in pairs:
            route = self.analysis.route(hosts[a], hosts[b])
            sig.append(tuple((order.setdefault(link, len(order)), caps[link], lats[link]) for link in route.links))
        return tuple(sig), list(order)

    def run(self, hosts: Sequence, signature: tuple, links: list[int], algorithm: Algorithm, options: dict, nbytes: float) -> IsolatedRun:
        """Run ``algorithm`` alone on ``hosts`` (all members start at 0), cached by ``signature``."""
        key = (signature, algorithm.name, tuple(sorted(options.items())), nbytes)
        cached = self._runs.get(key)
        if cached is not None:
            return cached
        env = simpy.Environment()
        network = make_network("flow", env, self.graph, self.router)
        comm = Communicator(env, network, list(hosts))
        finish = [0.0] * comm.size

        def member(rank):
            yield from algorithm.run(comm, rank, None, nbytes, **options)
            finish[rank] = env.now

        for rank in range(comm.size):
            env.process(member(rank))
        env.run()
        end = max(finish)
        nb, busy, flows = network.link_bytes(), network.link_busy_time(), network.link_flows()
        run = IsolatedRun(
            time=end,
            symmetric=end - min(finish) <= 1e-12 * end,
            bytes_sent=float(sum(comm.bytes_sent)),
            member_bytes=[float(b) for b in comm.bytes_sent],
            link_bytes=[float(nb[link]) for link in links],
            link_busy=[float(busy[link]) for link in links],
            link_flows=[int(flows[link]) for link in links],
        )
        self._runs[key] = run
        return run


