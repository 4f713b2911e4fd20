"""Run one collective on its own, outside a training job (tests, microbenchmarks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import simpy

from netsim.collectives.comm import Communicator
from netsim.collectives.registry import get_algorithm
from netsim.network import make_network
from netsim.topology import Router

__all__ = ["CollectiveRun", "simulate_collective"]


@dataclass
class CollectiveRun:
    """Outcome of one simulated collective.

    Attributes
    ----------
    time : float
        Simulated seconds from the start until the last rank finished.
    outputs : list
        What each rank's generator returned (rank order; for a parameter server the
        server's reply is last).
    finish_times : list of float
        Simulated second at which each rank finished.
    network : netsim.network.Network
        The network after the run (link counters).
    comm : Communicator
        The communicator (bytes sent per rank).
    """

    time: float
    outputs: list
    finish_times: list[float]
    network: object
    comm: Communicator


def simulate_collective(
    graph: nx.Graph,
    algorithm: str,
    data: Sequence[np.ndarray] | None = None,
    nbytes: float | None = None,
    *,
    ranks: int | None = None,
    model: str = "flow",
    routing: str = "shortest",
    seed: int = 0,
) -> CollectiveRun:
    """Simulate one collective on ``graph`` and return its time and outputs.

    Parameters
    ----------
    graph : networkx.Graph
        A topology (see :mod:`netsim.topology`).
    algorithm : str
        A name from :data:`netsim.collectives.ALGORITHMS` (or an alias).
    data : sequence of numpy.ndarray, optional
        One vector per worker (``None`` for size-only, then ``nbytes`` is required).
    nbytes : float, optional
        Bytes per worker vector on the wire (defaults to the arrays' size).
    ranks : int, optional
        Number of workers; defaults to ``len(data)``, else all hosts (all but the last
        host for a parameter server, which uses the last host as its server).
    model : str
        Network model name (``"flow"`` or ``"analytic"``).
    routing, seed
        Routing mode and seed for ECMP.

    Returns
    -------
    CollectiveRun
    """
    algo = get_algorithm(algorithm)
    hosts = list(graph.graph["hosts"])
    extra = 1 if algo.kind == "parameter_server" else 0
    workers = len(data) if data is not None else (ranks if ranks is not None else len(hosts) - extra)
    if workers < 1 or workers + extra > len(hosts):
        raise ValueError(f"{algorithm} with {workers} workers needs {workers + extra} hosts; the topology has {len(hosts)}")
    env = simpy.Environment()
    network = make_network(model, env, graph, Router(graph, mode=routing, seed=seed))
    placement = hosts[:workers] + ([hosts[-1]] if extra else [])
    comm = Communicator(env, network, placement)
    outputs: list = [None] * comm.size
    finish = [0.0] * comm.size

    def rank_process(rank: int):
        vector = None if data is None or rank >= workers else data[rank]
        if algo.kind == "parameter_server":
            size = nbytes if nbytes is not None else (data[0].nbytes if data is not None else None)
            result = yield from algo.run(comm, rank, vector, size, server=workers)
        else:
            result = yield from algo.run(comm, rank, vector, nbytes)
        outputs[rank] = result
        finish[rank] = env.now

    for rank in range(comm.size):
        env.process(rank_process(rank))
    env.run()
    return CollectiveRun(max(finish), outputs, finish, network, comm)
