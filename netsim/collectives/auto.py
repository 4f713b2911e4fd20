"""``auto``: choose an allreduce algorithm by message size and rank count, as MPICH and NCCL do.

Every rank evaluates the same table on the same ``(n, p)``, so all ranks pick the same
algorithm (SPMD-safe). The table (``n`` = bytes of the vector, ``p`` = ranks):

=================================  ======================  ==========================================
condition                          algorithm               why
=================================  ======================  ==========================================
``p == 1``                         ``ring_allreduce``      nothing to send
``n <= 64 KiB``                    ``recursive_doubling``  latency-bound: ``⌈lg p⌉`` message rounds
``64 KiB < n <= 8 MiB``, p = 2^k   ``rabenseifner``        ``2 lg p`` rounds and the optimal
                                                           bandwidth term ``2((p−1)/p)nβ``
``64 KiB < n <= 8 MiB``, other p   ``ring_allreduce``      the fold that handles a non-power of two
                                                           costs Rabenseifner about 1.8× its
                                                           bandwidth term (measured), the ring none
``n > 8 MiB``                      ``ring_allreduce``      bandwidth-optimal, neighbour-only traffic
                                                           (no contention on rings and trees), and
                                                           its ``2(p−1)α`` is negligible at this size
=================================  ======================  ==========================================

The thresholds follow MPICH's defaults for ``MPI_Allreduce`` in spirit (short messages by
recursive doubling, long ones by a reduce-scatter/all-gather pair) and NCCL's switch to
rings for large buffers. :func:`choose` exposes the decision.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import payload_nbytes
from netsim.collectives.comm import Communicator

__all__ = ["choose", "auto_allreduce", "REGISTER", "SMALL_MESSAGE", "LARGE_MESSAGE"]

SMALL_MESSAGE = 64 * 2**10
"""Bytes up to which ``auto`` uses recursive doubling."""
LARGE_MESSAGE = 8 * 2**20
"""Bytes above which ``auto`` uses the ring."""


def choose(nbytes: float, ranks: int) -> str:
    """Name of the allreduce algorithm ``auto`` uses for ``nbytes`` bytes on ``ranks`` ranks.

    Examples
    --------
    >>> choose(1024, 8), choose(1e6, 8), choose(1e6, 6), choose(1e9, 8), choose(1e9, 1)
    ('recursive_doubling', 'rabenseifner', 'ring_allreduce', 'ring_allreduce', 'ring_allreduce')
    """
    if ranks <= 1:
        return "ring_allreduce"
    if nbytes <= SMALL_MESSAGE:
        return "recursive_doubling"
    if nbytes <= LARGE_MESSAGE and ranks & (ranks - 1) == 0:
        return "rabenseifner"
    return "ring_allreduce"


def auto_allreduce(comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None):
    """Allreduce with the algorithm :func:`choose` picks (SimPy generator; see the module table)."""
    from netsim.collectives.registry import get_algorithm

    name = choose(payload_nbytes(data, nbytes), comm.size)
    result = yield from get_algorithm(name).run(comm, rank, data, nbytes)
    return result


REGISTER = (
    Algorithm(
        name="auto",
        operation="allreduce",
        run=auto_allreduce,
        description="recursive doubling <= 64 KiB < Rabenseifner (p = 2^k) <= 8 MiB < ring (MPICH/NCCL-style)",
        formula="that of the algorithm chosen",
        predict=lambda p, n, a, b: _predict(p, n, a, b),
    ),
)


def _predict(p: int, n: float, alpha: float, beta: float) -> float | None:
    from netsim.collectives.registry import get_algorithm

    chosen = get_algorithm(choose(n, p))
    return chosen.predict(p, n, alpha, beta) if chosen.predict else None
