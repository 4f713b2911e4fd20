"""Error feedback as a wrapper around any single-round compressor.

``ErrorFeedback(inner)`` keeps a residual ``e`` (zero at first) per worker and unit::

    p = lr·g + e        (lr = None: p = g + e)
    Δ = C(p)            the inner payload; decode(Δ) is what this worker contributed
    e ← p − decode(Δ)

so that, after any number of steps, ``Σ_t decode(Δ_t) + e = Σ_t lr·g_t`` (up to float
rounding): nothing is lost, only delayed (Seide 2014; Stich 2018; Karimireddy 2019).
The residual stays bounded only for contractive compressors (``E‖C(x) − x‖² < ‖x‖²``: top-k,
unscaled random-k, signs, 1-bit, QSGD with ``min(d/s², √d/s) < 1``); with random-k scaled by
``d/k`` it grows geometrically.

Units. REFERENCES §4 writes ``p = lr·g + e``: the aggregate is then an UPDATE in parameter
units and the driver must apply ``params -= aggregate`` without another learning rate
(:attr:`ErrorFeedback.update_units` is True). With ``lr = None`` (the registry's default)
``p = g + e`` stays in gradient units and the optimizer applies the learning rate as
usual. With a constant learning rate, plain SGD and a positively homogeneous ``C``
(``C(λx) = λC(x)``: top-k, random-k, scaled sign, 1-bit, signSGD's direction) both
conventions give the same parameters (the residuals differ by the factor ``lr``);
threshold, fp16/bf16 and the stochastic quantisers are not homogeneous.

Examples
--------
>>> import numpy as np
>>> from netsim.training.compression import TopK
>>> ef = ErrorFeedback(TopK(ratio=0.5))
>>> state = ef.init_state(4)
>>> ef.decode(ef.encode(np.array([1.0, -3.0, 2.0, 0.5]), state))
array([ 0., -3.,  2.,  0.])
>>> ef.residual(state)
array([1. , 0. , 0. , 0.5])
"""

from __future__ import annotations

import numpy as np

from netsim.training.compression._params import check_real
from netsim.training.compression.base import SingleRoundCompressor

__all__ = ["ErrorFeedback"]


class ErrorFeedback(SingleRoundCompressor):
    """Wrap ``inner`` with error feedback (module docstring).

    Parameters
    ----------
    inner : SingleRoundCompressor
        Any single-round compressor without built-in error feedback (not PowerSGD or DGC).
    lr : float or None, optional
        Scale of the gradient in ``p = lr·g + e``; ``None`` (default) for ``p = g + e``.
    name : str, optional
        Name reported by the wrapper (default ``"<inner>+ef"``).

    Raises
    ------
    TypeError
        If ``inner`` is not a single-round compressor or already keeps a residual.
    """

    builtin_error_feedback = True

    def __init__(
        self, inner: SingleRoundCompressor, *, lr: float | None = None, name: str | None = None
    ) -> None:
        if not isinstance(inner, SingleRoundCompressor):
            raise TypeError(f"error feedback wraps single-round compressors, got {inner!r}")
        if inner.builtin_error_feedback:
            raise TypeError(
                f"{inner.name} already keeps its own residual; it cannot be wrapped in ErrorFeedback"
            )
        super().__init__(value_bytes=inner.value_bytes, scope=inner.scope)
        self.inner = inner
        self.lr = None if lr is None else check_real(lr, "lr", 0.0, low_open=True)
        self.name = name or f"{inner.name}+ef"
        self.summable = inner.summable
        self.aggregation = inner.aggregation
        self.stochastic = inner.stochastic
        self.shared_randomness = inner.shared_randomness
        self.data_dependent_size = inner.data_dependent_size

    def __repr__(self) -> str:
        return f"ErrorFeedback({self.inner!r}, lr={self.lr!r}, name={self.name!r})"

    @property
    def update_units(self) -> bool:
        """True when ``lr`` is set: the aggregate is a parameter update, not a gradient."""
        return self.lr is not None

    def init_state(self, shapes):
        """State holding the ``residual`` buffer; the inner compressor's state is ``state.inner``."""
        state = super().init_state(shapes)
        state.buffers["residual"] = np.zeros(state.size)
        state.inner = self.inner.init_state(shapes)
        return state

    def residual(self, state) -> np.ndarray:
        """The current residual ``e`` of ``state`` (a view)."""
        return state.buffers["residual"]

    def _encode(self, vec, state, rng):
        p = (vec if self.lr is None else self.lr * vec) + state.buffers["residual"]
        payload = self.inner.encode(p, state.inner, rng)
        state.buffers["residual"] = p - self.inner.decode(payload)
        return payload

    def decode(self, payload):
        return self.inner.decode(payload)

    def decode_sum(self, total, payload, workers):
        return self.inner.decode_sum(total, payload, workers)

    def _check_summable(self, payloads):
        self.inner._check_summable(payloads)

    def aggregate(self, payloads):
        return self.inner.aggregate(payloads)

    def wire_size(self, shapes, step=None):
        return self.inner.wire_size(shapes, step)
