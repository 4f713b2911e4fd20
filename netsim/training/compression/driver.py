"""Running exchanges without a network, and the helpers a driver needs.

:func:`exchange_locally` is the reference semantics of
:meth:`~netsim.training.compression.base.Compressor.exchange` for ``p`` workers in one
process; :func:`worker_rngs` builds the generators (shared or independent) and
:func:`compression_units` cuts the flat gradient by the compressor's scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from netsim.training.compression._params import check_int
from netsim.training.compression.base import Compressor, CompressorState, Round

__all__ = ["LocalExchange", "exchange_locally", "worker_rngs", "compression_units"]


@dataclass
class LocalExchange:
    """What :func:`exchange_locally` returns.

    Attributes
    ----------
    outputs : list of numpy.ndarray
        Each worker's aggregated vector.
    rounds : list of list of Round
        ``rounds[i][w]``: round ``i`` as requested by worker ``w``.
    """

    outputs: list[np.ndarray]
    rounds: list[list[Round]]

    def wire_bytes(self) -> list[int]:
        """Bytes each worker contributed over all rounds (as sent)."""
        return [sum(r[w].wire_bytes for r in self.rounds) for w in range(len(self.outputs))]

    def ideal_bytes(self) -> list[int]:
        """Bytes each worker contributed over all rounds (bit-packed)."""
        return [sum(r[w].ideal_bytes for r in self.rounds) for w in range(len(self.outputs))]


def exchange_locally(
    compressor: Compressor,
    grads: Sequence[np.ndarray],
    states: Sequence[CompressorState],
    rngs: Sequence[np.random.Generator | None] | None = None,
) -> LocalExchange:
    """Run one exchange of every worker in lock step, without a network.

    Allreduce rounds sum the arrays in rank order (in their dtype); all-gather rounds
    hand every worker the list of payloads. This is the semantics a SimPy driver must
    reproduce (up to the summation order of its collective).

    Parameters
    ----------
    compressor : Compressor
    grads : sequence of numpy.ndarray
        One gradient per worker, shape ``(d,)``.
    states : sequence of CompressorState
        One state per worker (updated).
    rngs : sequence of numpy.random.Generator, optional
        One per worker (see :func:`worker_rngs`); required if ``compressor.needs_rng``.

    Returns
    -------
    LocalExchange

    Examples
    --------
    >>> from netsim.training.compression import make_compressor
    >>> c = make_compressor("signsgd")
    >>> grads = [np.array([1.0, -2.0, 3.0]), np.array([-1.0, -1.0, 2.0]), np.array([0.5, 1.0, -1.0])]
    >>> result = exchange_locally(c, grads, [c.init_state(3) for _ in grads])
    >>> result.outputs[0], result.wire_bytes()
    (array([ 1., -1.,  1.]), [3, 3, 3])
    """
    workers = len(grads)
    if len(states) != workers or (rngs is not None and len(rngs) != workers):
        raise ValueError("one state (and one generator) per worker is required")
    rngs = list(rngs) if rngs is not None else [None] * workers
    sessions = [
        compressor.exchange(g, s, r, workers) for g, s, r in zip(grads, states, rngs, strict=True)
    ]
    requests = [next(s) for s in sessions]
    outputs: list = [None] * workers
    rounds: list[list[Round]] = []
    while True:
        ops = {r.op for r in requests}
        if len(ops) != 1:
            raise RuntimeError(
                f"workers requested different operations in one round: {sorted(ops)}"
            )
        rounds.append(requests)
        if requests[0].op == "allreduce":
            result = np.asarray(requests[0].data).copy()
            with np.errstate(over="ignore"):  # fp16 sums may overflow to inf, as on a GPU
                for r in requests[1:]:
                    result = result + r.data
        else:
            result = [r.data for r in requests]
        pending = []
        for w, session in enumerate(sessions):
            try:
                pending.append(session.send(result))
            except StopIteration as done:
                outputs[w] = done.value
        if not pending:
            return LocalExchange(outputs, rounds)
        if len(pending) != workers:
            raise RuntimeError("workers finished the exchange after different numbers of rounds")
        requests = pending


def worker_rngs(
    compressor: Compressor, seed: int | np.random.SeedSequence, workers: int
) -> list[np.random.Generator]:
    """One generator per worker for ``compressor``.

    With ``shared_randomness`` every worker gets a generator built from the SAME seed
    (identical streams: they stay in step because every worker draws the same amounts);
    otherwise independent streams from ``SeedSequence.spawn``.
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    workers = check_int(workers, "workers", 1)
    if compressor.shared_randomness:
        return [np.random.default_rng(seq) for _ in range(workers)]
    return [np.random.default_rng(child) for child in seq.spawn(workers)]


def compression_units(
    compressor: Compressor, slices: Sequence[tuple[int, int]], total: int
) -> list[tuple[int, int]]:
    """The ``[start, stop)`` slices of the flat gradient compressed one call each.

    ``layerwise``: the given slices (DDP buckets or tensors); ``global``: ``[(0, total)]``
    (a global unit can only be sent once the whole backward pass is done).

    >>> from netsim.training.compression import make_compressor
    >>> compression_units(make_compressor("topk", scope="global"), [(8, 10), (0, 8)], 10)
    [(0, 10)]
    """
    if compressor.scope == "global":
        return [(0, int(total))]
    return [(int(a), int(b)) for a, b in slices]
