"""Quantisers: none, fp16, bf16 (summable casts), QSGD and TernGrad (stochastic, unbiased).

Sizes for a unit of ``d`` elements, ``v`` = ``value_bytes`` (4 by default):

=========  ==========================  ==============================================
method     as sent                     ideal (bit-packed)
=========  ==========================  ==============================================
none       ``v·d``                     ``v·d``
fp16/bf16  ``2d``                      ``2d``
qsgd       ``d`` (s ≤ 127; 2d if       ``v + min(⌈E/8⌉, ⌈d·⌈lg(2s+1)⌉/8⌉)``, ``E`` the
           s > 127) ``+ v`` (norm)     Elias-gamma bits of the payload (QSGD §3.3)
terngrad   ``d + v`` (scale)           ``⌈d/4⌉ + v``
=========  ==========================  ==============================================

Examples
--------
>>> import numpy as np
>>> bf16_round(np.array([1.0 + 2**-8, 1.0 + 3 * 2**-8, 65504.0])).tolist()  # ties to even
[1.0, 1.015625, 65536.0]
>>> FP16().encode(np.array([0.1, 70000.0]), FP16().init_state(2)).summand
array([0.1, inf], dtype=float16)
"""

from __future__ import annotations

import numpy as np

from netsim.training.compression._params import check_int, check_optional_positive
from netsim.training.compression.base import (
    Payload,
    SingleRoundCompressor,
    WireSize,
    packed_bytes,
    unit_size,
)

__all__ = ["NoCompression", "FP16", "BF16", "QSGD", "TernGrad", "bf16_round", "elias_gamma_bits"]


def bf16_round(x: np.ndarray) -> np.ndarray:
    """Round to bfloat16 (carried in float32 with the low 16 bits zero).

    As PyTorch does: cast to float32, then round-to-nearest-even on the top 16 bits
    (sign, 8 exponent bits, 7 mantissa bits). Overflow gives ±inf; NaN stays NaN.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    numpy.ndarray of float32
    """
    with np.errstate(over="ignore"):
        f = np.asarray(x, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = bits.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(f), np.float32(np.nan), out).astype(np.float32)


def elias_gamma_bits(n: np.ndarray) -> np.ndarray:
    """Length in bits of the Elias-gamma code of each positive integer: ``2⌊lg n⌋ + 1``.

    >>> elias_gamma_bits(np.array([1, 2, 3, 4, 1000])).tolist()
    [1, 3, 3, 5, 19]
    """
    n = np.asarray(n, dtype=np.float64)
    return 2 * (np.frexp(n)[1].astype(np.int64) - 1) + 1


class NoCompression(SingleRoundCompressor):
    """Identity: the gradient itself is allreduced (summed in float64 by the kernel).

    Wire: ``value_bytes · d`` (fp32 by default, REFERENCES §4).
    """

    name = "none"
    summable = True

    def _encode(self, vec, state, rng):
        nbytes, values = self.value_bytes * vec.size, vec.copy()
        return Payload(self.name, vec.size, {"values": values}, nbytes, nbytes, summand=values)

    def decode(self, payload):
        return np.array(payload.summand, dtype=np.float64)

    def decode_sum(self, total, payload, workers):
        return np.asarray(total, dtype=np.float64) / workers

    def wire_size(self, shapes, step=None):
        n = self.value_bytes * unit_size(shapes)
        return WireSize(n, n)


class FP16(SingleRoundCompressor):
    """Cast to IEEE half precision (round to nearest even; ``|x| > 65504`` overflows to inf).

    The summand is a float16 array: the allreduce sums in float16, rounding after every
    addition in the collective's order (as NCCL does for half), and may overflow. The
    mean is then taken in float64. (PyTorch's ``fp16_compress_hook`` divides by the world
    size before the cast to avoid overflow; we do not.) Wire: ``2d``.
    """

    name = "fp16"
    summable = True

    def _encode(self, vec, state, rng):
        with np.errstate(over="ignore"):
            half = vec.astype(np.float16)
        return Payload(
            self.name, vec.size, {"values": half}, 2 * vec.size, 2 * vec.size, summand=half
        )

    def decode(self, payload):
        return payload.summand.astype(np.float64)

    def decode_sum(self, total, payload, workers):
        return np.asarray(total).astype(np.float64) / workers

    def wire_size(self, shapes, step=None):
        n = 2 * unit_size(shapes)
        return WireSize(n, n)


class BF16(SingleRoundCompressor):
    """Round to bfloat16 (:func:`bf16_round`).

    NumPy has no bfloat16, so the summand is a float32 array holding bf16 values: the
    allreduce sums in float32 and the sum is rounded back to bf16 once, before the float64
    mean (NCCL rounds to bf16 after every addition; the difference is one rounding per
    hop). The wire carries 2 bytes per element (``2d``), not the summand's ``nbytes``.
    """

    name = "bf16"
    summable = True

    def _encode(self, vec, state, rng):
        values = bf16_round(vec)
        return Payload(
            self.name, vec.size, {"values": values}, 2 * vec.size, 2 * vec.size, summand=values
        )

    def decode(self, payload):
        return payload.summand.astype(np.float64)

    def decode_sum(self, total, payload, workers):
        return bf16_round(total).astype(np.float64) / workers

    def wire_size(self, shapes, step=None):
        n = 2 * unit_size(shapes)
        return WireSize(n, n)


