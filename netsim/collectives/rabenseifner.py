"""Rabenseifner's allreduce: recursive-halving reduce-scatter, then recursive-doubling all-gather.

For ``p = 2^k`` the vector is cut into ``p`` blocks (``numpy.array_split``). Recursive
halving (:func:`~netsim.collectives.reduce_scatter.halving_reduce_scatter`) leaves rank
``r`` with block ``r`` of the sum in ``lg p`` exchanges of ``n/2, n/4, .., n/p`` bytes
(``received + own``); recursive doubling
(:func:`~netsim.collectives.all_gather.doubling_all_gather`) gathers the blocks back in
``lg p`` exchanges of ``n/p, .., n/2`` bytes. Uncontended time (REFERENCES §2):

    ``2 lg p·α + 2((p−1)/p)·n·β``.

Any ``p`` (MPICH, :class:`~netsim.collectives.recursive_doubling.PowerOfTwoFold`): with
``p' = 2^⌊lg p⌋`` and ``r = p − p'``, each odd rank ``2i + 1 < 2r`` first folds its
whole vector into ``2i`` (``received + own``), the ``p'`` survivors run the algorithm
above on ``p'`` blocks, and ``2i`` finally sends the whole result back to ``2i + 1``.
The fold and the unfold are two extra steps of ``α + nβ`` each (one-port model):

    ``(2⌊lg p⌋ + 2)·α + (2(p'−1)/p' + 2)·n·β``.

As for recursive doubling (see :mod:`netsim.collectives.recursive_doubling`), the ranks
outside the fold start early in netsim: the contention-free (``"analytic"``) time is at
most this one-port figure, but on a network that shares links their first messages reach
an even rank together with its fold, and the even ranks send their last block and the
unfold back to back. On an uncontended star with the ``"flow"`` model ``p = 3`` takes
``4α + 4nβ`` (one-port: ``4α + 3nβ``); other ``p`` up to about 1.8 times the one-port
figure at large ``n``. :func:`predict_time` (the registry's ``predict``) is the one-port
figure.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.all_gather import doubling_all_gather
from netsim.collectives.chunks import element_bytes, payload_nbytes
from netsim.collectives.comm import Communicator
from netsim.collectives.recursive_doubling import PowerOfTwoFold
from netsim.collectives.reduce_scatter import block_bounds, halving_reduce_scatter

__all__ = ["rabenseifner", "predict_time", "REGISTER"]


def predict_time(p: int, n: float, alpha: float, beta: float) -> float:
    """One-port α-β time of Rabenseifner's allreduce for ``p`` ranks and ``n`` bytes, seconds.

    ``2 lg p·α + 2((p−1)/p)nβ`` for ``p = 2^k``; otherwise the fold and unfold add
    ``2(α + nβ)`` to the time of ``p' = 2^⌊lg p⌋`` ranks.

    Examples
    --------
    >>> round(predict_time(4, 1e6, 1e-6, 1e-9), 12)
    0.001504
    >>> round(predict_time(6, 1e6, 1e-6, 1e-9), 12)
    0.003506
    """
    if p <= 1:
        return 0.0
    fold = PowerOfTwoFold(p)
    q = fold.pof2
    time = 2 * fold.steps * alpha + 2 * (q - 1) / q * n * beta
    if fold.rem:
        time += 2 * (alpha + n * beta)
    return time


def rabenseifner(
    comm: Communicator, rank: int, data: np.ndarray | None = None, nbytes: float | None = None
):
    """Sum ``data`` over all ranks with Rabenseifner's algorithm (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part (any number).
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
    """
    size = comm.size
    seq = comm.new_call(rank)
    total = payload_nbytes(data, nbytes)
    if size == 1:
        return None if data is None else data.copy()
    elem = element_bytes(data, nbytes)
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
    slots = fold.pof2
    bounds = None if data is None else block_bounds(len(data), slots)
    sizes = [total / slots] * slots
    value = yield from halving_reduce_scatter(
        comm, rank, fold, value, bounds, sizes, (seq, "halve"), elem
    )
    value = yield from doubling_all_gather(comm, rank, fold, value, sizes, (seq, "double"), elem)
    if fold.receives_fold(rank):
        send(rank, rank + 1, (seq, "unfold"), value, total)
    return value


REGISTER = (
    Algorithm(
        name="rabenseifner",
        operation="allreduce",
        run=rabenseifner,
        description="Rabenseifner: recursive-halving reduce-scatter + recursive-doubling all-gather",
        formula="2 lg p·a + 2((p-1)/p)nb (p = 2^k; else + 2(a + nb) for fold/unfold)",
        predict=predict_time,
        aliases=("halving_doubling",),
    ),
)
