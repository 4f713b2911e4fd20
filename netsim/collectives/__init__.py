"""Collective algorithms and parameter servers: SPMD SimPy generators moving real arrays.

Each algorithm is a generator ``run(comm, rank, data=None, nbytes=None, **options)`` that
every rank of a :class:`Communicator` runs; it sends with the network's ``transfer()``
only and returns this rank's result (``None`` for size-only payloads). Algorithms are
registered by the module that defines them (``REGISTER``) and looked up by name with
:func:`get_algorithm`; :data:`~netsim.collectives.algorithm.OPERATIONS` documents what
each operation takes and returns.

Size-only ring allreduce and double binary tree calls run on a faster, bit-identical
*dataflow* engine (callback state machines instead of one generator resumption per
message); :mod:`~netsim.collectives.engine` selects it (``use_engine("generators")`` forces
the reference generators).
"""

from netsim.collectives.algorithm import OPERATIONS, Algorithm
from netsim.collectives.comm import Communicator
from netsim.collectives.engine import ENGINES, get_engine, set_engine, use_engine
from netsim.collectives.measure import CollectiveRun, simulate_collective
from netsim.collectives.parameter_server import parameter_server
from netsim.collectives.registry import algorithm_names, algorithms, get_algorithm
from netsim.collectives.ring import ring_allreduce

__all__ = [
    "OPERATIONS",
    "Algorithm",
    "CollectiveRun",
    "Communicator",
    "ENGINES",
    "algorithm_names",
    "algorithms",
    "get_algorithm",
    "get_engine",
    "parameter_server",
    "ring_allreduce",
    "set_engine",
    "simulate_collective",
    "use_engine",
]
