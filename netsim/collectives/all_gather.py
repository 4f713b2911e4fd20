"""All-gather: rank ``r`` gives block ``r``; every rank gets the concatenation in rank order.

``n`` is the size of the gathered vector (``nbytes``); a size-only block is ``n/p`` bytes,
a real block is whatever array the rank gives (blocks may differ in length, be empty,
and the receivers learn their sizes from the arrays).

``ring_all_gather``
    In step ``k = 0 .. p−2`` rank ``r`` sends block ``(r − k) mod p`` to ``r + 1`` and
    receives block ``(r − k − 1) mod p`` from ``r − 1``. Time (REFERENCES §2):
    ``(p−1)α + ((p−1)/p)·n·β``, any ``p``.

``recursive_doubling_all_gather``
    For ``p = 2^k``: in step ``s = 0 .. lg p − 1`` rank ``r`` exchanges everything it
    holds (``2^s`` blocks) with ``r XOR 2^s``. Time: ``lg p·α + ((p−1)/p)·n·β``.

    Any ``p`` (MPICH fold, :class:`~netsim.collectives.recursive_doubling.PowerOfTwoFold`):
    with ``p' = 2^⌊lg p⌋``, ``r = p − p'``, each odd rank ``2i + 1 < 2r`` first sends its
    block to ``2i`` (α + (n/p)β), the ``p'`` survivors run the doubling over their
    (one- or two-block) slots, and ``2i`` finally sends the whole gathered vector to
    ``2i + 1`` (α + nβ). One-port time (:func:`predict_recursive_doubling_all_gather`,
    the registry's ``predict``): ``(⌊lg p⌋ + 2)α`` plus ``β`` times the fold's block,
    the largest window of each doubling step and the whole vector: roughly twice the
    bandwidth term of the power-of-two case. The contention-free (``"analytic"``) time
    is at most that; with shared links the ranks outside the fold start early and
    their blocks meet the fold at an even rank: on an uncontended star with the
    ``"flow"`` model ``p = 3`` takes ``2α + (7/3)nβ`` (one-port: ``3α + 2nβ``). Prefer
    ``bruck`` (or ``ring_all_gather``) when ``p`` is not a power of two.

``bruck`` (``bruck_all_gather``; Bruck et al. 1997)
    Any ``p``: rank ``r`` keeps the blocks ``r, r+1, ..`` (mod ``p``) it holds in order;
    in step ``s`` (distance ``d = 2^s``) it sends its first ``min(d, p − d)`` blocks to
    ``r − d`` and appends those received from ``r + d``; a final local rotation puts the
    blocks in rank order. Time: ``⌈lg p⌉α + ((p−1)/p)·n·β`` for every ``p`` (each step
    every rank sends and receives the same number of blocks).

:func:`ring_all_gather_chunks` and :func:`doubling_all_gather` are the building blocks
the allreduces reuse.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import payload_nbytes, wire_nbytes
from netsim.collectives.comm import Communicator
from netsim.collectives.recursive_doubling import PowerOfTwoFold

__all__ = [
    "ring_all_gather",
    "recursive_doubling_all_gather",
    "bruck_all_gather",
    "ring_all_gather_chunks",
    "doubling_all_gather",
    "predict_recursive_doubling_all_gather",
    "REGISTER",
]


def _gathered_nbytes(data: np.ndarray | None, nbytes: float | None, size: int) -> float:
    """Bytes of the gathered vector: ``nbytes``, else ``p`` times this rank's block."""
    if nbytes is not None or data is None:
        return payload_nbytes(data, nbytes)
    return float(data.nbytes) * size


