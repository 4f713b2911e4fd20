"""Reduce-scatter: every rank gives ``(n,)``, rank ``r`` gets block ``r`` of the sum.

Blocks are cut by ``numpy.array_split`` (they may be empty when the vector is shorter
than ``p``).

``ring_reduce_scatter``
    In step ``k = 0 .. p−2`` rank ``r`` sends block ``(r − k − 1) mod p`` to ``r + 1`` and
    adds the block ``(r − k − 2) mod p`` it receives from ``r − 1`` to its own
    (``received + own``). Block ``b`` starts at rank ``b + 1`` and ends, fully reduced,
    at rank ``b``. Uncontended time (REFERENCES §2): ``(p−1)α + ((p−1)/p)·n·β``, any ``p``.

``recursive_halving`` (``recursive_halving_reduce_scatter``)
    For ``p = 2^k``: in step ``s = 1 .. lg p`` rank ``r`` exchanges with ``r XOR p/2^s``
    the half of its current range of blocks that the partner keeps, and adds what it
    receives to the half it keeps. Time: ``lg p·α + ((p−1)/p)·n·β``.

    Any ``p`` (MPICH): with ``p' = 2^⌊lg p⌋`` and ``r = p − p'``, each odd rank
    ``2i + 1 < 2r`` first sends its whole vector to ``2i`` (fold; see
    :class:`~netsim.collectives.recursive_doubling.PowerOfTwoFold`). The ``p'`` survivors
    halve over *slots*: survivor ``i < r`` owns blocks ``2i`` and ``2i + 1``, survivor
    ``i >= r`` owns block ``i + r``, so the halves follow the slots, not equal element
    counts. At the end survivor ``i < r`` sends block ``2i + 1`` to its odd neighbour.
    One-port time (:func:`predict_recursive_halving`, the registry's ``predict``):
    ``(α + nβ) + ⌊lg p⌋α + (bytes of the halving)·β + (α + (n/p)β)``, the halving steps
    costing the larger half of the slots exchanged. As for recursive doubling (see
    :mod:`netsim.collectives.recursive_doubling`), the ranks outside the fold start
    early: the contention-free (``"analytic"``) time is at most the one-port figure, but
    where links are shared their messages meet the fold at an even rank. On an
    uncontended star with the ``"flow"`` model ``p = 3`` takes ``2α + (7/3)nβ`` (one-port:
    ``3α + 2nβ``); other ``p`` up to about 1.6 times the one-port figure.

Both are also the building blocks of the allreduces (:mod:`netsim.collectives.ring`,
:mod:`netsim.collectives.rabenseifner`, :mod:`netsim.collectives.hierarchical`):
:func:`ring_reduce_scatter_chunks` and :func:`halving_reduce_scatter` work on blocks
already cut.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import element_bytes, payload_nbytes, split, wire_nbytes
from netsim.collectives.comm import Communicator
from netsim.collectives.recursive_doubling import PowerOfTwoFold

__all__ = [
    "ring_reduce_scatter",
    "recursive_halving_reduce_scatter",
    "ring_reduce_scatter_chunks",
    "halving_reduce_scatter",
    "block_bounds",
    "predict_recursive_halving",
    "REGISTER",
]


def block_bounds(length: int, parts: int) -> list[int]:
    """Element offsets of the ``parts`` blocks ``numpy.array_split`` cuts ``length`` elements into.

    Examples
    --------
    >>> block_bounds(7, 3)
    [0, 3, 5, 7]
    >>> block_bounds(2, 4)
    [0, 1, 2, 2, 2]
    """
    base, extra = divmod(length, parts)
    bounds = [0]
    for i in range(parts):
        bounds.append(bounds[-1] + base + (1 if i < extra else 0))
    return bounds


def ring_reduce_scatter_chunks(
    comm: Communicator,
    rank: int,
    chunks: list,
    sizes: Sequence[float],
    tag: tuple[Hashable, ...],
    *,
    shift: int = 0,
    step0: int = 0,
):
    """Ring reduce-scatter of ``comm.size`` chunks already cut (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ring follows its rank order.
    rank : int
        This rank.
    chunks : list
        ``comm.size`` arrays (any lengths, equal across ranks), or ``None`` entries for a
        size-only payload. Entries are replaced by new arrays, never modified in place.
    sizes : sequence of float
        Bytes of each chunk on the wire.
    tag : tuple
        Prefix of the message tags (e.g. ``(seq,)``); step ``k`` uses ``(*tag, step0 + k)``.
    shift : int
        Rank ``r`` ends with chunk ``(r + shift) mod p`` fully reduced (0 for the
        reduce-scatter contract, 1 for the classic ring allreduce).
    step0 : int
        First step number in the tags.

    Notes
    -----
    In step ``k`` rank ``r`` sends chunk ``(r + shift − k − 1) mod p`` to ``r + 1`` and
    sets chunk ``(r + shift − k − 2) mod p`` to ``received + own``.
    """
    size = comm.size
    right, left = (rank + 1) % size, (rank - 1) % size
    send, recv = comm.send, comm.recv
    for step in range(size - 1):
        out = (rank + shift - step - 1) % size
        into = (rank + shift - step - 2) % size
        key = (*tag, step0 + step)
        send(rank, right, key, chunks[out], sizes[out])
        incoming = yield recv(rank, left, key)
        if incoming is not None:
            chunks[into] = incoming + chunks[into]


def ring_reduce_scatter(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """Reduce-scatter by the ring algorithm (SimPy generator).

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
    numpy.ndarray or None
        Block ``rank`` of ``numpy.array_split(sum, p)`` (a new array), or ``None`` if size-only.
    """
    size = comm.size
    seq = comm.new_call(rank)
    total = payload_nbytes(data, nbytes)
    if size == 1:
        return None if data is None else data.copy()
    chunks, sizes = split(data, total, size)
    yield from ring_reduce_scatter_chunks(comm, rank, chunks, sizes, (seq,))
    return chunks[rank]  # the last step's sum: a new array (or None)


def predict_recursive_halving(p: int, n: float, alpha: float, beta: float) -> float:
    """One-port time of ``recursive_halving`` for ``p`` ranks and ``n`` bytes, seconds.

    Lock-step steps, each costing ``α`` plus ``β`` times the most bytes any rank sends or
    receives in it: ``lg p·α + ((p−1)/p)·nβ`` for ``p = 2^k``; otherwise the fold
    (``α + nβ``), the halving over unequal slots and the final block (``α + (n/p)β``).
    Exact in netsim for powers of two on an uncontended network; for other ``p`` an
    upper bound of the contention-free (``"analytic"``) time, while contention can make
    the ``"flow"`` time longer (module notes).

    Examples
    --------
    >>> round(predict_recursive_halving(4, 1e6, 1e-6, 1e-9), 12)
    0.000752
    >>> round(predict_recursive_halving(3, 3e6, 1e-6, 1e-9), 12)  # fold, 1 step of 2 blocks, last block
    0.006003
    """
    if p <= 1:
        return 0.0
    fold = PowerOfTwoFold(p)
    block = n / p
    slots = [(hi - lo) * block for lo, hi in map(fold.ranks_of, range(fold.pof2))]
    time = 0.0
    if fold.rem:
        time += 2 * alpha + (n + block) * beta
    width = fold.pof2
    windows = [(0, fold.pof2)] * fold.pof2  # slots each survivor still holds
    while width > 1:
        width //= 2
        most = 0.0
        for newrank, (lo, _) in enumerate(windows):
            mid = lo + width
            halves = (sum(slots[lo:mid]), sum(slots[mid : mid + width]))
            most = max(most, *halves)
            windows[newrank] = (mid, mid + width) if newrank & width else (lo, mid)
        time += alpha + most * beta
    return time


def halving_reduce_scatter(
    comm: Communicator,
    rank: int,
    fold: PowerOfTwoFold,
    value: np.ndarray | None,
    bounds: Sequence[int] | None,
    sizes: Sequence[float],
    tag: tuple[Hashable, ...],
    elem_bytes: float | None = None,
):
    """Recursive halving among the ``fold.pof2`` survivors, over slots already cut (generator).

    Parameters
    ----------
    comm : Communicator
        The communicator; only survivors (``fold.newrank(rank) is not None``) call this.
    rank : int
        This rank.
    fold : PowerOfTwoFold
        Survivor numbering.
    value : numpy.ndarray or None
        This survivor's (already folded) vector, covering every slot; ``None`` if size-only.
    bounds : sequence of int or None
        ``fold.pof2 + 1`` element offsets of the slots in ``value`` (``None`` if size-only).
    sizes : sequence of float
        Bytes of each slot (used for size-only payloads).
    tag : tuple
        Prefix of the message tags; step ``s`` uses ``(*tag, s)``.
    elem_bytes : float, optional
        Wire bytes per element of real slots; default: their ``nbytes``.

    Returns
    -------
    numpy.ndarray or None
        The sum over all ranks of slot ``fold.newrank(rank)`` (a new array, possibly a view
        of one), or ``None`` if size-only.
    """
    newrank = fold.newrank(rank)
    lo, hi = 0, fold.pof2
    send, recv = comm.send, comm.recv
    for step in range(fold.steps):
        mask = fold.pof2 >> (step + 1)
        mid = lo + mask
        keep, give = ((mid, hi), (lo, mid)) if newrank & mask else ((lo, mid), (mid, hi))
        partner = fold.oldrank(newrank ^ mask)
        key = (*tag, step)
        if value is None:
            send(rank, partner, key, None, sum(sizes[give[0] : give[1]]))
            yield recv(rank, partner, key)
        else:
            base = bounds[lo]
            out = value[bounds[give[0]] - base : bounds[give[1]] - base]
            own = value[bounds[keep[0]] - base : bounds[keep[1]] - base]
            send(rank, partner, key, out, wire_nbytes(out, elem_bytes, None))
            incoming = yield recv(rank, partner, key)
            value = incoming + own
        lo, hi = keep
    return value


def recursive_halving_reduce_scatter(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """Reduce-scatter by recursive halving, any number of ranks (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the whole vector on the wire (with a real array each element counts
        ``nbytes / len(data)``); defaults to ``data.nbytes``.

    Returns
    -------
    numpy.ndarray or None
        Block ``rank`` of ``numpy.array_split(sum, p)`` (a new array), or ``None`` if size-only.
    """
    size = comm.size
    seq = comm.new_call(rank)
    total = payload_nbytes(data, nbytes)
    if size == 1:
        return None if data is None else data.copy()
    elem = element_bytes(data, nbytes)
    fold = PowerOfTwoFold(size)
    send, recv = comm.send, comm.recv
    blocks = None if data is None else block_bounds(len(data), size)
    block_bytes = total / size
    if fold.folds(rank):
        send(rank, rank - 1, (seq, "fold"), data, total)
        block = yield recv(rank, rank - 1, (seq, "unfold"))
        return None if block is None else block.copy()
    value = data
    if fold.receives_fold(rank):
        incoming = yield recv(rank, rank + 1, (seq, "fold"))
        if value is not None:
            value = incoming + value
    slots = [fold.ranks_of(i) for i in range(fold.pof2)]
    bounds = None if blocks is None else [blocks[lo] for lo, _ in slots] + [blocks[-1]]
    sizes = [(hi - lo) * block_bytes for lo, hi in slots]
    value = yield from halving_reduce_scatter(
        comm, rank, fold, value, bounds, sizes, (seq, "halve"), elem
    )
    if fold.receives_fold(rank):
        if value is None:
            send(rank, rank + 1, (seq, "unfold"), None, block_bytes)
        else:
            cut = blocks[rank + 1] - blocks[rank]
            other = value[cut:]
            send(rank, rank + 1, (seq, "unfold"), other, wire_nbytes(other, elem, None))
            value = value[:cut]
    return None if value is None else value.copy()


REGISTER = (
    Algorithm(
        name="ring_reduce_scatter",
        operation="reduce_scatter",
        run=ring_reduce_scatter,
        description="ring reduce-scatter: p-1 steps passing one block to the right",
        formula="(p-1)a + ((p-1)/p)nb",
        predict=lambda p, n, a, b: (p - 1) * a + (p - 1) / p * n * b,
    ),
    Algorithm(
        name="recursive_halving",
        operation="reduce_scatter",
        run=recursive_halving_reduce_scatter,
        description="recursive halving reduce-scatter: lg p exchanges of halving size (any p: fold)",
        formula="lg p·a + ((p-1)/p)nb (p = 2^k)",
        predict=predict_recursive_halving,
        aliases=("recursive_halving_reduce_scatter",),
    ),
)
