"""Differentiable NumPy models whose parameters live in one flat vector, and their registry.

Registered models (scenario key ``training.model``): ``linear`` (least squares),
``logistic`` (softmax regression), ``mlp`` (:class:`~netsim.training.mlp.MLP`, ReLU or
tanh hidden layers) and ``lm`` (:class:`~netsim.training.lm.CharLM`, an embedding +
MLP next-character predictor for the ``text`` dataset). The shared interface is
:class:`~netsim.training.model_base.Model`, re-exported here.

Every model keeps *all* of its parameters in a single contiguous ``float64``
vector of length :attr:`Model.num_params`, so a collective moves one array and a
gradient is that same shape. Losses are **means** over the batch, and gradients
are exact (checked against central finite differences in the tests), so BSP
data-parallel SGD with an exact allreduce of per-worker mean gradients equals
single-process SGD on the global batch.

Compute cost follows the usual training convention (Kaplan et al. 2020, the
"6N rule"): a forward pass costs 2 FLOPs per parameter per sample (one
multiply-add) and the backward pass twice that, so one training sample costs
``6 * num_params`` FLOPs. The O(classes) element-wise work of the bias, softmax
and loss (and of the MLP's activations) is ignored; the language model leaves its
embedding table out of the count (lookups are not multiply-adds).

Examples
--------
>>> import numpy as np
>>> model = make_model("logistic", n_features=3, n_classes=2)
>>> params = model.init_params(np.random.default_rng(0))
>>> params.shape
(8,)
>>> X = np.ones((4, 3)); y = np.array([0, 1, 0, 1])
>>> loss, grad = model.loss_and_grad(np.zeros(model.num_params), X, y)
>>> round(loss, 6), grad.shape  # zero logits: loss = ln 2
(0.693147, (8,))
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from netsim.exceptions import ScenarioError
from netsim.training.lm import CharLM
from netsim.training.mlp import MLP
from netsim.training.model_base import Model, check_dim

__all__ = [
    "Model",
    "LogisticRegression",
    "LinearRegression",
    "MLP",
    "CharLM",
    "MODELS",
    "make_model",
]

_check_dim = check_dim  # kept for callers of the former private helper


class LogisticRegression(Model):
    """Multinomial softmax (logistic) regression with cross-entropy loss.

    Parameters are ``W`` (``n_features × n_classes``, row-major) followed by
    ``b`` (``n_classes``): ``num_params = n_features * n_classes + n_classes``.
    Logits are ``X @ W + b``; the loss is the mean negative log-likelihood,
    computed with a max-shifted log-softmax so huge logits never overflow.

    Parameters
    ----------
    n_features : int
        Input dimension ``d >= 1``.
    n_classes : int
        Number of classes ``c >= 2``; labels are integers in ``[0, c)``.

    Raises
    ------
    ScenarioError
        If ``n_features < 1`` (``training.n_features``) or ``n_classes < 2``
        (``training.n_classes``).

    Examples
    --------
    >>> LogisticRegression(n_features=4, n_classes=3).num_params
    15
    """

    task: ClassVar[str] = "classification"

    def __init__(self, n_features: int, n_classes: int) -> None:
        self.n_features = _check_dim(n_features, "training.n_features", 1)
        self.n_classes = _check_dim(n_classes, "training.n_classes", 2)
        self.num_params = self.n_features * self.n_classes + self.n_classes

    @classmethod
    def from_dims(cls, n_features: int, n_classes: int) -> LogisticRegression:
        """Build ``LogisticRegression(n_features, n_classes)``."""
        return cls(n_features, n_classes)

    def __repr__(self) -> str:
        return f"LogisticRegression(n_features={self.n_features}, n_classes={self.n_classes})"

    def tensors(self) -> list[tuple[str, int]]:
        """``[("W", n_features * n_classes), ("b", n_classes)]``."""
        return [("W", self.n_features * self.n_classes), ("b", self.n_classes)]

    def _unpack(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        split = self.n_features * self.n_classes
        return params[:split].reshape(self.n_features, self.n_classes), params[split:]

    def _log_softmax(
        self, params: np.ndarray, X: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, int]:
        n = self._check(params, X, y, self.n_features)
        W, b = self._unpack(params)
        logits = X @ W + b
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), n

    def _labels(self, y: np.ndarray) -> np.ndarray:
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"classification labels must be integers, got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(
                f"labels must lie in [0, {self.n_classes}), got [{y.min()}, {y.max()}]"
            )
        return y

    def loss_and_grad(
        self, params: np.ndarray, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean cross-entropy and its exact gradient (see :meth:`Model.loss_and_grad`).

        The gradient is ``dW = Xᵀ (P − Y) / n`` and ``db = Σᵢ (P − Y)ᵢ / n`` with
        ``P`` the softmax probabilities and ``Y`` the one-hot labels.
        """
        y = self._labels(y)
        log_p, n = self._log_softmax(params, X, y)
        rows = np.arange(n)
        loss = -float(log_p[rows, y].mean())
        delta = np.exp(log_p)
        delta[rows, y] -= 1.0
        delta /= n
        return loss, np.concatenate([(X.T @ delta).ravel(), delta.sum(axis=0)])

    def loss(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy over the batch."""
        y = self._labels(y)
        log_p, n = self._log_softmax(params, X, y)
        return -float(log_p[np.arange(n), y].mean())

    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predicted class (arg-max logit) per row of ``X``, shape ``(n,)``, dtype int64."""
        W, b = self._unpack(params)
        return np.argmax(X @ W + b, axis=1).astype(np.int64)

    def accuracy(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows whose arg-max logit equals the label, in ``[0, 1]``."""
        self._check(params, X, y, self.n_features)
        return float(np.mean(self.predict(params, X) == self._labels(y)))


class LinearRegression(Model):
    """Least-squares linear regression.

    Parameters are ``w`` (``n_features``) followed by ``b`` (1):
    ``num_params = n_features + 1``. The prediction is ``X @ w + b`` and the loss
    is half the mean squared error, ``mean((X @ w + b − y)²) / 2``.

    Parameters
    ----------
    n_features : int
        Input dimension ``d >= 1``.

    Raises
    ------
    ScenarioError
        If ``n_features < 1`` (``training.n_features``).

    Examples
    --------
    >>> LinearRegression(n_features=4).num_params
    5
    """

    task: ClassVar[str] = "regression"

    def __init__(self, n_features: int) -> None:
        self.n_features = _check_dim(n_features, "training.n_features", 1)
        self.num_params = self.n_features + 1

    @classmethod
    def from_dims(cls, n_features: int, n_classes: int) -> LinearRegression:
        """Build ``LinearRegression(n_features)``; ``n_classes`` is ignored."""
        return cls(n_features)

    def tensors(self) -> list[tuple[str, int]]:
        """``[("w", n_features), ("b", 1)]``."""
        return [("w", self.n_features), ("b", 1)]

    def __repr__(self) -> str:
        return f"LinearRegression(n_features={self.n_features})"

    def _residual(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        n = self._check(params, X, y, self.n_features)
        return self.predict(params, X) - y, n

    def loss_and_grad(
        self, params: np.ndarray, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Half mean squared error and its exact gradient (see :meth:`Model.loss_and_grad`).

        With residual ``r = X @ w + b − y``: ``dw = Xᵀ r / n``, ``db = mean(r)``.
        """
        r, n = self._residual(params, X, y)
        loss = 0.5 * float(np.mean(r * r))
        return loss, np.concatenate([X.T @ r / n, [r.mean()]])

    def loss(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Half mean squared error over the batch."""
        r, _ = self._residual(params, X, y)
        return 0.5 * float(np.mean(r * r))

    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predictions ``X @ w + b``, shape ``(n,)``."""
        return X @ params[:-1] + params[-1]

    def accuracy(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Coefficient of determination R² = 1 − SS_res / SS_tot (at most 1, may be negative).

        For constant targets (``SS_tot = 0``) it is 1.0 for a perfect fit and
        0.0 otherwise, as in scikit-learn's ``r2_score``.
        """
        r, _ = self._residual(params, X, y)
        ss_res = float(r @ r)
        centred = y - y.mean()
        ss_tot = float(centred @ centred)
        if ss_tot == 0.0:
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot


MODELS: dict[str, type[Model]] = {
    "linear": LinearRegression,
    "logistic": LogisticRegression,
    "mlp": MLP,
    "lm": CharLM,
}


def make_model(name: str, n_features: int, n_classes: int, **options: object) -> Model:
    """Build a registered model by name.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`: ``"linear"``, ``"logistic"``, ``"mlp"`` or ``"lm"``.
    n_features : int
        Input dimension; for ``"lm"`` the context length (tokens per input row).
    n_classes : int
        Number of classes (ignored by regression models); for ``"lm"`` the
        vocabulary size.
    **options
        Model-specific options (scenario keys ``training.<option>``); an option
        whose value is ``None`` counts as not given, so a runner may pass every
        option of its schema. ``"mlp"``: ``hidden`` (hidden-layer widths, default
        ``[64]``), ``activation`` (``"relu"`` or ``"tanh"``). ``"lm"``:
        ``embedding_dim`` (default 16), ``hidden`` (default ``[128]``),
        ``activation`` (default ``"tanh"``). ``"linear"`` and ``"logistic"`` take
        none.

    Returns
    -------
    Model

    Raises
    ------
    ScenarioError
        If the name is unknown (``training.model``), an option does not apply to
        the model (``training.<option>``), or a dimension or option is invalid.

    Examples
    --------
    >>> make_model("linear", n_features=2, n_classes=0)
    LinearRegression(n_features=2)
    >>> make_model("mlp", 4, 3, hidden=[8, 8], activation="tanh")
    MLP(n_features=4, n_classes=3, hidden=(8, 8), activation='tanh')
    >>> make_model("logistic", 4, 3, hidden=[8])
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.hidden: not an option of model 'logistic'; accepted: none
    >>> make_model("cnn", 2, 2)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.model: unknown model 'cnn'; accepted: linear, lm, logistic, mlp
    """
    cls = MODELS.get(name)
    if cls is None:
        accepted = ", ".join(sorted(MODELS))
        raise ScenarioError(f"training.model: unknown model {name!r}; accepted: {accepted}")
    given = {key: value for key, value in options.items() if value is not None}
    for key in given:
        if key not in cls.options:
            accepted = ", ".join(cls.options) or "none"
            raise ScenarioError(
                f"training.{key}: not an option of model {name!r}; accepted: {accepted}"
            )
    return cls.from_dims(n_features, n_classes, **given)
