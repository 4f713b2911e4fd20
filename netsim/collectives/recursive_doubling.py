"""Recursive-doubling allreduce, and the power-of-two fold shared by the hypercube algorithms.

Recursive doubling (Thakur, Rabenseifner & Gropp 2005): in step ``k = 0, 1, ...`` rank
``r`` exchanges its whole current vector with rank ``r XOR 2^k`` and adds what it
receives (``received + own``). After ``lg p`` steps every rank holds the sum. IEEE
addition is commutative, so both partners compute bit-identical partial sums and every
rank ends with the same array.

Uncontended time for ``p = 2^k`` (REFERENCES §2): ``lg p·α + lg p·n·β``.

Any ``p`` (the MPICH approach, :class:`PowerOfTwoFold`): let ``p' = 2^⌊lg p⌋`` and
``r = p − p'``. Among the first ``2r`` ranks, each odd rank ``2i + 1`` first sends
(*folds*) its vector into its even neighbour ``2i``, which adds it to its own, and
takes no further part until it receives the result back (*unfold*) at the end. The
``p'`` remaining ranks (the even ranks below ``2r`` and every rank from ``2r`` on) run
the power-of-two algorithm under new ranks ``0 .. p'−1`` (``2i → i`` and
``j → j − r``). The fold and the unfold are two extra steps of ``α + n·β`` each:

    ``(⌊lg p⌋ + 2)·(α + n·β)``  (one-port α-β model, ``p`` not a power of two).

What netsim gives for such ``p`` (sends are eager, as MPICH's are):

* the ranks from ``2r`` on do not wait for the fold: they start their exchanges at
  once, so the result can be ready sooner. On the contention-free ``"analytic"``
  model the time is the critical path, between ``(⌊lg p⌋ + 1)(α + nβ)`` and the
  one-port figure: ``2, 3, 3, 4`` steps of ``α + nβ`` for ``p = 3, 5, 6, 7``;
* on a network that shares links (``"flow"``) their early messages reach an even rank
  while its fold is still arriving, and an even rank sends its last exchange and the
  unfold back to back, so they share its link: on an uncontended star with ``p = 3``
  the time is ``2α + 4nβ`` (not ``3α + 3nβ``), and up to about twice the one-port
  figure for other ``p`` at large ``n``. Never less than the ``"analytic"`` time.

:func:`predict_time` (the registry's ``predict``) gives the one-port figure. Prefer
``ring_allreduce`` for large vectors when ``p`` is not a power of two.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import payload_nbytes
from netsim.collectives.comm import Communicator

__all__ = ["PowerOfTwoFold", "recursive_doubling", "predict_time", "REGISTER"]


class PowerOfTwoFold:
    """How ``p`` ranks shrink to ``p' = 2^⌊lg p⌋`` for hypercube algorithms (MPICH scheme).

    Parameters
    ----------
    size : int
        Number of ranks ``p >= 1``.

    Attributes
    ----------
    size : int
        ``p``.
    pof2 : int
        ``p' = 2^⌊lg p⌋``, the number of ranks taking part in the hypercube steps.
    rem : int
        ``r = p − p'``: the odd ranks ``1, 3, .., 2r − 1`` fold into ``0, 2, .., 2r − 2``.
    steps : int
        ``lg p'``, hypercube steps.

    Examples
    --------
    >>> fold = PowerOfTwoFold(6)
    >>> fold.pof2, fold.rem, [fold.newrank(r) for r in range(6)]
    (4, 2, [0, None, 1, None, 2, 3])
    >>> [fold.oldrank(i) for i in range(4)], fold.ranks_of(0), fold.ranks_of(3)
    ([0, 2, 4, 5], (0, 2), (5, 6))
    """

    __slots__ = ("size", "pof2", "rem", "steps")

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"need at least one rank, got {size}")
        self.size = size
        self.pof2 = 1 << (size.bit_length() - 1)
        self.rem = size - self.pof2
        self.steps = self.pof2.bit_length() - 1

    def folds(self, rank: int) -> bool:
        """True if ``rank`` is an odd rank below ``2r`` (it folds into ``rank − 1``)."""
        return rank < 2 * self.rem and rank % 2 == 1

    def receives_fold(self, rank: int) -> bool:
        """True if ``rank`` is an even rank below ``2r`` (it absorbs ``rank + 1``)."""
        return rank < 2 * self.rem and rank % 2 == 0

    def newrank(self, rank: int) -> int | None:
        """Rank among the ``p'`` survivors, or ``None`` for a rank that folds."""
        if rank < 2 * self.rem:
            return None if rank % 2 else rank // 2
        return rank - self.rem

    def oldrank(self, newrank: int) -> int:
        """The rank of survivor ``newrank``."""
        return 2 * newrank if newrank < self.rem else newrank + self.rem

    def ranks_of(self, newrank: int) -> tuple[int, int]:
        """Half-open range ``[lo, hi)`` of the original ranks survivor ``newrank`` stands for."""
        if newrank < self.rem:
            return 2 * newrank, 2 * newrank + 2
        return newrank + self.rem, newrank + self.rem + 1


def predict_time(p: int, n: float, alpha: float, beta: float) -> float:
    """One-port α-β time of recursive doubling: ``(lg p + 2·[p ≠ 2^k])·(α + n·β)`` seconds.

    Exact in netsim for powers of two on an uncontended network (see the module notes
    for other ``p``).

    Examples
    --------
    >>> round(predict_time(8, 1e6, 1e-6, 1e-9), 12), round(predict_time(6, 1e6, 1e-6, 1e-9), 12)
    (0.003003, 0.004004)
    """
    if p <= 1:
        return 0.0
    fold = PowerOfTwoFold(p)
    steps = fold.steps + (2 if fold.rem else 0)
    return steps * (alpha + n * beta)


def recursive_doubling(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """Sum ``data`` over all ranks by recursive doubling (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part (any number).
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the whole vector on the wire (with a real array too); defaults to
        ``data.nbytes``.

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        The element-wise sum over ranks (a new array), or ``None`` if size-only.
    """
    size = comm.size
    seq = comm.new_call(rank)
    total = payload_nbytes(data, nbytes)
    if size == 1:
        return None if data is None else data.copy()
    fold = PowerOfTwoFold(size)
    send, recv = comm.send, comm.recv
    if fold.folds(rank):
        send(rank, rank - 1, (seq, "fold"), data, total)
        result = yield recv(rank, rank - 1, (seq, "unfold"))
        return None if result is None else result.copy()
    value = data
    if fold.receives_fold(rank):
        incoming = yield recv(rank, rank + 1, (seq, "fold"))
        if value is not None:
            value = incoming + value
    newrank = fold.newrank(rank)
    for step in range(fold.steps):
        partner = fold.oldrank(newrank ^ (1 << step))
        send(rank, partner, (seq, step), value, total)
        incoming = yield recv(rank, partner, (seq, step))
        if value is not None:
            value = incoming + value
    if fold.receives_fold(rank):
        send(rank, rank + 1, (seq, "unfold"), value, total)
    return value  # a new array: p >= 2 makes at least one exchange


REGISTER = (
    Algorithm(
        name="recursive_doubling",
        operation="allreduce",
        run=recursive_doubling,
        description="recursive doubling: lg p exchanges of the whole vector (any p: fold/unfold)",
        formula="lg p·a + lg p·nb (p = 2^k; else (⌊lg p⌋+2)(a + nb) one-port)",
        predict=predict_time,
    ),
)
