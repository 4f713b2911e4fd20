"""Sparsifiers: top-k, random-k (shared seed, summable), threshold and DGC.

Sizes for a unit of ``d`` elements with ``k`` entries kept, ``v`` = ``value_bytes``,
``i`` = ``index_bytes`` (4 = int32, 8 = int64):

=========  ===================  ===========================================
method     as sent              ideal (bit-packed)
=========  ===================  ===========================================
topk, dgc  ``(v + i)·k``        ``v·k + ⌈k·⌈lg d⌉/8⌉`` (``⌈lg d⌉``-bit indices)
threshold  ``(v + i)·nnz``      ``v·nnz + ⌈nnz·⌈lg d⌉/8⌉``
randomk    ``v·k``              ``v·k`` (indices re-derived from the shared seed)
=========  ===================  ===========================================

``k = ⌈ρd⌉`` (:func:`~netsim.training.compression.base.count_for_ratio`). Kept entries are
sent in increasing index order.

Examples
--------
>>> import numpy as np
>>> top_k_indices(np.array([1.0, -5.0, 3.0, 5.0, 0.0]), 2)  # ties: lower index first
array([1, 3])
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from netsim.training.compression._params import (
    check_bool,
    check_choice,
    check_fractions,
    check_int,
    check_optional_positive,
    check_real,
)
from netsim.training.compression.base import (
    Payload,
    SingleRoundCompressor,
    WireSize,
    count_for_ratio,
    index_bits,
    packed_bytes,
    unit_size,
)

__all__ = ["top_k_indices", "TopK", "RandomK", "Threshold", "DGC", "DGC_WARMUP"]

DGC_WARMUP = (0.75, 0.9375, 0.984375, 0.996)
"""DGC's warm-up sparsities (Lin et al. 2018), before the final 0.999."""


