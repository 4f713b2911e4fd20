"""Binomial-tree reduce, optionally pipelined in chunks; the pipelined reduction up any tree.

The tree is MPICH's binomial tree relative to the root (see
:mod:`netsim.collectives.broadcast`); it is defined for every ``p >= 1``. A rank waits
for chunk ``i`` from each of its children, smallest subtree first, adds each to its
running sum (``received + own``, then ``received + that``, ...) and sends the result
to its parent once chunk ``i - 1`` has been delivered there. Sends are eager: a child
sends as soon as its subtree is reduced.

Uncontended time (REFERENCES §2, ``γ = 0``) on a star, one chunk: ``⌈lg p⌉(α + nβ)``
for ``p`` a power of two, where the children of a rank finish one round apart and
never overlap. When ``p`` is not a power of two some subtrees are incomplete, finish
early and send at the same time as a sibling; they then share the parent's downlink,
which saves latency, so the time is at most the formula.

With ``c`` chunks the reduction mirrors the pipelined broadcast. On a full mesh (a link
per pair of ranks) the time is ``(⌈lg p⌉ + c − 1)(α + (n/c)β)`` for ``p`` a power of two
(less otherwise). On a star the root's downlink carries ``⌈lg p⌉·n`` bytes whatever the
chunking and, for ``p`` a power of two and every ``c``, the time is exactly
``(⌈lg p⌉ + c − 1)α + ⌈lg p⌉·nβ`` (at most that otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np
import simpy

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.broadcast import (
    binomial_children,
    binomial_parent,
    ceil_lg,
    check_chunks,
    check_root,
)
from netsim.collectives.chunks import payload_nbytes, split
from netsim.collectives.comm import Communicator

__all__ = ["binomial_reduce", "reduce_up", "REGISTER"]


def reduce_up(
    comm: Communicator,
    rank: int,
    parent: int | None,
    children: Sequence[int],
    pieces: Sequence[np.ndarray | None],
    sizes: Sequence[float],
    tag: Callable[[int], Hashable],
    ready: Sequence[simpy.Event] | None = None,
):
    """Reduce ``pieces`` chunk by chunk up a tree (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The communicator.
    rank : int
        This rank.
    parent : int or None
        The rank to send reduced chunks to (``None`` at the tree's root).
    children : sequence of int
        Ranks whose chunks are added, in this order (``received + running sum``).
    pieces : sequence
        This rank's chunks (arrays, or ``None`` if size-only). Never modified.
    sizes : sequence of float
        Bytes of each chunk on the wire.
    tag : callable
        ``tag(i)``: message tag of chunk ``i`` (the same on every rank of the tree).
    ready : sequence of simpy.Event, optional
        At the root, ``ready[i]`` is succeeded with the reduced chunk ``i`` as soon as it
        is complete (to pipeline a broadcast behind the reduction).

    Returns
    -------
    list or None
        At the root the reduced chunks (new arrays, or views of ``pieces`` when the
        root has no children), elsewhere ``None``. A non-root returns once its last
        chunk has been delivered to its parent.
    """
    inbox = [[comm.recv(rank, child, tag(i)) for i in range(len(pieces))] for child in children]
    reduced = []
    for i, own in enumerate(pieces):
        total = own
        for box in inbox:
            incoming = yield box[i]
            if incoming is not None:
                total = incoming + total
        if parent is None:
            reduced.append(total)
            if ready is not None:
                ready[i].succeed(total)
        else:
            yield comm.send(rank, parent, tag(i), total, sizes[i])
    return reduced if parent is None else None


def binomial_reduce(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    root: int = 0,
    chunks: int = 1,
):
    """Sum every rank's vector at the root up a binomial tree (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the vector on the wire; defaults to ``data.nbytes``.
    root : int
        The rank that gets the sum.
    chunks : int
        Number of pieces the vector is pipelined in (>= 1).

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        At the root the element-wise sum (a new array); ``None`` elsewhere and for
        size-only payloads.

    Raises
    ------
    ValueError
        If ``root`` or ``chunks`` is invalid, or a size-only payload lacks ``nbytes``.
    """
    p = comm.size
    root = check_root(root, p)
    c = check_chunks(chunks)
    seq = comm.new_call(rank)
    v = (rank - root) % p
    parent_v = binomial_parent(v, p)
    parent = None if parent_v is None else (root + parent_v) % p
    children = [(root + w) % p for w in reversed(binomial_children(v, p))]
    pieces, sizes = split(data, payload_nbytes(data, nbytes), c)
    reduced = yield from reduce_up(comm, rank, parent, children, pieces, sizes, lambda i: (seq, i))
    if reduced is None or data is None:
        return None
    return np.concatenate(reduced)


REGISTER = (
    Algorithm(
        name="binomial_reduce",
        operation="reduce",
        run=binomial_reduce,
        description="binomial tree to the root, received + own at every rank; optional chunk pipelining",
        formula="ceil(lg p)(a + nb)",
        predict=lambda p, n, a, b: ceil_lg(p) * (a + n * b),
        options=("root", "chunks"),
    ),
)
