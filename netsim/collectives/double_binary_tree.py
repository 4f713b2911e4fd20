"""NCCL-style double binary tree allreduce.

Structure
---------
Tree 0 is NCCL's in-order binary tree (``ncclGetBtree``): rank ``r > 0`` with lowest set
bit ``b`` has parent ``(r ^ b) | 2b`` (or ``r ^ b`` if that is ``>= p``) and children
``r - b/2`` and ``r + m`` for the largest ``m <= b/2`` with ``r + m < p``; rank 0 is the
root and has one child, the largest power of two below ``p``. Odd ranks are leaves, so
the interior nodes are the even ranks. Tree 1 is its mirror image ``r -> p - 1 - r``
when ``p`` is even (its interior nodes are then the odd ranks, so every rank is interior
in at most one tree) and tree 0 shifted by one, ``r -> r + 1 mod p``, when ``p`` is odd
(then rank 0, the one-child root of tree 0, can also be interior in tree 1), as in
NCCL's ``ncclGetDtree``. Both trees are defined for any ``p >= 1`` and have depth
``⌈lg p⌉``; a rank has at most two children in each.

Schedule
--------
The vector is cut in two halves (``numpy.array_split``); half ``t`` is reduced and
broadcast on tree ``t``, both trees at once. Each half is cut into ``chunks`` pieces
(default 8). Up the tree a rank waits for chunk ``i`` from its children, adds them
(``received + own``, first child first) and sends the sum to its parent once chunk
``i - 1`` has been delivered there. The root starts broadcasting chunk ``i`` as soon as
its sum is complete, and every rank forwards chunk ``i`` to both its children at once
as soon as it arrives (each child's stream sends chunk ``i`` once chunk ``i - 1`` has
been delivered).

Time
----
There is no REFERENCES formula. Without contention (the ``analytic`` network model;
even a full mesh has some, where both trees use one pair of ranks), with
``H = ⌈lg p⌉`` the trees' depth and ``s = n/(2c)`` the chunk size, the time is
exactly ``(2H + c − 1)(α + sβ)``. On a star a rank's uplink carries its
upward stream, up to two downward streams in the tree where it is interior and an
upward stream in the other: about ``2n`` bytes in all (as much as ring allreduce's
``2((p−1)/p)n``), but shared max-min. Examples (hand-checked): ``p = 4`` takes
``4α + 3nβ`` with one chunk and ``5α + 2.25nβ`` with two. For large ``n`` and a fixed
number of chunks the time is ``κ·nβ``; measured ``κ`` for ``p = 16``: 7.0 (c = 1),
3.13 (4), 2.51 (8, the default), 2.27 (16), 2.13 (32), tending to 2 (``binomial_tree``:
``2⌈lg p⌉ = 8``; ring: 1.875), while the latency grows about as ``(2H + c − 1)α``.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.broadcast import check_chunks, fan_out
from netsim.collectives.chunks import element_bytes, payload_nbytes, split
from netsim.collectives.comm import Communicator
from netsim.collectives.dbt_dataflow import DoubleBinaryTreeFlow, result_of
from netsim.collectives.engine import prefers_dataflow
from netsim.collectives.reduce import reduce_up

__all__ = ["double_binary_tree_allreduce", "double_binary_tree_reference", "btree", "dtree", "REGISTER"]

DEFAULT_CHUNKS = 8


def btree(p: int, rank: int) -> tuple[int | None, list[int]]:
    """Parent and children of ``rank`` in NCCL's binary tree over ``p`` ranks (tree 0).

    Examples
    --------
    >>> [btree(4, r) for r in range(4)]
    [(None, [2]), (2, []), (0, [1, 3]), (2, [])]
    """
    if p == 1:
        return None, []
    bit = 1
    while bit < p and not bit & rank:
        bit <<= 1
    if rank == 0:
        return None, [bit >> 1]
    parent = (rank ^ bit) | (bit << 1)
    if parent >= p:
        parent = rank ^ bit
    low = bit >> 1
    if not low:
        return parent, []
    children = [rank - low]
    while low and rank + low >= p:
        low >>= 1
    if low:
        children.append(rank + low)
    return parent, children


def dtree(p: int, rank: int) -> list[tuple[int | None, list[int]]]:
    """Parent and children of ``rank`` in both trees of the double binary tree.

    Examples
    --------
    >>> dtree(4, 1)
    [(2, []), (3, [2, 0])]
    """
    first = btree(p, rank)
    if p % 2:
        parent, children = btree(p, (rank - 1) % p)
        second = (None if parent is None else (parent + 1) % p, [(c + 1) % p for c in children])
    else:
        parent, children = btree(p, p - 1 - rank)
        second = (None if parent is None else p - 1 - parent, [p - 1 - c for c in children])
    return [first, second]


def double_binary_tree_allreduce(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    chunks: int = DEFAULT_CHUNKS,
):
    """Sum ``data`` over all ranks on two complementary binary trees (SimPy generator).

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
        Number of pieces each half is pipelined in (>= 1).

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        The element-wise sum over ranks (a new array), or ``None`` if size-only.

    Raises
    ------
    ValueError
        If ``chunks`` is invalid or a size-only payload lacks ``nbytes``.

    Notes
    -----
    Runs on the dataflow engine (:class:`~netsim.collectives.dbt_dataflow.DoubleBinaryTreeFlow`)
    or as :func:`double_binary_tree_reference`, as :mod:`~netsim.collectives.engine`
    selects; both give bit-identical results.
    """
    c = check_chunks(chunks)
    seq = comm.new_call(rank)
    halves, half_sizes = split(data, payload_nbytes(data, nbytes), 2)
    elem = element_bytes(data, nbytes)
    flow = comm.shared(
        ("double_binary_tree", seq),
        lambda: DoubleBinaryTreeFlow(comm, dtree) if prefers_dataflow(data) else None,
    )
    if flow is None:
        return (yield from _double_binary_tree_steps(comm, rank, seq, c, data, halves, half_sizes, elem))
    done, results = flow.join(rank, c, halves, half_sizes, elem)
    yield done
    return result_of(data, results)


def double_binary_tree_reference(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    chunks: int = DEFAULT_CHUNKS,
):
    """:func:`double_binary_tree_allreduce` as SimPy processes and mailbox messages (the reference)."""
    c = check_chunks(chunks)
    seq = comm.new_call(rank)
    halves, half_sizes = split(data, payload_nbytes(data, nbytes), 2)
    elem = element_bytes(data, nbytes)
    return (yield from _double_binary_tree_steps(comm, rank, seq, c, data, halves, half_sizes, elem))


def _double_binary_tree_steps(comm, rank, seq, c, data, halves, half_sizes, elem):
    env = comm.env
    waits = []
    results = []
    for t, (parent, children) in enumerate(dtree(comm.size, rank)):
        pieces, sizes = split(halves[t], half_sizes[t], c)

        def up_tag(i: int, t: int = t) -> tuple:
            return (seq, t, "up", i)

        def down_tag(i: int, t: int = t) -> tuple:
            return (seq, t, "down", i)

        if parent is None:
            ready = [env.event() for _ in range(c)]
        else:
            ready = [comm.recv(rank, parent, down_tag(i)) for i in range(c)]
        waits += fan_out(
            comm, rank, children, ready, sizes, down_tag, stagger=False, elem_bytes=elem
        )
        up = reduce_up(
            comm, rank, parent, children, pieces, sizes, up_tag, ready if parent is None else None
        )
        waits.append(env.process(up))
        waits += ready
        results += ready
    yield env.all_of(waits)
    pieces = [event.value for event in results]
    return None if data is None else np.concatenate(pieces)


REGISTER = (
    Algorithm(
        name="double_binary_tree",
        operation="allreduce",
        run=double_binary_tree_allreduce,
        description="NCCL double binary tree: each half of the vector reduced then broadcast, pipelined, on one of two complementary trees",
        formula="no closed form; with no contention at all (2H + c - 1)(a + (n/2c)b), H = ceil(lg p)",
        predict=None,
        aliases=("nccl_tree",),
        options=("chunks",),
    ),
)
