"""Shared pieces of the fault tests: small topologies, one transfer under faults, scenario documents."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx
import numpy as np

from netsim.faults import build_faults, parse_faults
from netsim.guards import TrackedEnvironment, run_guarded
from netsim.network import FlowNetwork
from netsim.topology import Router

B = 1e9  # bytes/s of a fast link
L = 1e-6  # s, one-way latency of every link


def _graph(edges, hosts) -> nx.Graph:
    graph = nx.Graph()
    for node in hosts:
        graph.add_node(node, kind="host")
    for u, v, bandwidth in edges:
        for node in (u, v):
            if node not in graph:
                graph.add_node(node, kind="switch")
        graph.add_edge(u, v, bandwidth=bandwidth, latency=L)
    graph.graph["hosts"] = list(hosts)
    return graph


def leaf_spine(slow: float = B / 2) -> nx.Graph:
    """h0 - l0 = {sa | sb} = l1 - h1: two spines; the path through ``sb`` runs at ``slow`` bytes/s.

    Routes prefer ``sa`` (added first): h0 → h1 is h0, l0, sa, l1, h1 (4 hops, 4 µs, B).
    """
    edges = [("h0", "l0", B), ("l1", "h1", B), ("l0", "sa", B), ("sa", "l1", B), ("l0", "sb", slow), ("sb", "l1", slow)]
    return _graph(edges, ["h0", "h1"])


def star(hosts: int = 2) -> nx.Graph:
    """Hosts h0 … around one switch s0, every link B and L."""
    return _graph([(f"h{i}", "s0", B) for i in range(hosts)], [f"h{i}" for i in range(hosts)])


def run_transfers(graph: nx.Graph, faults: list[dict], transfers: list[tuple], model: str = "flow", seed: int = 0):
    """Run ``transfers`` = [(src, dst, nbytes, start_s), ...] under ``faults``; return (deliveries, network, injector).

    ``deliveries[i]`` is the simulated time transfer ``i`` was delivered.
    """
    env = TrackedEnvironment()
    network = FlowNetwork(env, graph, Router(graph))
    scenario = SimpleNamespace(
        faults=parse_faults(faults),
        network=SimpleNamespace(model=model),
        training=SimpleNamespace(checkpoint_every=None, checkpoint_host=None),
    )
    injector = build_faults(scenario, env, network, graph, None, SimpleNamespace(workers=0), None, np.random.SeedSequence(seed))
    deliveries: dict[int, float] = {}

    def send(index, src, dst, nbytes, start):
        if start:
            yield env.timeout(start)
        yield network.transfer(src, dst, nbytes)
        deliveries[index] = env.now

    processes = [env.process(send(i, *t)) for i, t in enumerate(transfers)]
    injector.arm(processes)
    run_guarded(env)
    return [deliveries[i] for i in range(len(transfers))], network, injector


def link_bytes(network, u, v) -> float:
    """Bytes that crossed the directed link ``u → v``."""
    return float(network.link_bytes()[network.link_index[(u, v)]])


def training(**overrides) -> dict:
    """A small BSP job on a 5-host star (4 workers, h4 stores checkpoints) with a fixed 100 µs step compute."""
    document = {
        "seed": 3,
        "topology": {"kind": "star", "hosts": 5, "bandwidth": "1GB/s", "latency": "1us"},
        "training": {"steps": 20, "workers": 4, "samples": 1024},
        "compute": {"step_time": "100us"},
    }
    for key, value in overrides.items():
        table, _, name = key.partition("__")
        if name:
            document.setdefault(table, {})[name] = value
        else:
            document[table] = value
    return document


def ring_step(p: int, nbytes: float, compute: float = 100e-6) -> float:
    """One lock-step BSP step on the star: compute + ring allreduce ``2(p−1)(2L + n/(pB))`` (s)."""
    return compute + 2 * (p - 1) * (2 * L + nbytes / p / B)
