"""Gradient clipping by global norm and element-wise weight clipping.

:func:`clip_grad_norm` follows ``torch.nn.utils.clip_grad_norm_``: the *global* norm
is taken over the whole gradient, so it must be applied to the full (averaged)
gradient **before** the gradient is sliced into buckets or shards — per-slice
clipping (e.g. inside the per-bucket optimizers of a parameter server) would clip
each slice by its own norm, which is a different update. With data parallelism,
PyTorch DDP clips after the allreduce, i.e. the averaged gradient, on every replica.

:func:`clip_weights` clamps every parameter to ``[−limit, limit]`` (the weight
clipping of Wasserstein GANs, Arjovsky et al. 2017); it is element-wise and commutes
with slicing.

Examples
--------
>>> import numpy as np
>>> clipped, norm = clip_grad_norm(np.array([3.0, 4.0]), max_norm=1.0)
>>> norm, np.round(clipped, 6)
(5.0, array([0.6, 0.8]))
>>> clip_weights(np.array([-2.0, 0.5, 3.0]), 1.0)
array([-1. ,  0.5,  1. ])
"""

from __future__ import annotations

import math

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = ["clip_grad_norm", "clip_weights", "CLIP_EPSILON"]

CLIP_EPSILON = 1e-6
"""Added to the norm in the clipping coefficient, as in PyTorch."""


def _positive(value: object, field: str) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
    if not ok or not (value > 0) or math.isnan(value):
        raise ScenarioError(f"{field}: must be a positive number, got {value!r}")
    return float(value)


def clip_grad_norm(
    grad: np.ndarray, max_norm: float, norm_type: float = 2.0
) -> tuple[np.ndarray, float]:
    """Scale ``grad`` so that its global norm is at most ``max_norm`` (PyTorch semantics).

    With ``total = ‖grad‖_p`` and ``coef = min(max_norm / (total + 1e-6), 1)``, the
    result is ``grad * coef``: unchanged when ``total <= max_norm`` (up to the
    ``1e-6``), else rescaled to norm ``max_norm · total / (total + 1e-6)``. A
    non-finite norm propagates (as PyTorch with ``error_if_nonfinite=False``).

    Parameters
    ----------
    grad : numpy.ndarray
        The full gradient (any shape; flat in netsim); not modified.
    max_norm : float
        Largest allowed norm, ``> 0`` (``inf`` disables clipping).
    norm_type : float, optional
        ``p`` of the norm, ``> 0``; ``inf`` for the max-norm (default 2).

    Returns
    -------
    clipped : numpy.ndarray
        A new array, ``grad * coef``.
    total_norm : float
        The norm of ``grad`` *before* clipping (what PyTorch returns).

    Raises
    ------
    ScenarioError
        If ``max_norm`` (``training.clip_grad_norm``) or ``norm_type``
        (``training.clip_norm_type``) is not a positive number.
    """
    max_norm = _positive(max_norm, "training.clip_grad_norm")
    norm_type = _positive(norm_type, "training.clip_norm_type")
    g = np.asarray(grad, dtype=np.float64)
    if g.size == 0:
        return g.copy(), 0.0
    if math.isinf(norm_type):
        total = float(np.max(np.abs(g)))
    elif norm_type == 2.0:
        total = float(np.sqrt(np.dot(g.ravel(), g.ravel())))
    else:
        total = float(np.sum(np.abs(g) ** norm_type) ** (1.0 / norm_type))
    coef = min(max_norm / (total + CLIP_EPSILON), 1.0) if not math.isnan(total) else math.nan
    return g * coef, total


def clip_weights(params: np.ndarray, limit: float) -> np.ndarray:
    """Clamp every parameter to ``[−limit, limit]``.

    Parameters
    ----------
    params : numpy.ndarray
        Parameters (any shape); not modified.
    limit : float
        Bound ``> 0``.

    Returns
    -------
    numpy.ndarray
        A new array, ``numpy.clip(params, −limit, limit)``.

    Raises
    ------
    ScenarioError
        If ``limit`` is not a positive number (``training.clip_weights``).
    """
    limit = _positive(limit, "training.clip_weights")
    return np.clip(params, -limit, limit)