class QSGD(SingleRoundCompressor):
    """QSGD (Alistarh et al. 2017): stochastic rounding to ``s`` levels of ``|v_i|/‖v‖₂``.

    ``Q(v)_i = ‖v‖₂ · sgn(v_i) · ξ_i / s`` where ``ξ_i = ⌊s|v_i|/‖v‖⌋ + 1`` with probability
    ``s|v_i|/‖v‖ − ⌊s|v_i|/‖v‖⌋`` and ``⌊s|v_i|/‖v‖⌋`` otherwise: unbiased, with
    ``E‖Q(v) − v‖² ≤ min(d/s², √d/s)·‖v‖²``. One norm per unit (no sub-bucketing).

    Parameters
    ----------
    levels : int, optional
        ``s`` in ``[1, 32767]`` (default 127: one signed byte per element as sent).

    Notes
    -----
    Sent: the norm (``value_bytes``) and one signed integer ``sgn·ξ`` per element (int8 if
    ``s ≤ 127``, else int16). Ideal: the norm plus the cheaper of the Elias coding of
    QSGD §3.3 (for each nonzero: Elias-gamma of the index gap, a sign bit, Elias-gamma
    of ``ξ``) and fixed-width ``⌈lg(2s+1)⌉`` bits per element; it depends on the data, so
    :meth:`wire_size` gives the fixed-width bound.
    """

    name = "qsgd"
    stochastic = True
    data_dependent_size = True

    def __init__(
        self, levels: int = 127, *, value_bytes: int = 4, scope: str = "layerwise"
    ) -> None:
        super().__init__(value_bytes=value_bytes, scope=scope)
        self.levels = check_int(levels, "levels", 1, 32767)
        self._dtype = np.int8 if self.levels <= 127 else np.int16

    def _options(self):
        return {"levels": self.levels, **super()._options()}

    def _fixed_bits(self, d: int) -> int:
        return d * (2 * self.levels).bit_length()

    def _encode(self, vec, state, rng):
        s, d = self.levels, vec.size
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            levels = np.zeros(d, dtype=self._dtype)
        else:
            scaled = np.abs(vec) / norm * s
            low = np.floor(scaled)
            up = rng.random(d) < (scaled - low)
            levels = (np.sign(vec) * (low + up)).astype(self._dtype)
        nonzero = np.flatnonzero(levels)
        gaps = np.diff(nonzero, prepend=-1)
        elias = int(
            elias_gamma_bits(gaps).sum()
            + nonzero.size
            + elias_gamma_bits(np.abs(levels[nonzero])).sum()
        )
        ideal = self.value_bytes + min(packed_bytes(elias), packed_bytes(self._fixed_bits(d)))
        sent = self.value_bytes + d * np.dtype(self._dtype).itemsize
        return Payload(self.name, d, {"norm": np.array(norm), "levels": levels}, sent, ideal)

    def decode(self, payload):
        return (
            float(payload.parts["norm"]) * payload.parts["levels"].astype(np.float64) / self.levels
        )

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        sent = self.value_bytes + d * np.dtype(self._dtype).itemsize
        return WireSize(sent, self.value_bytes + packed_bytes(self._fixed_bits(d)))


class TernGrad(SingleRoundCompressor):
    """TernGrad (Wen et al. 2017): clip at ``c·σ``, then stochastic ternarisation.

    ``σ`` is the (population) standard deviation of the unit's entries; entries are
    clipped to ``[−cσ, cσ]`` (skipped when ``σ = 0``). With ``s = max|clipped|``, element
    ``i`` becomes ``s · sgn(g_i) · b_i``, ``b_i ~ Bernoulli(|g_i|/s)``: unbiased with respect
    to the CLIPPED gradient (:meth:`clip_gradient`). Sent: the scale (``value_bytes``)
    and one int8 in {−1, 0, 1} per element; ideal: 2 bits per element, ``⌈d/4⌉ + v``.

    Parameters
    ----------
    clip : float or None, optional
        ``c`` (default 2.5); ``None`` or ``0`` disables clipping.
    """

    name = "terngrad"
    stochastic = True

    def __init__(
        self, clip: float | None = 2.5, *, value_bytes: int = 4, scope: str = "layerwise"
    ) -> None:
        super().__init__(value_bytes=value_bytes, scope=scope)
        self.clip = check_optional_positive(clip, "clip")

    def _options(self):
        return {"clip": self.clip, **super()._options()}

    def clip_gradient(self, grad: np.ndarray) -> np.ndarray:
        """The clipped vector TernGrad ternarises (a new float64 array)."""
        vec = np.array(grad, dtype=np.float64)
        sigma = float(np.std(vec))
        if self.clip is None or sigma == 0.0:
            return vec
        bound = self.clip * sigma
        return np.clip(vec, -bound, bound)

    def _encode(self, vec, state, rng):
        clipped = self.clip_gradient(vec)
        scale = float(np.max(np.abs(clipped)))
        if scale == 0.0:
            tern = np.zeros(vec.size, dtype=np.int8)
        else:
            keep = rng.random(vec.size) < np.abs(clipped) / scale
            tern = (np.sign(clipped) * keep).astype(np.int8)
        size = self.wire_size(vec.size)
        return Payload(
            self.name, vec.size, {"scale": np.array(scale), "ternary": tern}, size.sent, size.ideal
        )

    def decode(self, payload):
        return float(payload.parts["scale"]) * payload.parts["ternary"].astype(np.float64)

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        return WireSize(d + self.value_bytes, packed_bytes(2 * d) + self.value_bytes)
