"""Tests of netsim.training.models: exact gradients, stability, registry."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.training.models import (
    MODELS,
    LinearRegression,
    LogisticRegression,
    Model,
    make_model,
)
from netsim.training.optimizers import SGD


def _batch(model: Model, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((n, model.n_features))
    if model.task == "classification":
        y = rng.integers(0, model.n_classes, size=n)
    else:
        y = rng.standard_normal(n)
    return X, y


def _finite_difference(model: Model, params, X, y, eps: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(params)
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = eps
        grad[i] = (model.loss(params + step, X, y) - model.loss(params - step, X, y)) / (2 * eps)
    return grad


SHAPES = [
    ("logistic", 1, 2, 1),
    ("logistic", 3, 2, 5),
    ("logistic", 4, 3, 1),
    ("logistic", 5, 4, 17),
    ("logistic", 7, 10, 8),
    ("linear", 1, 0, 1),
    ("linear", 3, 0, 6),
    ("linear", 8, 0, 20),
]


@pytest.mark.parametrize(("name", "d", "c", "n"), SHAPES)
def test_gradient_matches_central_finite_differences(name, d, c, n):
    rng = np.random.default_rng(d * 100 + c * 10 + n)
    model = make_model(name, d, c)
    params = rng.standard_normal(model.num_params)
    X, y = _batch(model, n, rng)
    loss, grad = model.loss_and_grad(params, X, y)
    assert grad.shape == (model.num_params,)
    assert grad.dtype == np.float64
    assert loss == pytest.approx(model.loss(params, X, y), rel=1e-12)
    np.testing.assert_allclose(grad, _finite_difference(model, params, X, y), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["logistic", "linear"])
def test_mean_gradient_is_average_of_per_sample_gradients(name):
    rng = np.random.default_rng(7)
    model = make_model(name, 4, 3)
    params = rng.standard_normal(model.num_params)
    X, y = _batch(model, 9, rng)
    loss, grad = model.loss_and_grad(params, X, y)
    singles = [model.loss_and_grad(params, X[i : i + 1], y[i : i + 1]) for i in range(9)]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    np.testing.assert_allclose(
        grad, np.mean([s[1] for s in singles], axis=0), rtol=1e-12, atol=1e-15
    )


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 5),
    c=st.integers(2, 5),
    n=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_logistic_gradient_property(d, c, n, seed):
    rng = np.random.default_rng(seed)
    model = LogisticRegression(d, c)
    params = rng.standard_normal(model.num_params)
    X, y = _batch(model, n, rng)
    _, grad = model.loss_and_grad(params, X, y)
    np.testing.assert_allclose(grad, _finite_difference(model, params, X, y), rtol=1e-5, atol=1e-7)


def test_parameter_layout_is_W_row_major_then_b():
    model = LogisticRegression(2, 3)
    params = np.arange(model.num_params, dtype=np.float64)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    W = params[:6].reshape(2, 3)
    b = params[6:]
    expected = np.argmax(X @ W + b, axis=1)
    np.testing.assert_array_equal(model.predict(params, X), expected)
    # params[0] is W[0, 0]: only feature 0 pushes class 0 (W @ [1, 0] = [5, 0, 0])
    p = np.zeros(model.num_params)
    p[0] = 5.0
    np.testing.assert_array_equal(model.predict(p, X[:1]), [0])
    p[1] = 9.0  # W[0, 1]
    np.testing.assert_array_equal(model.predict(p, X[:1]), [1])
    p[3] = 9.0  # W[1, 0] acts on feature 1 and class 0
    np.testing.assert_array_equal(model.predict(p, X[1:2]), [0])
    p = np.zeros(model.num_params)
    p[6 + 1] = 5.0  # b[1]
    np.testing.assert_array_equal(model.predict(p, X), [1, 1, 1])


def test_linear_parameter_layout_is_w_then_b():
    model = LinearRegression(2)
    params = np.array([2.0, -1.0, 0.5])
    X = np.array([[1.0, 1.0], [3.0, 0.0]])
    np.testing.assert_allclose(model.predict(params, X), [1.5, 6.5])
    loss = model.loss(params, X, np.array([1.5, 4.5]))
    assert loss == pytest.approx(0.5 * (0.0 + 4.0) / 2)


def test_softmax_is_stable_for_huge_logits():
    model = LogisticRegression(2, 3)
    params = np.zeros(model.num_params)
    params[:6] = [1e5, -1e5, 0.0, 0.0, 1e5, -1e5]
    X = np.array([[1e3, 0.0], [0.0, 1e3], [-1e3, -1e3]])
    y = np.array([1, 0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        loss, grad = model.loss_and_grad(params, X, y)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss > 1e7  # confidently wrong: loss ~ logit gap, not inf
    correct = np.array([0, 1, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        loss_ok, grad_ok = model.loss_and_grad(params, X, correct)
    assert loss_ok == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(grad_ok, 0.0, atol=1e-12)


def test_logistic_loss_at_zero_params_is_log_classes():
    model = LogisticRegression(3, 5)
    rng = np.random.default_rng(0)
    X, y = _batch(model, 10, rng)
    assert model.loss(np.zeros(model.num_params), X, y) == pytest.approx(np.log(5))


@pytest.mark.parametrize("name", ["logistic", "linear"])
def test_loss_decreases_under_sgd(name):
    rng = np.random.default_rng(3)
    model = make_model(name, 5, 3)
    X, y = _batch(model, 64, rng)
    params = model.init_params(rng)
    optimizer = SGD(lr=0.2)
    losses = []
    for _ in range(5):
        loss, grad = model.loss_and_grad(params, X, y)
        losses.append(loss)
        params = optimizer.step(params, grad)
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_init_params_seeded_and_small():
    model = LogisticRegression(10, 4)
    a = model.init_params(np.random.default_rng(1))
    b = model.init_params(np.random.default_rng(1))
    c = model.init_params(np.random.default_rng(2))
    assert a.shape == (44,) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.max(np.abs(a)) < 0.1


def test_accuracy_classification():
    model = LogisticRegression(1, 2)
    params = np.array([1.0, -1.0, 0.0, 0.0])  # class 0 iff x > 0
    X = np.array([[1.0], [2.0], [-1.0], [-3.0]])
    assert model.accuracy(params, X, np.array([0, 0, 1, 1])) == 1.0
    assert model.accuracy(params, X, np.array([0, 1, 1, 0])) == 0.5


def test_accuracy_regression_is_r2():
    model = LinearRegression(1)
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([1.0, 3.0, 5.0])
    assert model.accuracy(np.array([2.0, 1.0]), X, y) == pytest.approx(1.0)
    assert model.accuracy(np.array([0.0, 3.0]), X, y) == pytest.approx(0.0)  # predicts the mean
    assert model.accuracy(np.array([0.0, 0.0]), X, y) == pytest.approx(1 - 35 / 8)
    constant = np.array([2.0, 2.0, 2.0])
    assert model.accuracy(np.array([0.0, 2.0]), X, constant) == 1.0
    assert model.accuracy(np.array([1.0, 2.0]), X, constant) == 0.0


def test_flops_per_sample_is_six_per_parameter():
    assert LogisticRegression(10, 3).flops_per_sample() == 6.0 * 33
    assert LinearRegression(10).flops_per_sample() == 6.0 * 11


def test_tasks_and_registry():
    assert set(MODELS) == {"linear", "logistic", "mlp", "lm"}
    assert make_model("logistic", 4, 3).task == "classification"
    assert isinstance(make_model("linear", 4, 0), LinearRegression)
    assert make_model("linear", 4, 0).task == "regression"


def test_unknown_model_names_field_and_accepted():
    with pytest.raises(ScenarioError) as info:
        make_model("x", 2, 2)
    assert str(info.value) == "training.model: unknown model 'x'; accepted: linear, lm, logistic, mlp"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: LogisticRegression(0, 2), "training.n_features"),
        (lambda: LogisticRegression(2, 1), "training.n_classes"),
        (lambda: LogisticRegression(2.5, 2), "training.n_features"),
        (lambda: LinearRegression(0), "training.n_features"),
        (lambda: make_model("logistic", 3, 0), "training.n_classes"),
        (lambda: make_model("linear", True, 0), "training.n_features"),
    ],
)
def test_bad_dimensions_raise_scenario_error(build, field):
    with pytest.raises(ScenarioError, match=f"^{field}: "):
        build()


def test_shape_and_label_errors():
    model = LogisticRegression(2, 3)
    params = np.zeros(model.num_params)
    X = np.zeros((2, 2))
    with pytest.raises(ValueError, match="params"):
        model.loss(np.zeros(5), X, np.array([0, 1]))
    with pytest.raises(ValueError, match="X must"):
        model.loss(params, np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="y must"):
        model.loss(params, X, np.array([0]))
    with pytest.raises(ValueError, match="empty"):
        model.loss(params, np.zeros((0, 2)), np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        model.loss(params, X, np.array([0, 3]))
    with pytest.raises(ValueError, match="integers"):
        model.loss(params, X, np.array([0.0, 1.0]))
