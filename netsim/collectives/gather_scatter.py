"""Binomial-tree gather and scatter.

Both use MPICH's binomial tree relative to the root (see
:mod:`netsim.collectives.broadcast`): virtual rank ``v = (rank − root) mod p`` owns the
blocks of virtual ranks ``v .. v + size(v) − 1``, ``size(v) = min(lowbit(v), p − v)``.
Any ``p >= 1`` works; when ``p`` is not a power of two some subtrees are cut short.

Gather: rank ``r`` gives block ``r``; the root gets the concatenation in rank order.
A rank waits for the blocks of each child's subtree, then sends everything it holds
to its parent in one message (eager: as soon as its subtree is complete). Scatter: the
root cuts its vector into ``p`` blocks (``numpy.array_split``) and sends each child the
blocks of that child's subtree, largest subtree first, one message after the other
(each once the previous one is delivered); every rank forwards the same way.

Uncontended time on a star (REFERENCES §2, ``n`` = the total gathered or scattered):
``⌈lg p⌉α + ((p−1)/p)nβ``: the message to the child of subtree size ``2^k`` carries
``2^k`` blocks, ``Σ_k 2^k = p − 1``. Scatter takes exactly this for every ``p``. Gather
takes exactly this when ``p`` is a power of two; otherwise an incomplete subtree can be
ready early and its message then shares the parent's downlink with a sibling's, which
saves latency, so the time is at most the formula.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.broadcast import (
    binomial_children,
    binomial_parent,
    ceil_lg,
    check_root,
    piece_nbytes,
)
from netsim.collectives.chunks import split
from netsim.collectives.comm import Communicator

__all__ = ["binomial_gather", "binomial_scatter", "subtree_size", "REGISTER"]


def subtree_size(v: int, p: int) -> int:
    """Number of ranks in the binomial subtree of virtual rank ``v`` (``p`` for the root)."""
    return p if v == 0 else min(v & -v, p - v)


def _block_bytes(nbytes: float | None, p: int) -> float | None:
    return None if nbytes is None else float(nbytes) / p


def binomial_gather(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    root: int = 0,
):
    """Gather every rank's block at the root up a binomial tree (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray, optional
        Block ``rank`` (any length); ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the gathered total ``n``; a size-only block is ``n / p`` bytes. Real
        blocks count their own ``nbytes``.
    root : int
        The rank that gets the concatenation.

    Returns
    -------
    numpy.ndarray or None
        At the root the blocks concatenated in rank order (a new array); ``None``
        elsewhere and for size-only payloads.

    Raises
    ------
    ValueError
        If ``root`` is invalid, or a size-only payload lacks ``nbytes``.
    """
    p = comm.size
    root = check_root(root, p)
    seq = comm.new_call(rank)
    block = _block_bytes(nbytes, p)
    v = (rank - root) % p
    held = [data]
    for child in reversed(binomial_children(v, p)):
        got = yield comm.recv(rank, (root + child) % p, seq)
        held.extend([None] * subtree_size(child, p) if got is None else got)
    parent = binomial_parent(v, p)
    if parent is not None:
        size = sum(piece_nbytes(piece, block) for piece in held)
        yield comm.send(rank, (root + parent) % p, seq, None if data is None else tuple(held), size)
        return None
    if data is None:
        return None
    return np.concatenate([held[(r - root) % p] for r in range(p)])


def binomial_scatter(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    root: int = 0,
):
    """Scatter the root's vector down a binomial tree (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        At the root, the vector to scatter (ignored elsewhere); ``None`` for a
        size-only payload.
    nbytes : float, optional
        Bytes of the whole vector ``n`` (every rank, for size-only payloads; defaults
        to ``data.nbytes`` at the root). A size-only block is ``n / p`` bytes.
    root : int
        The scattering rank.

    Returns
    -------
    numpy.ndarray or None
        ``numpy.array_split(root's vector, p)[rank]`` (a new array), or ``None`` if
        size-only.

    Raises
    ------
    ValueError
        If ``root`` is invalid, or a size-only payload lacks ``nbytes``.
    """
    p = comm.size
    root = check_root(root, p)
    seq = comm.new_call(rank)
    v = (rank - root) % p
    if v == 0:
        if data is None and nbytes is None:
            raise ValueError("a size-only collective needs nbytes")
        blocks, _ = split(data, 0.0 if nbytes is None else float(nbytes), p)
        held = [blocks[(root + w) % p] for w in range(p)]
        block = _block_bytes(nbytes, p)
    else:
        got = yield comm.recv(rank, (root + binomial_parent(v, p)) % p, seq)
        held = [None] * subtree_size(v, p) if got is None else list(got)
        block = _block_bytes(nbytes, p)
    for child in binomial_children(v, p):
        lo = child - v
        part = held[lo : lo + subtree_size(child, p)]
        size = sum(piece_nbytes(piece, block) for piece in part)
        payload = None if part[0] is None else tuple(part)
        yield comm.send(rank, (root + child) % p, seq, payload, size)
    return None if held[0] is None else held[0].copy()


REGISTER = (
    Algorithm(
        name="binomial_gather",
        operation="gather",
        run=binomial_gather,
        description="binomial tree to the root; each rank forwards its whole subtree's blocks in one message",
        formula="ceil(lg p)a + ((p-1)/p)nb",
        predict=lambda p, n, a, b: ceil_lg(p) * a + (p - 1) / p * n * b,
        options=("root",),
    ),
    Algorithm(
        name="binomial_scatter",
        operation="scatter",
        run=binomial_scatter,
        description="binomial tree from the root; each child gets its subtree's blocks, largest subtree first",
        formula="ceil(lg p)a + ((p-1)/p)nb",
        predict=lambda p, n, a, b: ceil_lg(p) * a + (p - 1) / p * n * b,
        options=("root",),
    ),
)
