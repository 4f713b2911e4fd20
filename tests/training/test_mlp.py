"""Tests of netsim.training.mlp: exact backprop, initialisation, options, learning."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.training.data import make_iris
from netsim.training.mlp import MLP
from netsim.training.models import LogisticRegression, make_model
from netsim.training.optimizers import SGD


def _finite_difference(model, params, X, y, eps=1e-6):
    grad = np.empty_like(params)
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = eps
        grad[i] = (model.loss(params + step, X, y) - model.loss(params - step, X, y)) / (2 * eps)
    return grad


def _data(d, c, n, rng):
    return rng.standard_normal((n, d)), rng.integers(0, c, size=n)


SHAPES = [
    (1, 2, (), 3),
    (3, 2, (4,), 1),
    (4, 3, (5,), 7),
    (5, 4, (6, 3), 9),
    (2, 5, (3, 3, 3), 4),
    (6, 10, (8,), 16),
]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(("d", "c", "hidden", "n"), SHAPES)
def test_gradient_matches_central_finite_differences(d, c, hidden, n, activation):
    rng = np.random.default_rng(d * 1000 + c * 100 + n)
    model = MLP(d, c, hidden=hidden, activation=activation)
    # off the initialisation (zero biases) so that no ReLU input sits at its kink
    params = model.init_params(rng) + 0.3 * rng.standard_normal(model.num_params)
    X, y = _data(d, c, n, rng)
    loss, grad = model.loss_and_grad(params, X, y)
    assert grad.shape == (model.num_params,) and grad.dtype == np.float64
    assert loss == pytest.approx(model.loss(params, X, y), rel=1e-12)
    np.testing.assert_allclose(grad, _finite_difference(model, params, X, y), rtol=1e-6, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 4),
    c=st.integers(2, 4),
    hidden=st.lists(st.integers(1, 5), max_size=3),
    n=st.integers(1, 5),
    activation=st.sampled_from(["relu", "tanh"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_gradient_property(d, c, hidden, n, activation, seed):
    rng = np.random.default_rng(seed)
    model = MLP(d, c, hidden=hidden, activation=activation)
    params = rng.standard_normal(model.num_params)
    X, y = _data(d, c, n, rng)
    _, grad = model.loss_and_grad(params, X, y)
    np.testing.assert_allclose(grad, _finite_difference(model, params, X, y), rtol=1e-5, atol=1e-7)


def test_input_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    model = MLP(3, 3, hidden=(4,), activation="tanh")
    params = model.init_params(rng)
    X, y = _data(3, 3, 5, rng)
    loss, grad, dX = model.loss_and_input_grad(params, X, y)
    assert dX.shape == X.shape
    np.testing.assert_array_equal(grad, model.loss_and_grad(params, X, y)[1])
    numeric = np.empty_like(X)
    for idx in np.ndindex(X.shape):
        step = np.zeros_like(X)
        step[idx] = 1e-6
        numeric[idx] = (model.loss(params, X + step, y) - model.loss(params, X - step, y)) / 2e-6
    np.testing.assert_allclose(dX, numeric, rtol=1e-6, atol=1e-9)


def test_mean_gradient_is_average_of_per_sample_gradients():
    rng = np.random.default_rng(7)
    model = MLP(4, 3, hidden=(5, 5))
    params = model.init_params(rng)
    X, y = _data(4, 3, 9, rng)
    loss, grad = model.loss_and_grad(params, X, y)
    singles = [model.loss_and_grad(params, X[i : i + 1], y[i : i + 1]) for i in range(9)]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    np.testing.assert_allclose(grad, np.mean([s[1] for s in singles], axis=0), rtol=1e-10, atol=1e-14)


def test_without_hidden_layers_it_is_logistic_regression():
    rng = np.random.default_rng(1)
    mlp, logistic = MLP(3, 4, hidden=()), LogisticRegression(3, 4)
    assert mlp.tensors() == [("W1", 12), ("b1", 4)] and mlp.num_params == logistic.num_params
    params = rng.standard_normal(mlp.num_params)
    X, y = _data(3, 4, 6, rng)
    loss, grad = mlp.loss_and_grad(params, X, y)
    ref_loss, ref_grad = logistic.loss_and_grad(params, X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


def test_tensors_tile_the_vector_in_forward_order():
    model = MLP(5, 3, hidden=(7, 4))
    assert model.tensors() == [("W1", 35), ("b1", 7), ("W2", 28), ("b2", 4), ("W3", 12), ("b3", 3)]
    assert sum(n for _, n in model.tensors()) == model.num_params == 89
    assert model.flops_per_sample() == 6.0 * 89


def test_layout_first_tensor_is_W1_row_major():
    model = MLP(2, 2, hidden=(1,), activation="relu")
    params = np.zeros(model.num_params)  # W1 (2x1), b1 (1), W2 (1x2), b2 (2)
    params[1] = 1.0  # W1[1, 0]: the hidden unit reads feature 1 only
    params[4] = 1.0  # W2[0, 1]: and votes for class 1
    X = np.array([[5.0, 0.0], [0.0, 5.0]])
    np.testing.assert_array_equal(model.predict(params, X), [0, 1])


@pytest.mark.parametrize(("activation", "expected_std"), [("relu", np.sqrt(2 / 50)), ("tanh", np.sqrt(2 / 90))])
def test_initialisation_he_or_xavier_and_zero_biases(activation, expected_std):
    model = MLP(50, 10, hidden=(40,), activation=activation)
    a = model.init_params(np.random.default_rng(3))
    np.testing.assert_array_equal(a, model.init_params(np.random.default_rng(3)))
    W1, b1, W2, b2 = (a[:2000], a[2000:2040], a[2040:2440], a[2440:])
    assert np.all(b1 == 0) and np.all(b2 == 0)
    assert W1.std() == pytest.approx(expected_std, rel=0.05)  # 2000 draws: 1.6 % s.e.
    assert W2.std() == pytest.approx(np.sqrt(2 / 50), rel=0.1)  # output layer: Xavier


def test_loss_decreases_under_sgd():
    rng = np.random.default_rng(3)
    model = MLP(5, 3, hidden=(16,), activation="tanh")
    X, y = _data(5, 3, 64, rng)
    params = model.init_params(rng)
    optimizer = SGD(lr=0.2)
    losses = []
    for _ in range(8):
        loss, grad = model.loss_and_grad(params, X, y)
        losses.append(loss)
        params = optimizer.step(params, grad)
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_learns_iris():
    rng = np.random.default_rng(0)
    data = make_iris(rng)
    model = make_model("mlp", data.n_features, data.n_classes, hidden=[16])
    params = model.init_params(rng)
    optimizer = SGD(lr=0.05, momentum=0.9)
    for step in range(150):
        batch = np.arange(step * 16, step * 16 + 16) % data.n_train
        params = optimizer.step(params, model.loss_and_grad(params, data.X_train[batch], data.y_train[batch])[1])
    assert model.accuracy(params, data.X_test, data.y_test) >= 0.9


def test_make_model_forwards_options_and_ignores_none():
    model = make_model("mlp", 4, 3, hidden=[8, 2], activation="tanh")
    assert (model.hidden, model.activation) == ((8, 2), "tanh")
    default = make_model("mlp", 4, 3, hidden=None, activation=None)
    assert (default.hidden, default.activation) == ((64,), "relu")
    assert make_model("mlp", 4, 3, hidden=5).hidden == (5,)
    assert isinstance(make_model("logistic", 4, 3, hidden=None, embedding_dim=None), LogisticRegression)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MLP(0, 2), r"^training\.n_features: "),
        (lambda: MLP(2, 1), r"^training\.n_classes: "),
        (lambda: MLP(2, 2, hidden=[4, 0]), r"^training\.hidden: every layer width"),
        (lambda: MLP(2, 2, hidden=[2.5]), r"^training\.hidden: "),
        (lambda: MLP(2, 2, hidden="64"), r"^training\.hidden: must be a list"),
        (lambda: MLP(2, 2, hidden=[True]), r"^training\.hidden: "),
        (lambda: MLP(2, 2, activation="sigmoid"), r"^training\.activation: unknown activation 'sigmoid'; accepted: relu, tanh$"),
        (lambda: make_model("mlp", 2, 2, depth=3), r"^training\.depth: not an option of model 'mlp'; accepted: hidden, activation$"),
        (lambda: make_model("linear", 2, 0, activation="relu"), r"^training\.activation: not an option of model 'linear'; accepted: none$"),
    ],
)
def test_errors_name_the_field(build, message):
    with pytest.raises(ScenarioError, match=message):
        build()


def test_shape_and_label_errors():
    model = MLP(2, 3, hidden=(2,))
    params = np.zeros(model.num_params)
    with pytest.raises(ValueError, match="params"):
        model.loss(np.zeros(3), np.zeros((1, 2)), np.array([0]))
    with pytest.raises(ValueError, match="X must"):
        model.loss(params, np.zeros((1, 3)), np.array([0]))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        model.loss_and_grad(params, np.zeros((1, 2)), np.array([3]))
    with pytest.raises(ValueError, match="integers"):
        model.accuracy(params, np.zeros((1, 2)), np.array([0.0]))