def ring_all_gather_chunks(
    comm: Communicator,
    rank: int,
    chunks: list,
    sizes: Sequence[float],
    tag: tuple[Hashable, ...],
    *,
    shift: int = 0,
    step0: int = 0,
    origin: int = 0,
    sendrecv: bool = False,
    elem_bytes: float | None = None,
):
    """Ring all-gather of ``comm.size`` chunks (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ring follows its rank order.
    rank : int
        This rank; its position on the ring is ``q = (rank − origin) mod p``.
    chunks : list
        ``comm.size`` entries indexed by position; entry ``(q + shift) mod p`` is this
        rank's own chunk (an array, or ``None`` if size-only). The others are filled with
        the received arrays.
    sizes : sequence of float
        Bytes of each chunk on the wire, used for ``None`` (size-only) chunks; a real
        chunk travels as its ``nbytes`` (or ``len(chunk) · elem_bytes``).
    tag : tuple
        Prefix of the message tags; step ``k`` uses ``(*tag, step0 + k)``.
    shift, step0, origin : int
        Which chunk each rank starts with, the first step number, and the rank at
        position 0.
    sendrecv : bool
        If true, a step ends when this rank's send has been delivered *and* its receive
        has arrived (``MPI_Sendrecv`` with a rendezvous send), so a rank never has two
        sends in flight. If false (eager sends, as :func:`ring_all_gather` and the ring
        allreduce), a step ends when the receive arrives. The two are the same in
        lock-step rings; ``sendrecv`` keeps a ring that starts unevenly (after a
        scatter) from sending several blocks at once over one link.
    elem_bytes : float, optional
        Wire bytes per element of real chunks (:func:`~netsim.collectives.chunks.element_bytes`);
        default: their ``nbytes``.

    Notes
    -----
    In step ``k`` the rank at position ``q`` sends chunk ``(q + shift − k) mod p`` to the
    next rank and receives chunk ``(q + shift − k − 1) mod p`` from the previous one.
    """
    size = comm.size
    right, left = (rank + 1) % size, (rank - 1) % size
    position = (rank - origin) % size
    send, recv = comm.send, comm.recv
    for step in range(size - 1):
        out = (position + shift - step) % size
        into = (position + shift - step - 1) % size
        chunk = chunks[out]
        key = (*tag, step0 + step)
        sent = send(rank, right, key, chunk, wire_nbytes(chunk, elem_bytes, sizes[out]))
        received = recv(rank, left, key)
        if sendrecv:
            yield comm.env.all_of((sent, received))
            chunks[into] = received.value
        else:
            chunks[into] = yield received


