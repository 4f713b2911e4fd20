"""Tests of netsim.training.lm: the character-level embedding + MLP language model."""

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.training.data import make_text
from netsim.training.lm import CharLM
from netsim.training.models import make_model
from netsim.training.optimizers import SGD, Adam


def _finite_difference(model, params, X, y, eps=1e-6):
    grad = np.empty_like(params)
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = eps
        grad[i] = (model.loss(params + step, X, y) - model.loss(params - step, X, y)) / (2 * eps)
    return grad


SHAPES = [
    # context, vocab, embedding, hidden, activation, batch
    (1, 2, 1, (), "tanh", 1),
    (2, 5, 3, (4,), "tanh", 6),
    (3, 7, 2, (5,), "relu", 9),
    (4, 4, 2, (3, 3), "tanh", 12),
    (5, 11, 4, (6,), "tanh", 3),
]


@pytest.mark.parametrize(("k", "V", "e", "hidden", "activation", "n"), SHAPES)
def test_gradient_matches_central_finite_differences(k, V, e, hidden, activation, n):
    rng = np.random.default_rng(k * 100 + V * 10 + n)
    model = CharLM(k, V, embedding_dim=e, hidden=hidden, activation=activation)
    params = model.init_params(rng) + 0.1 * rng.standard_normal(model.num_params)
    X = rng.integers(0, V, size=(n, k))
    X[0, :] = X[0, 0]  # a token repeated within one context: its embedding gradient accumulates
    y = rng.integers(0, V, size=n)
    loss, grad = model.loss_and_grad(params, X, y)
    assert grad.shape == (model.num_params,) and grad.dtype == np.float64
    assert loss == pytest.approx(model.loss(params, X, y), rel=1e-12)
    np.testing.assert_allclose(grad, _finite_difference(model, params, X, y), rtol=1e-6, atol=1e-8)


def test_unused_tokens_get_zero_embedding_gradient():
    model = CharLM(2, 6, embedding_dim=3, hidden=(4,))
    params = model.init_params(np.random.default_rng(0))
    X = np.array([[0, 1], [1, 0]])
    _, grad = model.loss_and_grad(params, X, np.array([2, 3]))
    dE = grad[: 6 * 3].reshape(6, 3)
    assert np.all(dE[2:] == 0.0) and np.any(dE[:2] != 0.0)


def test_tensors_layout_and_flops():
    model = CharLM(context=8, vocab_size=68, embedding_dim=16, hidden=(128,))
    assert model.tensors() == [
        ("E", 68 * 16),
        ("W1", 8 * 16 * 128),
        ("b1", 128),
        ("W2", 128 * 68),
        ("b2", 68),
    ]
    assert sum(n for _, n in model.tensors()) == model.num_params
    mlp_params = model.num_params - 68 * 16
    assert model.flops_per_sample() == 6.0 * mlp_params
    assert (model.n_features, model.n_classes, model.task) == (8, 68, "classification")


def test_embedding_lookup_uses_rows_of_E():
    model = CharLM(2, 3, embedding_dim=1, hidden=())  # logits = [E[x0], E[x1]] @ W + b
    params = np.zeros(model.num_params)
    params[:3] = [1.0, -1.0, 0.0]  # E
    params[3:9] = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]  # W (2x3): feature 1 (E of the last token) -> class 2
    X = np.array([[0, 0], [0, 1]])
    np.testing.assert_array_equal(model.predict(params, X), [2, 0])


def test_init_is_seeded_with_unit_embeddings():
    model = CharLM(3, 40, embedding_dim=25, hidden=(10,))
    a = model.init_params(np.random.default_rng(5))
    np.testing.assert_array_equal(a, model.init_params(np.random.default_rng(5)))
    assert a[: 40 * 25].std() == pytest.approx(1.0, rel=0.08)


