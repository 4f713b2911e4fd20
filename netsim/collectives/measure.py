"""Run one collective on its own, outside a training job (tests, microbenchmarks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import simpy

from netsim.collectives.comm import Communicator
from netsim.collectives.placement import place_ranks
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
        What each rank's generator returned, in rank order (for a parameter server the
        server ranks come after the workers).
    finish_times : list of float
        Simulated second at which each rank finished.
    network : netsim.network.Network
        The network after the run (link counters).
    comm : Communicator
        The communicator (bytes and messages sent per rank).
    """

    time: float
    outputs: list
    finish_times: list[float]
    network: object
    comm: Communicator


def simulate_collective(
    graph: nx.Graph,
    algorithm: str,
    data: Sequence[np.ndarray | None] | None = None,
    nbytes: float | None = None,
    *,
    ranks: int | None = None,
    model: str = "flow",
    routing: str = "shortest",
    seed: int = 0,
    transport=None,
    **options,
) -> CollectiveRun:
    """Simulate one collective on ``graph`` and return its time and outputs.

    Parameters
    ----------
    graph : networkx.Graph
        A topology (see :mod:`netsim.topology`); rank ``r`` runs on host ``r``.
    algorithm : str
        A registered algorithm name or alias (see ``netsim list algorithms``).
    data : sequence of (numpy.ndarray or None), optional
        One entry per worker rank, as the operation expects (see
        :data:`netsim.collectives.OPERATIONS`); ``None`` for size-only payloads.
    nbytes : float, optional
        Bytes of the full vector ``n``; required for size-only payloads.
    ranks : int, optional
        Number of worker ranks; defaults to ``len(data)``, else every host (parameter
        servers keep their dedicated server hosts, the last ones, apart; see
        :func:`~netsim.collectives.placement.place_ranks` and the ``servers`` and
        ``colocated`` options).
    model : str
        Network model name (``"flow"``, ``"analytic"`` or ``"packet"``).
    routing, seed
        Routing mode and the seed of ECMP choices (and of the packet model's losses).
    transport : TransportProfile or str, optional
        Transport profile (:func:`netsim.transport.make_transport`) or its name; default
        ``ideal``.
    **options
        Passed to the algorithm (e.g. ``root=0``, ``chunks=8``, ``group_size=4``).

    Returns
    -------
    CollectiveRun
    """
    algo = get_algorithm(algorithm, field="algorithm")
    hosts = list(graph.graph["hosts"])
    servers = int(options.get("servers", 1)) if algo.kind == "parameter_server" else 0
    colocated = bool(options.get("colocated", False))
    if algo.kind == "parameter_server" and "servers" not in algo.options:
        options.pop("servers", None)
        options.pop("colocated", None)
    default_workers = len(hosts) - (0 if colocated else servers)
    workers = len(data) if data is not None else (ranks if ranks is not None else default_workers)
    placement = place_ranks(algo, hosts, workers, servers=servers, colocated=colocated)
    if nbytes is None and data is not None:
        present = [d for d in data if d is not None]
        if algo.operation in ("all_gather", "gather"):
            nbytes = float(sum(d.nbytes for d in present))
        elif present:
            nbytes = float(present[0].nbytes)
    env = simpy.Environment()
    if isinstance(transport, str):
        from netsim.transport import make_transport

        transport = make_transport(transport)
    network = make_network(model, env, graph, Router(graph, mode=routing, seed=seed), transport=transport)
    comm = Communicator(env, network, placement)
    outputs: list = [None] * comm.size
    finish = [0.0] * comm.size
    if algo.kind == "parameter_server":
        options.setdefault("server", workers)

    def rank_process(rank: int):
        vector = None if data is None or rank >= workers else data[rank]
        outputs[rank] = yield from algo.run(comm, rank, vector, nbytes, **options)
        finish[rank] = env.now

    for rank in range(comm.size):
        env.process(rank_process(rank))
    env.run()
    return CollectiveRun(max(finish), outputs, finish, network, comm)
