"""Ring allreduce: a ring reduce-scatter followed by a ring all-gather.

With ``p`` ranks the vector is cut into ``p`` chunks (``numpy.array_split``; chunks may
be empty when the vector is shorter than ``p``). In reduce-scatter step ``k`` rank ``r``
sends chunk ``(r - k) mod p`` to rank ``r + 1`` and adds the chunk ``(r - k - 1) mod p``
it receives from rank ``r - 1`` to its own (``received + own``, the ring's order). After
``p - 1`` steps rank ``r`` holds the full sum of chunk ``(r + 1) mod p``; the all-gather
then circulates the reduced chunks for another ``p - 1`` steps. The two phases are
:func:`~netsim.collectives.reduce_scatter.ring_reduce_scatter_chunks` (with ``shift=1``)
and :func:`~netsim.collectives.all_gather.ring_all_gather_chunks`.

Uncontended time (REFERENCES §2): ``2(p−1)α + 2((p−1)/p)·n·β`` where ``α`` is the route
latency between ring neighbours and ``β`` the inverse bottleneck bandwidth.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.all_gather import ring_all_gather_chunks
from netsim.collectives.chunks import element_bytes, payload_nbytes, split
from netsim.collectives.comm import Communicator
from netsim.collectives.engine import prefers_dataflow
from netsim.collectives.reduce_scatter import ring_reduce_scatter_chunks
from netsim.collectives.ring_dataflow import RingAllreduceFlow

__all__ = ["ring_allreduce", "ring_allreduce_reference", "REGISTER"]


def ring_allreduce(comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None):
    """Sum ``data`` over all ranks with the ring algorithm (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part; the ring follows rank order.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the whole vector on the wire (with a real array each element counts
        ``nbytes / len(data)``); defaults to ``data.nbytes``.

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        The element-wise sum over ranks (a new array), or ``None`` if size-only.
        Use as ``total = yield from ring_allreduce(comm, rank, grad)``.

    Notes
    -----
    Runs on the dataflow engine (:class:`~netsim.collectives.ring_dataflow.RingAllreduceFlow`)
    or as :func:`ring_allreduce_reference`, as :mod:`~netsim.collectives.engine` selects;
    both give bit-identical results.
    """
    size = comm.size
    seq = comm.new_call(rank)
    total_bytes = payload_nbytes(data, nbytes)
    if size == 1:
        return None if data is None else data.copy()
    flow = comm.shared(("ring_allreduce", seq), lambda: RingAllreduceFlow(comm) if prefers_dataflow(data) else None)
    if flow is None:
        return (yield from _ring_allreduce_steps(comm, rank, seq, data, nbytes, total_bytes))
    return (yield flow.join(rank, data, total_bytes, element_bytes(data, nbytes)))


def ring_allreduce_reference(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """:func:`ring_allreduce` as SPMD generators exchanging mailbox messages (the reference)."""
    size = comm.size
    seq = comm.new_call(rank)
    total_bytes = payload_nbytes(data, nbytes)
    if size == 1:
        return None if data is None else data.copy()
    return (yield from _ring_allreduce_steps(comm, rank, seq, data, nbytes, total_bytes))


def _ring_allreduce_steps(comm, rank, seq, data, nbytes, total_bytes):
    size = comm.size
    chunks, sizes = split(data, total_bytes, size)
    # Reduce-scatter leaving rank r with chunk r + 1, then all-gather from there.
    yield from ring_reduce_scatter_chunks(comm, rank, chunks, sizes, (seq,), shift=1)
    elem = element_bytes(data, nbytes)
    yield from ring_all_gather_chunks(
        comm, rank, chunks, sizes, (seq,), shift=1, step0=size - 1, elem_bytes=elem
    )
    return None if data is None else np.concatenate(chunks)


REGISTER = (
    Algorithm(
        name="ring_allreduce",
        operation="allreduce",
        run=ring_allreduce,
        description="ring reduce-scatter then ring all-gather over p chunks",
        formula="2(p-1)a + 2((p-1)/p)nb",
        predict=lambda p, n, a, b: 2 * (p - 1) * a + 2 * (p - 1) / p * n * b,
        aliases=("ring",),
    ),
)