def test_loss_decreases_under_sgd_on_text():
    data = make_text(np.random.default_rng(0), context=4)
    model = make_model("lm", data.n_features, data.n_classes, embedding_dim=8, hidden=[32])
    params = model.init_params(np.random.default_rng(1))
    X, y = data.X_train[:256], data.y_train[:256]
    optimizer = SGD(lr=0.5)
    losses = []
    for _ in range(6):
        loss, grad = model.loss_and_grad(params, X, y)
        losses.append(loss)
        params = optimizer.step(params, grad)
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_learns_text_beyond_unigram_statistics():
    data = make_text(np.random.default_rng(0), context=6)
    model = make_model("lm", data.n_features, data.n_classes, embedding_dim=8, hidden=[64])
    rng = np.random.default_rng(2)
    params = model.init_params(rng)
    optimizer = Adam(lr=3e-3)
    for _ in range(400):
        batch = rng.integers(0, data.n_train, size=32)
        params = optimizer.step(params, model.loss_and_grad(params, data.X_train[batch], data.y_train[batch])[1])
    counts = np.bincount(data.y_train, minlength=data.n_classes) + 1.0
    unigram = -np.mean(np.log(counts / counts.sum())[data.y_test])  # ≈ 3.1 nats
    assert model.loss(params, data.X_test, data.y_test) < unigram - 0.4
    most_common = np.mean(data.y_test == np.argmax(counts))  # always guessing " ": ≈ 0.18
    assert model.accuracy(params, data.X_test, data.y_test) > most_common + 0.05


def test_loss_is_not_convex():
    """Swapping two hidden units leaves the loss unchanged; the midpoint is worse."""
    rng = np.random.default_rng(0)
    model = CharLM(2, 5, embedding_dim=2, hidden=(2,))
    params = model.init_params(rng)
    params[model.num_params - 5 - 2 * 5 :] += rng.standard_normal(2 * 5 + 5)  # distinct output rows
    X = rng.integers(0, 5, size=(40, 2))
    y = (X[:, 0] + X[:, 1]) % 5
    for _ in range(200):
        params = params - 0.5 * model.loss_and_grad(params, X, y)[1]
    E, (W1, b1, W2, b2) = params[:10], _mlp_views(model, params)
    swapped = np.concatenate([E, W1[:, ::-1].ravel(), b1[::-1], W2[::-1].ravel(), b2])
    assert model.loss(swapped, X, y) == pytest.approx(model.loss(params, X, y), rel=1e-12)
    midpoint = 0.5 * (params + swapped)
    assert model.loss(midpoint, X, y) > model.loss(params, X, y) + 1e-3


def _mlp_views(model, params):
    rest = params[10:]
    W1 = rest[:8].reshape(4, 2)
    return W1, rest[8:10], rest[10:20].reshape(2, 5), rest[20:25]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CharLM(0, 5), r"^training\.n_features: "),
        (lambda: CharLM(3, 1), r"^training\.n_classes: "),
        (lambda: CharLM(3, 5, embedding_dim=0), r"^training\.embedding_dim: "),
        (lambda: CharLM(3, 5, hidden=[0]), r"^training\.hidden: "),
        (lambda: CharLM(3, 5, activation="gelu"), r"^training\.activation: "),
        (
            lambda: make_model("lm", 3, 5, momentum=0.9),
            r"^training\.momentum: not an option of model 'lm'; accepted: embedding_dim, hidden, activation$",
        ),
    ],
)
def test_errors_name_the_field(build, message):
    with pytest.raises(ScenarioError, match=message):
        build()


def test_token_id_errors():
    model = CharLM(2, 4, embedding_dim=2, hidden=(3,))
    params = np.zeros(model.num_params)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 4\)"):
        model.loss(params, np.array([[0, 4]]), np.array([1]))
    with pytest.raises(ValueError, match="next-token ids"):
        model.loss(params, np.array([[0, 1]]), np.array([-1]))
    with pytest.raises(ValueError, match="integers"):
        model.loss(params, np.array([[0.0, 1.0]]), np.array([1]))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        model.loss(params, np.array([[0, 1, 2]]), np.array([1]))
