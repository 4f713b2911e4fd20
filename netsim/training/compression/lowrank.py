"""PowerSGD (Vogels et al. 2019), as PyTorch's ``powerSGD_hook``: two allreduces per step.

Each tensor of a unit is viewed as a matrix ``n × m`` with ``n = shape[0]`` and ``m`` the
product of the other dimensions (a vector of ``d`` elements is ``d × 1``). With rank
``r' = min(n, m, rank)`` it is COMPRESSED iff ``(n + m)·r'·min_compression_rate < n·m``;
other tensors (vectors, small matrices) are sent uncompressed.

One exchange of a worker (``M_i`` its matrices, ``e`` its residual)::

    M = grad + e                                   (error feedback, if on)
    Q_i: previous step's Q_i (warm start), else N(0, 1) from the SHARED generator;
         orthogonalised (Gram-Schmidt)
    round 1 (allreduce, "P"):  [uncompressed entries] + [P_i = M_i Q_i]        -> sums
    orthogonalise each summed P_i
    round 2 (allreduce, "Q"):  [Q_i = M_iᵀ P_i]                                -> sums
    Q_i ← Q_i / workers;   result: uncompressed sum / workers,  M̂_i = P_i Q_iᵀ
    e ← M − result                                  (uses the AGGREGATED result)
    keep Q_i for the next step's warm start

Round 2 is skipped when no tensor is compressed. PyTorch allreduces the uncompressed
tensors and ``P`` back to back; here they share round 1 (same bytes, one latency term
less). If the summed matrix ``Σ_w M_w`` has rank ``<= r'``, one exchange reconstructs the
mean EXACTLY (``P`` spans its column space, so ``P Pᵀ M = M``) from any generic ``Q``;
otherwise warm start makes successive steps a power iteration towards the best
rank-``r'`` approximation. Wire per exchange: ``v·(u + Σ n_i r'_i)`` then ``v·Σ m_i r'_i``
(``u`` uncompressed elements, ``v = value_bytes``): ``4r(n + m)`` for one fp32 matrix.

The phases are public for drivers that do not use the generator:
:meth:`PowerSGD.encode_p`, :meth:`PowerSGD.encode_q`, :meth:`PowerSGD.decode_q`.

Examples
--------
>>> c = PowerSGD(rank=1)
>>> [p.compressed for p in c.plan([(64, 33), (33,)])]  # the bias vector is sent as is
[True, False]
>>> c.round_sizes([(64, 33), (33,)])  # P: 4·(33 + 64), Q: 4·33
[WireSize(sent=388, ideal=388), WireSize(sent=132, ideal=132)]
>>> c.compression_ratio([(64, 33), (33,)])
16.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netsim.training.compression._params import check_bool, check_int, check_real
from netsim.training.compression.base import (
    Compressor,
    CompressorState,
    Round,
    Shapes,
    WireSize,
    normalize_shapes,
)

__all__ = ["PowerSGD", "MatrixPlan", "orthogonalize"]


def orthogonalize(matrix: np.ndarray) -> np.ndarray:
    """Gram-Schmidt on the columns of ``matrix``, in place; returns it.

    A column that becomes zero stays zero (PyTorch's epsilon-free version would divide
    by zero).
    """
    cols = matrix.shape[1]
    for i in range(cols):
        col = matrix[:, i]
        norm = float(np.linalg.norm(col))
        if norm > 0.0:
            col /= norm
        if i + 1 < cols:
            rest = matrix[:, i + 1 :]
            rest -= np.outer(col, col @ rest)
    return matrix


@dataclass(frozen=True)
class MatrixPlan:
    """How one tensor of a unit is sent: ``[start, start + rows·cols)`` of the flat vector."""

    start: int
    rows: int
    cols: int
    rank: int
    compressed: bool

    @property
    def size(self) -> int:
        return self.rows * self.cols

    @property
    def stop(self) -> int:
        return self.start + self.size


class PowerSGD(Compressor):
    """PowerSGD low-rank compression with warm start and error feedback (module docstring).

    Parameters
    ----------
    rank : int, optional
        Approximation rank ``r >= 1`` (default 1).
    warm_start : bool, optional
        Reuse ``Q`` across steps (default True); otherwise draw a fresh one every step.
    error_feedback : bool, optional
        Keep the residual ``e`` (default True).
    min_compression_rate : float, optional
        Compress a tensor only if ``n·m / ((n + m)·r') > min_compression_rate`` (default 2).
    start_step : int, optional
        Plain allreduce (one round, ``v·d`` bytes, no residual) for the first steps, like
        PyTorch's ``start_powerSGD_iter`` (default 0).
    """

    name = "powersgd"
    summable = True
    rounds = 2
    shared_randomness = True
    builtin_error_feedback = True

    def __init__(
        self,
        rank: int = 1,
        *,
        warm_start: bool = True,
        error_feedback: bool = True,
        min_compression_rate: float = 2.0,
        start_step: int = 0,
        value_bytes: int = 4,
        scope: str = "layerwise",
    ) -> None:
        super().__init__(value_bytes=value_bytes, scope=scope)
        self.rank = check_int(rank, "rank", 1)
        self.warm_start = check_bool(warm_start, "warm_start")
        self.error_feedback = check_bool(error_feedback, "error_feedback")
        self.min_compression_rate = check_real(min_compression_rate, "min_compression_rate", 0.0)
        self.start_step = check_int(start_step, "start_step", 0)

    def _options(self):
        return {
            "rank": self.rank,
            "warm_start": self.warm_start,
            "error_feedback": self.error_feedback,
            "min_compression_rate": self.min_compression_rate,
            "start_step": self.start_step,
            **super()._options(),
        }

    # --- planning and sizes ---

    def plan(self, shapes: Shapes) -> list[MatrixPlan]:
        """The matrix view and compression decision of every tensor, in order."""
        plans, start = [], 0
        for shape in normalize_shapes(shapes):
            rows = shape[0] if shape else 1
            cols = math.prod(shape[1:]) if len(shape) > 1 else 1
            if rows * cols == 0:
                continue
            r = min(rows, cols, self.rank)
            compressed = (rows + cols) * r * self.min_compression_rate < rows * cols
            plans.append(MatrixPlan(start, rows, cols, r, compressed))
            start += rows * cols
        return plans

    def round_sizes(self, shapes: Shapes, step: int | None = None) -> list[WireSize]:
        """Bytes of round 1 (uncompressed + P) and, if any tensor is compressed, round 2 (Q).

        Before ``start_step``: one dense round.
        """
        plans = self.plan(shapes)
        if step is not None and step < self.start_step:
            n = self.value_bytes * sum(p.size for p in plans)
            return [WireSize(n, n)]
        first = sum(p.rows * p.rank if p.compressed else p.size for p in plans)
        second = sum(p.cols * p.rank for p in plans if p.compressed)
        sizes = [WireSize(self.value_bytes * first, self.value_bytes * first)]
        if any(p.compressed for p in plans):
            sizes.append(WireSize(self.value_bytes * second, self.value_bytes * second))
        return sizes

    def wire_size(self, shapes, step=None):
        total = WireSize(0, 0)
        for size in self.round_sizes(shapes, step):
            total = total + size
        return total

    def compression_ratio(self, shapes: Shapes) -> float:
        """Elements of the unit over elements sent per exchange (both rounds)."""
        plans = self.plan(shapes)
        sent = sum(p.rank * (p.rows + p.cols) if p.compressed else p.size for p in plans)
        return sum(p.size for p in plans) / sent

    # --- state and phases ---

    def _init_buffers(self, state):
        state.scratch["plan"] = self.plan(state.shapes)
        if self.error_feedback:
            state.buffers["error"] = np.zeros(state.size)

    def encode_p(self, grad: np.ndarray, state: CompressorState, rng: np.random.Generator) -> Round:
        """Phase 1: add the residual, compute ``P_i = M_i Q_i``; the round-1 allreduce request."""
        vec = self._check(grad, state, rng)
        plans = state.scratch["plan"]
        m = vec + state.buffers["error"] if self.error_feedback else vec.copy()
        stored = state.buffers.get("q")
        qs, offset = [], 0
        for p in plans:
            if not p.compressed:
                continue
            if self.warm_start and stored is not None:
                q = stored[offset : offset + p.cols * p.rank].reshape(p.cols, p.rank).copy()
                offset += p.cols * p.rank
            else:
                q = rng.standard_normal((p.cols, p.rank))
            qs.append(orthogonalize(q))
        matrices = [m[p.start : p.stop].reshape(p.rows, p.cols) for p in plans if p.compressed]
        pieces = [m[p.start : p.stop] for p in plans if not p.compressed]
        pieces += [(mat @ q).ravel() for mat, q in zip(matrices, qs, strict=True)]
        data = np.concatenate(pieces)
        state.scratch.update(m=m, matrices=matrices)
        nbytes = self.value_bytes * data.size
        return Round("allreduce", data, nbytes, nbytes, "P")

    def encode_q(self, p_sum: np.ndarray, state: CompressorState) -> Round | None:
        """Phase 2: orthogonalise the summed ``P_i``, compute ``Q_i = M_iᵀ P_i``; the round-2 request.

        Returns ``None`` when no tensor is compressed (there is no round 2).
        """
        plans = state.scratch["plan"]
        p_sum = np.asarray(p_sum, dtype=np.float64)
        offset = sum(p.size for p in plans if not p.compressed)
        ps = []
        for p in plans:
            if p.compressed:
                ps.append(
                    orthogonalize(
                        p_sum[offset : offset + p.rows * p.rank].reshape(p.rows, p.rank).copy()
                    )
                )
                offset += p.rows * p.rank
        state.scratch.update(p_sum=p_sum, ps=ps)
        if not ps:
            return None
        data = np.concatenate(
            [(mat.T @ pm).ravel() for mat, pm in zip(state.scratch["matrices"], ps, strict=True)]
        )
        nbytes = self.value_bytes * data.size
        return Round("allreduce", data, nbytes, nbytes, "Q")

    def decode_q(
        self, q_sum: np.ndarray | None, state: CompressorState, workers: int
    ) -> np.ndarray:
        """Phase 3: the mean ``(d,)``; updates the residual and the warm-start ``Q``; ends the step."""
        scratch = state.scratch
        plans, p_sum, ps = scratch["plan"], scratch["p_sum"], scratch["ps"]
        out = np.empty(state.size)
        offset = 0
        for p in plans:
            if not p.compressed:
                out[p.start : p.stop] = p_sum[offset : offset + p.size] / workers
                offset += p.size
        if ps:
            q_all = np.asarray(q_sum, dtype=np.float64) / workers
            offset, index = 0, 0
            for p in plans:
                if p.compressed:
                    q = q_all[offset : offset + p.cols * p.rank].reshape(p.cols, p.rank)
                    out[p.start : p.stop] = (ps[index] @ q.T).ravel()
                    offset += p.cols * p.rank
                    index += 1
            if self.warm_start:
                state.buffers["q"] = q_all
        if self.error_feedback:
            state.buffers["error"] = scratch["m"] - out
        for key in ("m", "matrices", "p_sum", "ps"):
            scratch.pop(key, None)
        state.step += 1
        return out

    def exchange(self, grad, state, rng, workers):
        """Two allreduce rounds (``P``, then ``Q``), or one plain round before ``start_step``."""
        if state.step < self.start_step:
            vec = self._check(grad, state, rng).copy()
            nbytes = self.value_bytes * vec.size
            total = yield Round("allreduce", vec, nbytes, nbytes, "dense")
            state.step += 1
            return np.asarray(total, dtype=np.float64) / workers
        p_sum = yield self.encode_p(grad, state, rng)
        second = self.encode_q(p_sum, state)
        q_sum = None if second is None else (yield second)
        return self.decode_q(q_sum, state, workers)
