"""The :class:`Model` interface shared by every NumPy model, and small shared helpers.

Every model keeps *all* of its parameters in a single contiguous ``float64`` vector of
length :attr:`Model.num_params`, so a collective moves one array and a gradient is that
same shape. Losses are **means** over the batch and gradients are exact, so BSP
data-parallel SGD with an exact allreduce of per-worker mean gradients equals
single-process SGD on the global batch.

Examples
--------
>>> import numpy as np
>>> loss, dlogits = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
>>> round(loss, 6), dlogits.shape  # uniform prediction over 4 classes: ln 4
(1.386294, (2, 4))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = ["Model", "check_dim", "check_labels", "softmax_cross_entropy", "split_params"]

_INIT_SCALE = 0.01


def check_dim(value: object, field: str, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``, else raise ScenarioError.

    Examples
    --------
    >>> check_dim(3, "training.n_features", 1)
    3
    >>> check_dim(0, "training.n_features", 1)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.n_features: must be an integer >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ScenarioError(f"{field}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_labels(y: np.ndarray, n_classes: int, what: str = "labels") -> np.ndarray:
    """Return ``y`` if it holds integers in ``[0, n_classes)``, else raise ValueError."""
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"classification {what} must be integers, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{what} must lie in [0, {n_classes}), got [{y.min()}, {y.max()}]")
    return y


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels under ``softmax(logits)`` and its gradient.

    Uses a max-shifted log-softmax, so huge logits never overflow.

    Parameters
    ----------
    logits : numpy.ndarray
        Shape ``(n, c)``, ``n >= 1``.
    y : numpy.ndarray
        Integer labels in ``[0, c)``, shape ``(n,)`` (not validated here).

    Returns
    -------
    loss : float
        ``−mean(log softmax(logits)[i, y_i])``.
    dlogits : numpy.ndarray
        Gradient of the mean loss with respect to ``logits``: ``(P − Y) / n``.
    """
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = -float(log_p[rows, y].mean())
    delta = np.exp(log_p)
    delta[rows, y] -= 1.0
    delta /= n
    return loss, delta


class Model(ABC):
    """A differentiable model with a flat ``float64`` parameter vector.

    Subclasses set :attr:`task` and :attr:`num_params` and implement the
    abstract methods. Arrays: ``X`` has shape ``(n, n_features)``; ``y`` has
    shape ``(n,)``; ``params`` and gradients have shape ``(num_params,)``.

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    num_params : int
        Length of the parameter vector.
    options : tuple of str
        Names of the extra keyword options :func:`~netsim.training.models.make_model`
        accepts for this model (scenario keys ``training.<option>``).
    """

    task: ClassVar[str]
    options: ClassVar[tuple[str, ...]] = ()
    num_params: int

    @classmethod
    @abstractmethod
    def from_dims(cls, n_features: int, n_classes: int, **options: object) -> Model:
        """Build the model for data with ``n_features`` inputs and ``n_classes`` classes."""

    @abstractmethod
    def tensors(self) -> list[tuple[str, int]]:
        """The parameter tensors in forward (layer) order: ``[(name, number of elements), ...]``.

        They tile the flat vector contiguously in this order; communication buckets
        (DDP-style) are built from them in reverse order, as gradients become ready in
        the backward pass.
        """

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """Draw small initial parameters, ``N(0, 0.01²)`` per entry.

        Parameters
        ----------
        rng : numpy.random.Generator
            The caller's generator (the only source of randomness).

        Returns
        -------
        numpy.ndarray
            Shape ``(num_params,)``, dtype ``float64``.
        """
        return _INIT_SCALE * rng.standard_normal(self.num_params)

    @abstractmethod
    def loss_and_grad(
        self, params: np.ndarray, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean loss over the batch and its exact gradient.

        Parameters
        ----------
        params : numpy.ndarray
            Shape ``(num_params,)``.
        X : numpy.ndarray
            Inputs, shape ``(n, n_features)``, ``n >= 1``.
        y : numpy.ndarray
            Targets, shape ``(n,)``.

        Returns
        -------
        loss : float
            Mean loss over the ``n`` samples.
        grad : numpy.ndarray
            Gradient of the mean loss, shape ``(num_params,)``, a new array.
        """

    @abstractmethod
    def loss(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Mean loss over the batch (no gradient); see :meth:`loss_and_grad`."""

    @abstractmethod
    def accuracy(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Quality score on ``(X, y)``, higher is better (see subclasses)."""

    def flops_per_sample(self) -> float:
        """Training FLOPs (forward + backward) per sample: ``6 * num_params``.

        Returns
        -------
        float
            FLOPs per training sample: forward 2 per parameter (a multiply-add),
            backward twice the forward.
        """
        return 6.0 * self.num_params

    def _check(self, params: np.ndarray, X: np.ndarray, y: np.ndarray, n_features: int) -> int:
        """Validate shapes; return the batch size."""
        if params.shape != (self.num_params,):
            raise ValueError(f"params must have shape ({self.num_params},), got {params.shape}")
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"X must have shape (n, {n_features}), got {X.shape}")
        n = X.shape[0]
        if n == 0:
            raise ValueError("the batch is empty: X has 0 rows")
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},) to match X, got {y.shape}")
        return n


def split_params(params: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """Views of ``params`` reshaped to ``shapes``, consecutively (row-major)."""
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(params[start : start + size].reshape(shape))
        start += size
    return views