def top_k_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``|values|``, sorted; ties go to the lower index.

    O(d): one partition, then the entries above the k-th magnitude and as many of the
    entries equal to it as needed, lowest indices first.
    """
    magnitude = np.abs(values)
    d = magnitude.size
    if k >= d:
        return np.arange(d)
    kth = np.partition(magnitude, d - k)[d - k]
    above = np.flatnonzero(magnitude > kth)
    ties = np.flatnonzero(magnitude == kth)[: k - above.size]
    return np.sort(np.concatenate([above, ties]))


class _Sparse(SingleRoundCompressor):
    """Shared encoding of (values, indices) payloads, all-gathered and summed densely."""

    def __init__(
        self, *, index_bytes: int = 4, value_bytes: int = 4, scope: str = "layerwise"
    ) -> None:
        super().__init__(value_bytes=value_bytes, scope=scope)
        self.index_bytes = check_choice(index_bytes, "index_bytes", (4, 8))

    def _options(self):
        return {"index_bytes": self.index_bytes, **super()._options()}

    def _sizes(self, k: int, d: int) -> WireSize:
        return WireSize(
            (self.value_bytes + self.index_bytes) * k,
            self.value_bytes * k + packed_bytes(k * index_bits(d)),
        )

    def _payload(self, d: int, indices: np.ndarray, values: np.ndarray) -> Payload:
        if self.index_bytes == 4 and d > 2**31:
            raise ValueError(f"{self.name}: {d} elements need int64 indices (index_bytes = 8)")
        size = self._sizes(indices.size, d)
        parts = {"values": np.array(values, dtype=np.float64), "indices": indices.astype(np.int64)}
        return Payload(self.name, d, parts, size.sent, size.ideal)

    def decode(self, payload):
        dense = np.zeros(payload.size)
        dense[payload.parts["indices"]] = payload.parts["values"]
        return dense


class TopK(_Sparse):
    """Top-k sparsification: keep the ``k = ⌈ρd⌉`` entries of largest magnitude.

    Layer-wise (``scope = "layerwise"``) selects within each unit the driver passes;
    global (``scope = "global"``) means the driver passes the whole flat gradient in one
    call, so ``k = ⌈ρD⌉`` over the model. Usually combined with error feedback.

    Parameters
    ----------
    ratio : float, optional
        ``ρ`` in ``(0, 1]`` (default 0.01).
    index_bytes : int, optional
        4 (int32, default) or 8 (int64) bytes per index as sent.
    """

    name = "topk"

    def __init__(
        self,
        ratio: float = 0.01,
        *,
        index_bytes: int = 4,
        value_bytes: int = 4,
        scope: str = "layerwise",
    ):
        super().__init__(index_bytes=index_bytes, value_bytes=value_bytes, scope=scope)
        self.ratio = check_real(ratio, "ratio", 0.0, 1.0, low_open=True, high_open=False)

    def _options(self):
        return {"ratio": self.ratio, **super()._options()}

    def _encode(self, vec, state, rng):
        indices = top_k_indices(vec, count_for_ratio(self.ratio, vec.size))
        return self._payload(vec.size, indices, vec[indices])

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        return self._sizes(count_for_ratio(self.ratio, d), d)


class Threshold(_Sparse):
    """Threshold sparsification: keep the entries with ``|g_i| > τ`` (Strom 2015).

    The number kept depends on the data; :meth:`wire_size` is the bound ``nnz = d``.

    Parameters
    ----------
    threshold : float
        ``τ >= 0`` (required).
    index_bytes : int, optional
        4 or 8.
    """

    name = "threshold"
    data_dependent_size = True

    def __init__(
        self,
        threshold: float,
        *,
        index_bytes: int = 4,
        value_bytes: int = 4,
        scope: str = "layerwise",
    ):
        super().__init__(index_bytes=index_bytes, value_bytes=value_bytes, scope=scope)
        self.threshold = check_real(threshold, "threshold", 0.0)

    def _options(self):
        return {"threshold": self.threshold, **super()._options()}

    def _encode(self, vec, state, rng):
        indices = np.flatnonzero(np.abs(vec) > self.threshold)
        return self._payload(vec.size, indices, vec[indices])

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        return self._sizes(d, d)


class RandomK(SingleRoundCompressor):
    """Random-k sparsification with a seed shared by all workers (summable).

    Every worker draws the same ``k = ⌈ρd⌉`` indices (without replacement) from its copy
    of the shared generator, so only the ``k`` values travel and they can be allreduced.
    With ``scaled`` (default) the values are multiplied by ``d/k``, making the estimate
    unbiased (``E[C(g)] = g``); unscaled is the usual choice with error feedback
    (Stich et al. 2018). Wire: ``v·k`` (sent and ideal).

    Parameters
    ----------
    ratio : float, optional
        ``ρ`` in ``(0, 1]`` (default 0.01).
    scaled : bool, optional
    """

    name = "randomk"
    summable = True
    shared_randomness = True

    def __init__(
        self,
        ratio: float = 0.01,
        *,
        scaled: bool = True,
        value_bytes: int = 4,
        scope: str = "layerwise",
    ):
        super().__init__(value_bytes=value_bytes, scope=scope)
        self.ratio = check_real(ratio, "ratio", 0.0, 1.0, low_open=True, high_open=False)
        self.scaled = check_bool(scaled, "scaled")

    def _options(self):
        return {"ratio": self.ratio, "scaled": self.scaled, **super()._options()}

    def _encode(self, vec, state, rng):
        d = vec.size
        k = count_for_ratio(self.ratio, d)
        indices = np.sort(rng.choice(d, size=k, replace=False))
        values = vec[indices]
        nbytes = self.value_bytes * k
        meta = {"indices": indices, "scale": d / k if self.scaled else 1.0}
        return Payload(self.name, d, {"values": values}, nbytes, nbytes, summand=values, meta=meta)

    def decode(self, payload):
        dense = np.zeros(payload.size)
        dense[payload.meta["indices"]] = payload.summand * payload.meta["scale"]
        return dense

    def _check_summable(self, payloads):
        first = payloads[0].meta["indices"]
        for p in payloads[1:]:
            if not np.array_equal(p.meta["indices"], first):
                raise ValueError("random-k payloads drawn with different seeds cannot be summed")

    def decode_sum(self, total, payload, workers):
        dense = np.zeros(payload.size)
        dense[payload.meta["indices"]] = (
            np.asarray(total, dtype=np.float64) * payload.meta["scale"] / workers
        )
        return dense

    def wire_size(self, shapes, step=None):
        n = self.value_bytes * count_for_ratio(self.ratio, unit_size(shapes))
        return WireSize(n, n)


class DGC(_Sparse):
    """Deep Gradient Compression (Lin et al. 2018), per worker and unit.

    Each step, with ``g`` the local gradient::

        g ← g · min(1, clip_norm / ‖g‖₂)          local gradient clipping (if clip_norm)
        u ← momentum · u + g                      momentum correction: local velocity
        v ← v + u                                 local accumulation
        send the top-k of v, k = ⌈(1 − s_t)·d⌉    s_t: sparsity of this step
        v ← 0, u ← 0 where sent                   (momentum factor masking)

    The aggregate is the mean of the workers' sparse ``v`` (gradient units, momentum
    included): apply it with plain SGD, WITHOUT optimizer momentum. Warm-up: with
    ``warmup_steps = n > 0``, step ``t`` uses ``warmup[t // n]`` while ``t < n·len(warmup)``,
    then ``sparsity``; the defaults give 75%, 93.75%, 98.4375%, 99.6%, then 99.9%.
    Sizes as top-k at the step's ``k``.

    Parameters
    ----------
    sparsity : float, optional
        Final sparsity ``s`` in ``[0, 1)`` (default 0.999).
    momentum : float, optional
        In ``[0, 1)`` (default 0.9).
    clip_norm : float or None, optional
        Local L2 clipping threshold (the paper scales the global one by ``N^(-1/2)`` for
        ``N`` workers); ``None`` or ``0``: no clipping (default).
    warmup : sequence of float, optional
        Sparsities of the warm-up stages (default :data:`DGC_WARMUP`).
    warmup_steps : int, optional
        Steps per warm-up stage, e.g. the steps of one epoch; 0 (default) disables it.
    index_bytes : int, optional
        4 or 8.
    """

    name = "dgc"
    builtin_error_feedback = True

    def __init__(
        self,
        sparsity: float = 0.999,
        *,
        momentum: float = 0.9,
        clip_norm: float | None = None,
        warmup=DGC_WARMUP,
        warmup_steps: int = 0,
        index_bytes: int = 4,
        value_bytes: int = 4,
        scope: str = "layerwise",
    ) -> None:
        super().__init__(index_bytes=index_bytes, value_bytes=value_bytes, scope=scope)
        self.sparsity = check_real(sparsity, "sparsity", 0.0, 1.0)
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)
        self.clip_norm = check_optional_positive(clip_norm, "clip_norm")
        self.warmup = check_fractions(warmup, "warmup")
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", 0)

    def _options(self):
        return {
            "sparsity": self.sparsity,
            "momentum": self.momentum,
            "clip_norm": self.clip_norm,
            "warmup": self.warmup,
            "warmup_steps": self.warmup_steps,
            **super()._options(),
        }

    def sparsity_at(self, step: int) -> float:
        """Sparsity used at ``step`` (0-based)."""
        if self.warmup_steps and step < self.warmup_steps * len(self.warmup):
            return self.warmup[step // self.warmup_steps]
        return self.sparsity

    def count_at(self, step: int | None, d: int) -> int:
        """Entries sent at ``step`` (``None``: after warm-up): ``⌈(1 − s_t)·d⌉``."""
        sparsity = self.sparsity if step is None else self.sparsity_at(step)
        density = Decimal(1) - Decimal(repr(sparsity))
        return count_for_ratio(float(density), d)

    def _init_buffers(self, state):
        state.buffers["velocity"] = np.zeros(state.size)
        state.buffers["accumulation"] = np.zeros(state.size)

    def _encode(self, vec, state, rng):
        grad = vec
        if self.clip_norm is not None:
            norm = float(np.linalg.norm(grad))
            if norm > self.clip_norm:
                grad = grad * (self.clip_norm / norm)
        u = state.buffers["velocity"]
        v = state.buffers["accumulation"]
        u *= self.momentum
        u += grad
        v += u
        indices = top_k_indices(v, self.count_at(state.step, vec.size))
        payload = self._payload(vec.size, indices, v[indices])
        v[indices] = 0.0
        u[indices] = 0.0
        return payload

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        return self._sizes(self.count_at(step, d), d)
