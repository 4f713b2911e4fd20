"""A small character-level language model: embeddings + MLP next-token predictor.

The network of Bengio et al. (2003), "A Neural Probabilistic Language Model": each of
the ``k`` previous tokens is looked up in a shared embedding table ``E``
(``vocab × e``), the ``k`` embeddings are concatenated (``k·e`` features) and an
:class:`~netsim.training.mlp.MLP` (tanh hidden layers by default) predicts the next
token with a softmax over the vocabulary. The loss (mean cross-entropy, nats per
token) is non-convex in the parameters.

Inputs ``X`` are integer token ids, shape ``(n, k)``; targets ``y`` are the next ids,
shape ``(n,)`` (see ``make_dataset("text", ...)`` in :mod:`netsim.training.data`).
Parameters tile the flat vector as ``E`` (row-major) followed by the MLP's
``W1, b1, …``.

Examples
--------
>>> import numpy as np
>>> lm = CharLM(context=3, vocab_size=5, embedding_dim=2, hidden=(4,))
>>> lm.tensors()
[('E', 10), ('W1', 24), ('b1', 4), ('W2', 20), ('b2', 5)]
>>> params = lm.init_params(np.random.default_rng(0))
>>> X = np.array([[0, 1, 2], [1, 2, 3]]); y = np.array([3, 4])
>>> loss, grad = lm.loss_and_grad(params, X, y)
>>> grad.shape
(63,)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from netsim.training.mlp import MLP
from netsim.training.model_base import Model, check_dim, check_labels

__all__ = ["CharLM"]


class CharLM(Model):
    """Embedding + MLP next-token predictor over a context window of ``k`` tokens.

    Parameters
    ----------
    context : int
        Tokens of context ``k >= 1`` (the dataset's ``n_features``).
    vocab_size : int
        Vocabulary size ``V >= 2`` (the dataset's ``n_classes``).
    embedding_dim : int, optional
        Embedding width ``e >= 1`` (default 16).
    hidden : sequence of int, optional
        Hidden-layer widths of the MLP (default one layer of 128).
    activation : {"tanh", "relu"}, optional
        Hidden-layer non-linearity (default ``"tanh"``, as in Bengio et al.).

    Notes
    -----
    :meth:`init_params` draws ``E`` from ``N(0, 1)`` (as ``torch.nn.Embedding``) and
    the MLP as :meth:`MLP.init_params` does, in that order.

    :meth:`flops_per_sample` counts ``6`` FLOPs per MLP parameter only: an embedding
    lookup is a copy, not a multiply-add, and its backward pass scatters ``k·e``
    additions, which are negligible (as the embedding parameters are left out of
    the 6N rule by Kaplan et al. 2020).

    Raises
    ------
    ScenarioError
        For an invalid ``training.n_features`` (context), ``training.n_classes``
        (vocabulary), ``training.embedding_dim``, ``training.hidden`` or
        ``training.activation``.
    """

    task: ClassVar[str] = "classification"
    options: ClassVar[tuple[str, ...]] = ("embedding_dim", "hidden", "activation")

    def __init__(
        self,
        context: int,
        vocab_size: int,
        embedding_dim: int = 16,
        hidden: Sequence[int] = (128,),
        activation: str = "tanh",
    ) -> None:
        self.context = check_dim(context, "training.n_features", 1)
        self.vocab_size = check_dim(vocab_size, "training.n_classes", 2)
        self.embedding_dim = check_dim(embedding_dim, "training.embedding_dim", 1)
        self.mlp = MLP(self.context * self.embedding_dim, self.vocab_size, hidden, activation)
        self._embedding_size = self.vocab_size * self.embedding_dim
        self.num_params = self._embedding_size + self.mlp.num_params

    @classmethod
    def from_dims(cls, n_features: int, n_classes: int, **options: object) -> CharLM:
        """Build ``CharLM(context=n_features, vocab_size=n_classes, **options)``."""
        return cls(n_features, n_classes, **options)

    def __repr__(self) -> str:
        return (
            f"CharLM(context={self.context}, vocab_size={self.vocab_size}, "
            f"embedding_dim={self.embedding_dim}, hidden={self.mlp.hidden}, "
            f"activation={self.mlp.activation!r})"
        )

    @property
    def n_features(self) -> int:
        """Context length ``k`` (columns of ``X``)."""
        return self.context

    @property
    def n_classes(self) -> int:
        """Vocabulary size ``V``."""
        return self.vocab_size

    def tensors(self) -> list[tuple[str, int]]:
        """``[("E", V·e), ("W1", k·e·h₁), ("b1", h₁), …]``: ``E``, then the MLP's tensors."""
        return [("E", self._embedding_size), *self.mlp.tensors()]

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """``E ~ N(0, 1)``, then the MLP's initialisation (see Notes)."""
        embedding = rng.standard_normal(self._embedding_size)
        return np.concatenate([embedding, self.mlp.init_params(rng)])

    def flops_per_sample(self) -> float:
        """``6 ×`` the MLP's parameters (embedding lookups are not multiply-adds)."""
        return 6.0 * self.mlp.num_params

    # ----------------------------------------------------------------- maths

    def _embed(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        n = self._check(params, X, y, self.context)
        check_labels(X, self.vocab_size, "token ids")
        check_labels(y, self.vocab_size, "next-token ids")
        E = params[: self._embedding_size].reshape(self.vocab_size, self.embedding_dim)
        return E[X].reshape(n, self.context * self.embedding_dim), n

    def loss_and_grad(
        self, params: np.ndarray, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean next-token cross-entropy and its exact gradient.

        The embedding gradient accumulates, for every occurrence of a token in the
        batch's contexts, the gradient of the loss with respect to that copy.
        """
        features, n = self._embed(params, X, y)
        loss, mlp_grad, dfeatures = self.mlp.loss_and_input_grad(
            params[self._embedding_size :], features, y
        )
        dE = np.zeros((self.vocab_size, self.embedding_dim))
        np.add.at(dE, X.reshape(-1), dfeatures.reshape(n * self.context, self.embedding_dim))
        return loss, np.concatenate([dE.reshape(-1), mlp_grad])

    def loss(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Mean next-token cross-entropy (nats per token)."""
        features, _ = self._embed(params, X, y)
        return self.mlp.loss(params[self._embedding_size :], features, y)

    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Most likely next token per context row, shape ``(n,)``, dtype int64."""
        dummy = np.zeros(X.shape[0], dtype=np.int64)
        features, _ = self._embed(params, X, dummy)
        return self.mlp.predict(params[self._embedding_size :], features)

    def accuracy(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Top-1 next-token accuracy, in ``[0, 1]``."""
        features, _ = self._embed(params, X, y)
        return self.mlp.accuracy(params[self._embedding_size :], features, y)