def ring_all_gather(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """All-gather by the ring algorithm (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part; the ring follows rank order.
    rank : int
        This rank.
    data : numpy.ndarray, optional
        Block ``rank`` (any length); ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the gathered vector (``n``); required if size-only, else
        ``p·data.nbytes`` (only used for size-only blocks).

    Returns
    -------
    numpy.ndarray or None
        The blocks of every rank concatenated in rank order (a new array), or ``None``.
    """
    size = comm.size
    seq = comm.new_call(rank)
    total = _gathered_nbytes(data, nbytes, size)
    if size == 1:
        return None if data is None else data.copy()
    chunks: list = [None] * size
    chunks[rank] = data
    yield from ring_all_gather_chunks(comm, rank, chunks, [total / size] * size, (seq,))
    return None if data is None else np.concatenate(chunks)


def doubling_all_gather(
    comm: Communicator,
    rank: int,
    fold: PowerOfTwoFold,
    value: np.ndarray | None,
    sizes: Sequence[float],
    tag: tuple[Hashable, ...],
    elem_bytes: float | None = None,
):
    """Recursive doubling among the ``fold.pof2`` survivors over contiguous slots (generator).

    Parameters
    ----------
    comm : Communicator
        The communicator; only survivors call this.
    rank : int
        This rank.
    fold : PowerOfTwoFold
        Survivor numbering; survivor ``i`` holds slot ``i`` and slots follow survivor order.
    value : numpy.ndarray or None
        Slot ``fold.newrank(rank)``; ``None`` if size-only.
    sizes : sequence of float
        Bytes of each slot (used for size-only payloads).
    tag : tuple
        Prefix of the message tags; step ``s`` uses ``(*tag, s)``.
    elem_bytes : float, optional
        Wire bytes per element of real slots; default: their ``nbytes``.

    Returns
    -------
    numpy.ndarray or None
        All slots concatenated in order (a new array unless ``fold.pof2 == 1``), or ``None``.
    """
    newrank = fold.newrank(rank)
    lo, hi = newrank, newrank + 1
    send, recv = comm.send, comm.recv
    for step in range(fold.steps):
        mask = 1 << step
        partner = fold.oldrank(newrank ^ mask)
        key = (*tag, step)
        send(rank, partner, key, value, wire_nbytes(value, elem_bytes, sum(sizes[lo:hi])))
        incoming = yield recv(rank, partner, key)
        if newrank & mask:
            lo -= mask
            if value is not None:
                value = np.concatenate((incoming, value))
        else:
            hi += mask
            if value is not None:
                value = np.concatenate((value, incoming))
    return value


def recursive_doubling_all_gather(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """All-gather by recursive doubling, any number of ranks (SimPy generator).

    Parameters and returns as :func:`ring_all_gather`.
    """
    size = comm.size
    seq = comm.new_call(rank)
    total = _gathered_nbytes(data, nbytes, size)
    if size == 1:
        return None if data is None else data.copy()
    fold = PowerOfTwoFold(size)
    send, recv = comm.send, comm.recv
    block_bytes = total / size
    if fold.folds(rank):
        send(
            rank, rank - 1, (seq, "fold"), data, block_bytes if data is None else float(data.nbytes)
        )
        result = yield recv(rank, rank - 1, (seq, "unfold"))
        return None if result is None else result.copy()
    value = data
    if fold.receives_fold(rank):
        incoming = yield recv(rank, rank + 1, (seq, "fold"))
        if value is not None:
            value = np.concatenate((value, incoming))
    sizes = [(hi - lo) * block_bytes for lo, hi in map(fold.ranks_of, range(fold.pof2))]
    value = yield from doubling_all_gather(comm, rank, fold, value, sizes, (seq, "double"))
    if fold.receives_fold(rank):
        send(
            rank, rank + 1, (seq, "unfold"), value, total if value is None else float(value.nbytes)
        )
    return value


def bruck_all_gather(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """All-gather by Bruck's algorithm, any number of ranks (SimPy generator).

    Parameters and returns as :func:`ring_all_gather`.
    """
    size = comm.size
    seq = comm.new_call(rank)
    total = _gathered_nbytes(data, nbytes, size)
    if size == 1:
        return None if data is None else data.copy()
    block_bytes = total / size
    held: list = [data]  # held[i] is the block of rank (rank + i) mod p
    send, recv = comm.send, comm.recv
    distance, step = 1, 0
    while distance < size:
        count = min(distance, size - distance)
        out = tuple(held[:count])
        wire = count * block_bytes if data is None else float(sum(b.nbytes for b in out))
        key = (seq, step)
        send(rank, (rank - distance) % size, key, None if data is None else out, wire)
        incoming = yield recv(rank, (rank + distance) % size, key)
        held.extend([None] * count if incoming is None else incoming)
        distance, step = 2 * distance, step + 1
    if data is None:
        return None
    return np.concatenate([held[(r - rank) % size] for r in range(size)])


def _log2_ceil(p: int) -> int:
    return (p - 1).bit_length()


def predict_recursive_doubling_all_gather(p: int, n: float, alpha: float, beta: float) -> float:
    """One-port time of ``recursive_doubling_all_gather`` (``n`` = gathered bytes), seconds.

    Lock-step steps, each costing ``α`` plus ``β`` times the most bytes any rank sends in
    it: ``lg p·α + ((p−1)/p)·nβ`` for ``p = 2^k``; otherwise the fold (``α + (n/p)β``),
    the doubling over unequal slots and the unfold of the whole vector (``α + nβ``).
    Exact in netsim for powers of two on an uncontended network; for other ``p`` an
    upper bound of the contention-free (``"analytic"``) time, while contention can make
    the ``"flow"`` time longer.

    Examples
    --------
    >>> round(predict_recursive_doubling_all_gather(4, 1e6, 1e-6, 1e-9), 12)
    0.000752
    >>> round(predict_recursive_doubling_all_gather(3, 3e6, 1e-6, 1e-9), 12)
    0.006003
    """
    if p <= 1:
        return 0.0
    fold = PowerOfTwoFold(p)
    block = n / p
    slots = [(hi - lo) * block for lo, hi in map(fold.ranks_of, range(fold.pof2))]
    time = 2 * alpha + (block + n) * beta if fold.rem else 0.0
    width = 1
    while width < fold.pof2:
        most = max(sum(slots[lo : lo + width]) for lo in range(0, fold.pof2, width))
        time += alpha + most * beta
        width *= 2
    return time


REGISTER = (
    Algorithm(
        name="ring_all_gather",
        operation="all_gather",
        run=ring_all_gather,
        description="ring all-gather: p-1 steps passing one block to the right",
        formula="(p-1)a + ((p-1)/p)nb",
        predict=lambda p, n, a, b: (p - 1) * a + (p - 1) / p * n * b,
    ),
    Algorithm(
        name="recursive_doubling_all_gather",
        operation="all_gather",
        run=recursive_doubling_all_gather,
        description="recursive doubling all-gather: lg p exchanges of doubling size (any p: fold)",
        formula="lg p·a + ((p-1)/p)nb (p = 2^k)",
        predict=predict_recursive_doubling_all_gather,
    ),
    Algorithm(
        name="bruck",
        operation="all_gather",
        run=bruck_all_gather,
        description="Bruck all-gather: ceil(lg p) steps for any p, blocks rotated at the end",
        formula="ceil(lg p)·a + ((p-1)/p)nb",
        predict=lambda p, n, a, b: _log2_ceil(p) * a + (p - 1) / p * n * b,
        aliases=("bruck_all_gather",),
    ),
)
