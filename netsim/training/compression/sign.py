"""One-bit methods: signSGD (majority vote), scaled sign (EF-signSGD) and 1-bit SGD.

Every element is sent as one bit, so ``sign(0)`` must be ``+1`` (a zero cannot be sent);
the methods below map ``x >= 0`` to ``+1`` (``-0.0`` included). Sizes for ``d`` elements,
``v`` = ``value_bytes``: as sent one byte per element (int8 / bool), ideal ``⌈d/8⌉``; plus
one scale ``v`` for the scaled sign and two means ``2v`` for 1-bit SGD (REFERENCES §4
lists "+4 scale"; 1-bit SGD needs two reconstruction values).

``ef_signsgd`` and ``onebit`` in the registry are :class:`ScaledSign` and
:class:`OneBitQuantizer` wrapped in :class:`~netsim.training.compression.ErrorFeedback`.

Examples
--------
>>> import numpy as np
>>> c = SignSGD()
>>> votes = [c.encode(np.array(g), c.init_state(4)) for g in ([1., -1., 2., 0.], [-1., -1., 3., -2.])]
>>> c.aggregate(votes)  # two workers: disagreement is a tie, voted 0
array([ 0., -1.,  1.,  0.])
"""

from __future__ import annotations

import numpy as np

from netsim.training.compression.base import (
    Payload,
    SingleRoundCompressor,
    WireSize,
    packed_bytes,
    unit_size,
)

__all__ = ["SignSGD", "ScaledSign", "OneBitQuantizer"]


def _signs(vec: np.ndarray) -> np.ndarray:
    return np.where(vec >= 0, 1, -1).astype(np.int8)


class SignSGD(SingleRoundCompressor):
    """signSGD with majority vote (Bernstein et al. 2018).

    Each worker sends ``sign(g)`` (±1 per element). :meth:`aggregate` returns the vote
    ``sign(Σ_w sign(g_w))`` in {−1, 0, +1}: a TIE (possible with an even number of
    workers) gives 0, i.e. no step on that coordinate. The vote is a step direction, not
    a mean: the optimizer scales it by the learning rate. Wire: ``d`` sent, ``⌈d/8⌉`` ideal.
    """

    name = "signsgd"
    aggregation = "majority_vote"

    def _encode(self, vec, state, rng):
        size = self.wire_size(vec.size)
        return Payload(self.name, vec.size, {"signs": _signs(vec)}, size.sent, size.ideal)

    def decode(self, payload):
        return payload.parts["signs"].astype(np.float64)

    def aggregate(self, payloads):
        """Majority vote: ``sign`` of the sum of the workers' signs (ties give 0)."""
        if not payloads:
            raise ValueError("aggregate needs at least one payload")
        total = np.zeros(payloads[0].size, dtype=np.int64)
        for p in payloads:
            total += p.parts["signs"]
        return np.sign(total).astype(np.float64)

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        return WireSize(d, packed_bytes(d))


class ScaledSign(SingleRoundCompressor):
    """Scaled sign ``(‖p‖₁/d) · sign(p)`` (Karimireddy et al. 2019; use with error feedback).

    Aggregation: the mean of the workers' scaled signs. Wire: ``d + v`` sent, ``⌈d/8⌉ + v``.
    """

    name = "scaled_sign"

    def _encode(self, vec, state, rng):
        scale = float(np.abs(vec).sum() / vec.size)
        size = self.wire_size(vec.size)
        return Payload(
            self.name,
            vec.size,
            {"scale": np.array(scale), "signs": _signs(vec)},
            size.sent,
            size.ideal,
        )

    def decode(self, payload):
        return float(payload.parts["scale"]) * payload.parts["signs"].astype(np.float64)

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        return WireSize(d + self.value_bytes, packed_bytes(d) + self.value_bytes)


class OneBitQuantizer(SingleRoundCompressor):
    """1-bit quantiser of 1-bit SGD (Seide et al. 2014; use with error feedback).

    Per unit, element ``i`` becomes ``a⁺`` if ``p_i >= 0`` else ``a⁻``, where ``a⁺`` and ``a⁻``
    are the means of the non-negative and of the negative entries (0 if there are none):
    the reconstruction that minimises the squared error for the 0 threshold. Aggregation:
    the mean of the workers' reconstructions. Wire: ``d + 2v`` sent, ``⌈d/8⌉ + 2v`` ideal.
    """

    name = "onebit_quantizer"

    def _encode(self, vec, state, rng):
        positive = vec >= 0
        high = float(vec[positive].mean()) if positive.any() else 0.0
        low = float(vec[~positive].mean()) if not positive.all() else 0.0
        size = self.wire_size(vec.size)
        parts = {"bits": positive, "means": np.array([high, low])}
        return Payload(self.name, vec.size, parts, size.sent, size.ideal)

    def decode(self, payload):
        high, low = payload.parts["means"]
        return np.where(payload.parts["bits"], high, low).astype(np.float64)

    def wire_size(self, shapes, step=None):
        d = unit_size(shapes)
        return WireSize(d + 2 * self.value_bytes, packed_bytes(d) + 2 * self.value_bytes)
