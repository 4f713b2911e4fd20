"""Multi-layer perceptron classifier with exact backpropagation.

Layers ``d → h₁ → … → h_L → c``: each hidden layer is ``a = act(a_prev @ W + b)``
with ``act`` ReLU or tanh, and the output layer gives softmax logits; the loss is the
mean cross-entropy. Parameters tile the flat vector in forward order
``W1, b1, W2, b2, …, W{L+1}, b{L+1}`` (each ``W`` row-major, ``fan_in × fan_out``).

Training cost follows the 6N rule of :mod:`netsim.training.models` (every
parameter is used in one multiply-add per sample); the element-wise activations
are ignored.

Examples
--------
>>> import numpy as np
>>> net = MLP(n_features=4, n_classes=3, hidden=(5,))
>>> net.num_params, net.tensors()
(43, [('W1', 20), ('b1', 5), ('W2', 15), ('b2', 3)])
>>> params = net.init_params(np.random.default_rng(0))
>>> X = np.random.default_rng(1).standard_normal((6, 4)); y = np.array([0, 1, 2, 0, 1, 2])
>>> loss, grad = net.loss_and_grad(params, X, y)
>>> grad.shape
(43,)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from netsim.exceptions import ScenarioError
from netsim.training.model_base import (
    Model,
    check_dim,
    check_labels,
    softmax_cross_entropy,
    split_params,
)

__all__ = ["MLP", "ACTIVATIONS", "check_hidden", "check_activation"]

ACTIVATIONS = ("relu", "tanh")
"""Hidden-layer activations accepted by :class:`MLP` and :class:`~netsim.training.lm.CharLM`."""


def check_hidden(hidden: object, field: str = "training.hidden") -> tuple[int, ...]:
    """Hidden-layer widths as a tuple of ints ``>= 1`` (an int means one layer).

    Raises
    ------
    ScenarioError
        Naming ``field`` if ``hidden`` is not an int or a sequence of ints ``>= 1``.
    """
    if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, str) or not isinstance(hidden, Sequence | np.ndarray):
        raise ScenarioError(f"{field}: must be a list of layer widths, got {hidden!r}")
    widths = []
    for width in hidden:
        if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
            raise ScenarioError(
                f"{field}: every layer width must be an integer >= 1, got {list(hidden)!r}"
            )
        widths.append(int(width))
    return tuple(widths)


def check_activation(activation: object, field: str = "training.activation") -> str:
    """Return ``activation`` if it is one of :data:`ACTIVATIONS`, else raise ScenarioError."""
    if activation not in ACTIVATIONS:
        raise ScenarioError(
            f"{field}: unknown activation {activation!r}; accepted: {', '.join(ACTIVATIONS)}"
        )
    return str(activation)


class MLP(Model):
    """Fully connected ReLU/tanh network with a softmax cross-entropy output.

    Parameters
    ----------
    n_features : int
        Input dimension ``d >= 1``.
    n_classes : int
        Number of classes ``c >= 2``; labels are integers in ``[0, c)``.
    hidden : sequence of int, optional
        Widths of the hidden layers, in order (default one layer of 64). An empty
        sequence gives softmax regression.
    activation : {"relu", "tanh"}, optional
        Hidden-layer non-linearity (default ``"relu"``).

    Notes
    -----
    :meth:`init_params` draws every weight matrix, in forward order, from a normal
    distribution: He (``std = √(2 / fan_in)``) for ReLU hidden layers, Xavier/Glorot
    (``std = √(2 / (fan_in + fan_out))``) for tanh hidden layers and for the output
    layer. Biases start at zero.

    Raises
    ------
    ScenarioError
        For an invalid dimension (``training.n_features``, ``training.n_classes``),
        ``training.hidden`` or ``training.activation``.

    Examples
    --------
    >>> MLP(2, 2, hidden=[3, 3]).num_params
    29
    """

    task: ClassVar[str] = "classification"
    options: ClassVar[tuple[str, ...]] = ("hidden", "activation")

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
    ) -> None:
        self.n_features = check_dim(n_features, "training.n_features", 1)
        self.n_classes = check_dim(n_classes, "training.n_classes", 2)
        self.hidden = check_hidden(hidden)
        self.activation = check_activation(activation)
        widths = (self.n_features, *self.hidden, self.n_classes)
        self._shapes: list[tuple[int, ...]] = []
        for fan_in, fan_out in zip(widths, widths[1:], strict=False):
            self._shapes += [(fan_in, fan_out), (fan_out,)]
        self.num_params = sum(math.prod(shape) for shape in self._shapes)

    @classmethod
    def from_dims(cls, n_features: int, n_classes: int, **options: object) -> MLP:
        """Build ``MLP(n_features, n_classes, **options)`` (``hidden``, ``activation``)."""
        return cls(n_features, n_classes, **options)

    def __repr__(self) -> str:
        return (
            f"MLP(n_features={self.n_features}, n_classes={self.n_classes}, "
            f"hidden={self.hidden}, activation={self.activation!r})"
        )

    def tensors(self) -> list[tuple[str, int]]:
        """``[("W1", d·h₁), ("b1", h₁), …, ("W{L+1}", h_L·c), ("b{L+1}", c)]``."""
        names = []
        for layer in range(len(self._shapes) // 2):
            names += [f"W{layer + 1}", f"b{layer + 1}"]
        return [(name, math.prod(shape)) for name, shape in zip(names, self._shapes, strict=True)]

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """He (ReLU) or Xavier (tanh, output layer) normal weights, zero biases (see Notes)."""
        params = np.zeros(self.num_params)
        views = split_params(params, self._shapes)
        last = len(views) // 2 - 1
        for layer, W in enumerate(views[0::2]):
            fan_in, fan_out = W.shape
            if layer < last and self.activation == "relu":
                std = math.sqrt(2.0 / fan_in)
            else:
                std = math.sqrt(2.0 / (fan_in + fan_out))
            W[...] = std * rng.standard_normal(W.shape)
        return params

    # ----------------------------------------------------------------- maths

    def _forward(self, params: np.ndarray, X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Hidden activations (input first) and the output logits."""
        views = split_params(params, self._shapes)
        acts = [X]
        for W, b in zip(views[0:-2:2], views[1:-2:2], strict=True):
            z = acts[-1] @ W + b
            acts.append(np.maximum(z, 0.0) if self.activation == "relu" else np.tanh(z))
        return acts, acts[-1] @ views[-2] + views[-1]

    def _backward(
        self, params: np.ndarray, acts: list[np.ndarray], dlogits: np.ndarray, input_grad: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Flat parameter gradient (and the input gradient if asked) from ``dL/dlogits``."""
        views = split_params(params, self._shapes)
        grad = np.empty(self.num_params)
        grads = split_params(grad, self._shapes)
        delta = dlogits
        for layer in range(len(views) // 2 - 1, -1, -1):
            W = views[2 * layer]
            a_in = acts[layer]
            grads[2 * layer][...] = a_in.T @ delta
            grads[2 * layer + 1][...] = delta.sum(axis=0)
            if layer == 0 and not input_grad:
                return grad, None
            delta = delta @ W.T
            if layer > 0:  # through the activation that produced a_in
                if self.activation == "relu":
                    delta = delta * (a_in > 0.0)
                else:
                    delta = delta * (1.0 - a_in * a_in)
        return grad, delta

    def loss_and_input_grad(
        self, params: np.ndarray, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Mean loss, parameter gradient and gradient with respect to ``X`` (shape of ``X``).

        Used by models that feed learned features into an MLP (e.g. embeddings).
        """
        self._check(params, X, y, self.n_features)
        check_labels(y, self.n_classes)
        acts, logits = self._forward(params, X)
        loss, dlogits = softmax_cross_entropy(logits, y)
        grad, dX = self._backward(params, acts, dlogits, input_grad=True)
        return loss, grad, dX

    def loss_and_grad(
        self, params: np.ndarray, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean cross-entropy and its exact gradient by backpropagation."""
        self._check(params, X, y, self.n_features)
        check_labels(y, self.n_classes)
        acts, logits = self._forward(params, X)
        loss, dlogits = softmax_cross_entropy(logits, y)
        grad, _ = self._backward(params, acts, dlogits, input_grad=False)
        return loss, grad

    def loss(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy over the batch."""
        self._check(params, X, y, self.n_features)
        check_labels(y, self.n_classes)
        _, logits = self._forward(params, X)
        return softmax_cross_entropy(logits, y)[0]

    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predicted class (arg-max logit) per row of ``X``, shape ``(n,)``, dtype int64."""
        _, logits = self._forward(params, X)
        return np.argmax(logits, axis=1).astype(np.int64)

    def accuracy(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows whose arg-max logit equals the label, in ``[0, 1]``."""
        self._check(params, X, y, self.n_features)
        check_labels(y, self.n_classes)
        return float(np.mean(self.predict(params, X) == y))
