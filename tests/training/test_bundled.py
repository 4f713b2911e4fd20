"""Tests of the bundled real datasets: Fisher's Iris and the character-level text."""

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.training.bundled import TEXTS, context_windows, encode_text, read_iris, read_text
from netsim.training.data import make_dataset, make_iris, make_text
from netsim.training.models import make_model
from netsim.training.optimizers import SGD

# ----------------------------------------------------------------------- iris


def test_iris_file_is_fishers_data():
    X, y, species = read_iris()
    assert X.shape == (150, 4) and X.dtype == np.float64 and y.dtype == np.int64
    assert species == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(np.bincount(y), [50, 50, 50])
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 50))
    # published summary statistics (R's datasets::iris, Fisher's corrected values)
    np.testing.assert_allclose(X.mean(axis=0), [5.843333, 3.057333, 3.758, 1.199333], atol=5e-7)
    np.testing.assert_allclose(X.std(axis=0, ddof=1), [0.8280661, 0.4358663, 1.7652982, 0.7622377], atol=5e-7)
    np.testing.assert_array_equal(X[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_array_equal(X[34], [4.9, 3.1, 1.5, 0.2])  # UCI erratum corrected
    np.testing.assert_array_equal(X[37], [4.9, 3.6, 1.4, 0.1])  # UCI erratum corrected
    np.testing.assert_array_equal(X[149], [5.9, 3.0, 5.1, 1.8])


def test_read_iris_returns_copies():
    X, y, _ = read_iris()
    X[:] = 0.0
    y[:] = 0
    X2, y2, _ = read_iris()
    assert X2[0, 0] == 5.1 and y2[-1] == 2


def test_make_iris_split_and_standardisation():
    data = make_iris(np.random.default_rng(0))
    assert (data.n_train, data.n_test, data.n_features, data.n_classes) == (120, 30, 4, 3)
    assert (data.task, data.name, data.class_names) == ("classification", "iris", ("setosa", "versicolor", "virginica"))
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1.0, rtol=1e-12)
    labels = np.concatenate([data.y_train, data.y_test])
    np.testing.assert_array_equal(np.bincount(labels), [50, 50, 50])
    raw = make_iris(np.random.default_rng(0), standardize=False, test_fraction=0.5)
    assert raw.n_test == 75
    rows = {tuple(r) for r in np.concatenate([raw.X_train, raw.X_test])}
    X, _, _ = read_iris()
    assert rows == {tuple(r) for r in X}


def test_make_iris_is_seeded():
    a, b, c = (make_iris(np.random.default_rng(s)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_logistic_regression_learns_iris():
    data = make_dataset("iris", 4096, 16, 4, np.random.default_rng(0))  # sizes are ignored
    model = make_model("logistic", data.n_features, data.n_classes)
    params = np.zeros(model.num_params)
    optimizer = SGD(lr=0.5)
    for _ in range(200):
        params = optimizer.step(params, model.loss_and_grad(params, data.X_train, data.y_train)[1])
    assert model.accuracy(params, data.X_test, data.y_test) >= 0.9


# ----------------------------------------------------------------------- text


def test_bundled_text():
    text = read_text()
    assert TEXTS == {"alice": "alice.txt"}
    assert len(text) == 31_776 and 20_000 <= len(text.encode("utf-8")) <= 50_000
    assert text.startswith("CHAPTER I.\nDown the Rabbit-Hole\n\n\nAlice was beginning to get very tired")
    assert text.rstrip().endswith("coming back to finish his story.")
    assert len(set(text)) == 68


def test_encoding_and_windows_round_trip():
    ids, vocabulary = encode_text("hello world")
    assert vocabulary == " dehlorw"
    assert "".join(vocabulary[i] for i in ids) == "hello world"
    X, y = context_windows(ids, 3)
    assert X.shape == (8, 3) and y.shape == (8,)
    np.testing.assert_array_equal(X[0], ids[:3])
    assert y[0] == ids[3] and y[-1] == ids[-1]


@pytest.mark.parametrize("context", [1, 8, 32])
def test_make_text_pairs_reproduce_the_text(context):
    data = make_text(np.random.default_rng(0), context=context, test_fraction=0.1)
    text = read_text()
    n = len(text) - context
    assert data.n_train + data.n_test == n and data.n_test == round(0.1 * n)
    assert (data.n_features, data.n_classes, data.name, data.task) == (context, 68, "text", "classification")
    assert data.X_train.dtype == np.int64 and data.y_train.dtype == np.int64
    vocab = data.vocabulary
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    assert "".join(vocab[i] for i in X[0]) + "".join(vocab[i] for i in y) == text
    for row in (0, data.n_train, n - 1):  # each pair is (previous `context` chars, next char)
        assert "".join(vocab[i] for i in X[row]) == text[row : row + context]
        assert vocab[y[row]] == text[row + context]


def test_make_text_split_is_contiguous_and_deterministic():
    a = make_text(np.random.default_rng(0), context=4)
    b = make_text(np.random.default_rng(99), context=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    np.testing.assert_array_equal(a.X_test[0], np.concatenate([a.X_train[-1, 1:], a.y_train[-1:]]))


def test_make_dataset_dispatches_bundled_options():
    data = make_dataset("text", 10, 2, 2, np.random.default_rng(0), context=5, test_fraction=0.2)
    assert data.n_features == 5
    iris = make_dataset("iris", 10, 2, 2, np.random.default_rng(0), standardize=False)
    assert iris.X_train.min() > 0
    with pytest.raises(ScenarioError, match=r"^training\.context: not an option of dataset 'iris'; accepted: standardize, test_fraction$"):
        make_dataset("iris", 10, 2, 2, np.random.default_rng(0), context=3)
    with pytest.raises(ScenarioError, match=r"^training\.noise: not an option of dataset 'text'; accepted: context, test_fraction, text$"):
        make_dataset("text", 10, 2, 2, np.random.default_rng(0), noise=0.1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda rng: make_text(rng, context=0), r"^training\.context: must be an integer >= 1"),
        (lambda rng: make_text(rng, context=2.0), r"^training\.context: "),
        (lambda rng: make_text(rng, context=40_000), r"^training\.context: 40000 characters leave fewer than 2"),
        (lambda rng: make_text(rng, text="hamlet"), r"^training\.text: unknown text 'hamlet'; accepted: alice$"),
        (lambda rng: make_text(rng, test_fraction=1.5), r"^training\.test_fraction: "),
        (lambda rng: make_iris(rng, test_fraction=0.0), r"^training\.test_fraction: "),
        (lambda rng: make_iris(rng, standardize="yes"), r"^training\.standardize: must be true or false"),
    ],
)
def test_errors_name_the_field(call, message):
    with pytest.raises(ScenarioError, match=message):
        call(np.random.default_rng(0))
