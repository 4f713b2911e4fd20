"""Collective algorithms and parameter servers: SPMD SimPy generators moving real arrays.

Each algorithm is a generator ``run(comm, rank, data=None, nbytes=None, ...)`` that every
rank of a :class:`Communicator` runs; it sends with the network's ``transfer()`` only and
returns the reduced vector (``None`` for size-only payloads).
"""

from netsim.collectives.comm import Communicator
from netsim.collectives.measure import CollectiveRun, simulate_collective
from netsim.collectives.parameter_server import parameter_server
from netsim.collectives.registry import ALGORITHMS, Algorithm, algorithm_names, get_algorithm
from netsim.collectives.ring import ring_allreduce

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "CollectiveRun",
    "Communicator",
    "algorithm_names",
    "get_algorithm",
    "parameter_server",
    "ring_allreduce",
    "simulate_collective",
]
