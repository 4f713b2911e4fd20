"""All-to-all (personalised exchange): pairwise exchange and Bruck's algorithm.

Rank ``r`` gives a vector of ``n`` bytes cut into ``p`` blocks (``numpy.array_split``),
block ``j`` for rank ``j``; it gets block ``r`` of every rank, concatenated in rank
order. Both algorithms work for any ``p >= 1`` and any length (blocks may be empty).

Pairwise exchange: in step ``k = 1 .. p−1`` rank ``r`` sends block ``(r+k) mod p`` to
rank ``(r+k) mod p`` and receives block ``r`` of rank ``(r−k) mod p`` (a send-receive:
the step ends when both are done). Each step is a permutation, so on a star nothing is
shared: ``(p−1)α + ((p−1)/p)nβ`` (REFERENCES §2) for every ``p``.

Bruck: rank ``r`` first rotates its blocks locally so that slot ``i`` holds the block
for rank ``(r+i) mod p``. In step ``k = 0 .. ⌈lg p⌉−1`` it sends every slot ``i`` with
bit ``k`` set, in one message, to rank ``(r + 2^k) mod p`` and replaces those slots by
the ones it receives from ``(r − 2^k) mod p``; a block in slot ``i`` thus travels
``i`` ranks in all. Finally slot ``i`` of rank ``r`` holds the block of rank
``(r−i) mod p``, and the inverse rotation puts block ``j`` at ``(r−j) mod p``. The local
rotations take no simulated time. Step ``k`` carries ``m_k`` blocks, ``m_k`` the number of
``i < p`` with bit ``k`` set: ``p/2`` when ``p`` is a power of two, which gives
REFERENCES' ``⌈lg p⌉α + (n/2)⌈lg p⌉β``; in general ``⌈lg p⌉α + Σ_k m_k (n/p) β``.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.broadcast import ceil_lg, piece_nbytes
from netsim.collectives.chunks import payload_nbytes, split
from netsim.collectives.comm import Communicator

__all__ = ["pairwise_all_to_all", "bruck_all_to_all", "bruck_blocks_per_step", "REGISTER"]


def bruck_blocks_per_step(p: int) -> list[int]:
    """Blocks Bruck's step ``k`` sends, for ``k = 0 .. ⌈lg p⌉−1``.

    Examples
    --------
    >>> bruck_blocks_per_step(8), bruck_blocks_per_step(5)
    ([4, 4, 4], [2, 2, 1])
    """
    return [sum(1 for i in range(p) if i >> k & 1) for k in range(ceil_lg(p))]


def pairwise_all_to_all(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """All-to-all by pairwise exchange (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector, block ``j`` (``numpy.array_split(data, p)[j]``) for rank
        ``j``; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the vector on the wire; defaults to ``data.nbytes``.

    Returns
    -------
    numpy.ndarray or None
        Block ``rank`` of every rank, concatenated in rank order (a new array), or
        ``None`` if size-only.
    """
    p = comm.size
    seq = comm.new_call(rank)
    env = comm.env
    blocks, sizes = split(data, payload_nbytes(data, nbytes), p)
    out = list(blocks)
    for k in range(1, p):
        dst, src = (rank + k) % p, (rank - k) % p
        sent = comm.send(rank, dst, (seq, k), blocks[dst], sizes[dst])
        got = comm.recv(rank, src, (seq, k))
        yield env.all_of([sent, got])
        out[src] = got.value
    return None if data is None else np.concatenate(out)


def bruck_all_to_all(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """All-to-all by Bruck's algorithm (SimPy generator).

    Parameters and return value as :func:`pairwise_all_to_all`.
    """
    p = comm.size
    seq = comm.new_call(rank)
    env = comm.env
    blocks, sizes = split(data, payload_nbytes(data, nbytes), p)
    block_bytes = sizes[0] if data is None else None
    slots = [blocks[(rank + i) % p] for i in range(p)]
    for k in range(ceil_lg(p)):
        bit = 1 << k
        moving = [i for i in range(p) if i & bit]
        payload = None if data is None else tuple(slots[i] for i in moving)
        size = sum(piece_nbytes(slots[i], block_bytes) for i in moving)
        sent = comm.send(rank, (rank + bit) % p, (seq, k), payload, size)
        got = comm.recv(rank, (rank - bit) % p, (seq, k))
        yield env.all_of([sent, got])
        if got.value is not None:
            for i, piece in zip(moving, got.value, strict=True):
                slots[i] = piece
    if data is None:
        return None
    return np.concatenate([slots[(rank - j) % p] for j in range(p)])


def _bruck_time(p: int, n: float, alpha: float, beta: float) -> float:
    return ceil_lg(p) * alpha + sum(bruck_blocks_per_step(p)) * n / p * beta


REGISTER = (
    Algorithm(
        name="pairwise",
        operation="all_to_all",
        run=pairwise_all_to_all,
        description="p-1 send-receive steps: step k sends block r+k to rank r+k, receives from r-k",
        formula="(p-1)a + ((p-1)/p)nb",
        predict=lambda p, n, a, b: (p - 1) * a + (p - 1) / p * n * b,
        aliases=("pairwise_all_to_all",),
    ),
    Algorithm(
        name="bruck_all_to_all",
        operation="all_to_all",
        run=bruck_all_to_all,
        description="Bruck: local rotation, ceil(lg p) steps sending the blocks whose index has bit k, inverse rotation",
        formula="ceil(lg p)a + (n/2)ceil(lg p)b (p a power of two; else ceil(lg p)a + sum_k m_k (n/p)b)",
        predict=_bruck_time,
    ),
)
