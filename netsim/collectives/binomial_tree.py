"""Binomial-tree allreduce: binomial reduce to rank 0, then binomial broadcast from it.

Both halves use MPICH's binomial tree rooted at rank 0 (see
:mod:`netsim.collectives.broadcast`; any ``p >= 1``, depth ``⌈lg p⌉``). With ``chunks``
``c > 1`` the two are pipelined: each chunk is reduced up the tree (``received + own``,
smallest subtree first) and rank 0 starts broadcasting chunk ``i`` as soon as its sum is
complete, while later chunks are still being reduced. Every rank runs its upward and
downward streams at the same time.

Uncontended time (REFERENCES §2, ``γ = 0``), one chunk, on a star or any network where
every rank has its own full-duplex link: ``2⌈lg p⌉(α + nβ)`` for ``p`` a power of two
(at most that otherwise, see :mod:`netsim.collectives.reduce`). Pipelined on a full mesh
(a link per pair of ranks) the time is ``(2⌈lg p⌉ + c − 1)(α + (n/c)β)`` for ``p`` a
power of two. On a star a rank's single uplink carries its reduce stream and its
broadcast streams together, so chunking cannot lower the ``⌈lg p⌉·nβ`` per phase
that the root's links carry; it only overlaps the two phases.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.broadcast import (
    binomial_children,
    binomial_parent,
    ceil_lg,
    check_chunks,
    fan_out,
)
from netsim.collectives.chunks import element_bytes, payload_nbytes, split
from netsim.collectives.comm import Communicator
from netsim.collectives.reduce import reduce_up

__all__ = ["binomial_tree_allreduce", "REGISTER"]


def binomial_tree_allreduce(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    chunks: int = 1,
):
    """Sum ``data`` over all ranks: binomial reduce to rank 0 then broadcast (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the vector on the wire (with a real array each element counts
        ``nbytes / len(data)``); defaults to ``data.nbytes``.
    chunks : int
        Number of pieces the vector is pipelined in (>= 1).

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        The element-wise sum over ranks (a new array), or ``None`` if size-only.

    Raises
    ------
    ValueError
        If ``chunks`` is invalid or a size-only payload lacks ``nbytes``.
    """
    p = comm.size
    c = check_chunks(chunks)
    seq = comm.new_call(rank)
    env = comm.env
    parent = binomial_parent(rank, p)
    down = binomial_children(rank, p)
    up = list(reversed(down))
    pieces, sizes = split(data, payload_nbytes(data, nbytes), c)

    def up_tag(i: int) -> tuple:
        return (seq, "reduce", i)

    def down_tag(i: int) -> tuple:
        return (seq, "broadcast", i)

    if parent is None:
        ready = [env.event() for _ in range(c)]
    else:
        ready = [comm.recv(rank, parent, down_tag(i)) for i in range(c)]
    elem = element_bytes(data, nbytes)
    streams = fan_out(comm, rank, down, ready, sizes, down_tag, elem_bytes=elem)
    yield from reduce_up(
        comm, rank, parent, up, pieces, sizes, up_tag, ready if parent is None else None
    )
    yield env.all_of([*ready, *streams])
    result = [event.value for event in ready]
    return None if result[0] is None else np.concatenate(result)


REGISTER = (
    Algorithm(
        name="binomial_tree",
        operation="allreduce",
        run=binomial_tree_allreduce,
        description="binomial reduce to rank 0 then binomial broadcast; optional chunk pipelining of both",
        formula="2 ceil(lg p)(a + nb)",
        predict=lambda p, n, a, b: 2 * ceil_lg(p) * (a + n * b),
        aliases=("tree",),
        options=("chunks",),
    ),
)
