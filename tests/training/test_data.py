"""Tests of netsim.training.data: generators, registry, sharding, batch sampling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.training.data import (
    DATASETS,
    BatchSampler,
    Dataset,
    make_classification,
    make_dataset,
    make_regression,
    shard,
)


def _arrays(data: Dataset) -> list[np.ndarray]:
    return [data.X_train, data.y_train, data.X_test, data.y_test]


# ----------------------------------------------------------------- generators


@pytest.mark.parametrize(
    ("n", "fraction", "n_test"),
    [
        (100, 0.2, 20),
        (10, 0.3, 3),
        (7, 0.5, 4),
        (2, 0.5, 1),
        (50, 0.01, 1),
        (10, 0.99, 9),
        (3, 0.01, 1),
    ],
)
def test_classification_shapes_dtypes_and_split(n, fraction, n_test):
    data = make_classification(n, 4, 3, np.random.default_rng(0), test_fraction=fraction)
    assert data.X_train.shape == (n - n_test, 4) and data.X_test.shape == (n_test, 4)
    assert data.y_train.shape == (n - n_test,) and data.y_test.shape == (n_test,)
    assert data.X_train.dtype == np.float64 and data.y_train.dtype == np.int64
    assert (data.task, data.n_classes, data.name) == ("classification", 3, "classification")
    assert (data.n_features, data.n_train, data.n_test) == (4, n - n_test, n_test)
    labels = np.concatenate([data.y_train, data.y_test])
    assert labels.min() >= 0 and labels.max() < 3


def test_classification_classes_are_balanced():
    data = make_classification(301, 2, 3, np.random.default_rng(5))
    counts = np.bincount(np.concatenate([data.y_train, data.y_test]))
    assert counts.tolist() == [101, 100, 100]


def test_regression_shapes_dtypes_and_split():
    data = make_regression(60, 5, np.random.default_rng(0), test_fraction=0.25)
    assert data.X_train.shape == (45, 5) and data.X_test.shape == (15, 5)
    assert data.y_train.dtype == np.float64 and data.y_test.shape == (15,)
    assert (data.task, data.n_classes, data.name) == ("regression", 0, "regression")


@pytest.mark.parametrize(
    "build",
    [
        lambda rng: make_classification(80, 3, 4, rng),
        lambda rng: make_regression(80, 3, rng),
    ],
)
def test_generators_are_deterministic_per_seed(build):
    a, b, c = (
        build(np.random.default_rng(11)),
        build(np.random.default_rng(11)),
        build(np.random.default_rng(12)),
    )
    for left, right in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a.X_train, c.X_train)


def test_regression_is_linear_plus_noise():
    data = make_regression(500, 4, np.random.default_rng(2), noise=0.0)
    design = np.column_stack([data.X_train, np.ones(data.n_train)])
    coef, *_ = np.linalg.lstsq(design, data.y_train, rcond=None)
    np.testing.assert_allclose(design @ coef, data.y_train, atol=1e-10)
    np.testing.assert_allclose(data.X_test @ coef[:-1] + coef[-1], data.y_test, atol=1e-10)


def test_classification_is_learnable_but_not_trivial():
    """The nearest-true-mean rule is good but imperfect on the defaults."""
    rng = np.random.default_rng(0)
    data = make_classification(4000, 10, 2, rng)
    X, y = data.X_train, data.y_train
    means = np.stack([X[y == k].mean(axis=0) for k in range(2)])
    distances = ((data.X_test[:, None, :] - means[None]) ** 2).sum(axis=2)
    accuracy = np.mean(distances.argmin(axis=1) == data.y_test)
    assert 0.7 < accuracy < 0.97


def test_separation_zero_is_chance_level():
    data = make_classification(4000, 5, 2, np.random.default_rng(0), separation=0.0)
    X, y = data.X_train, data.y_train
    gap = np.linalg.norm(X[y == 0].mean(axis=0) - X[y == 1].mean(axis=0))
    assert gap < 0.2


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda rng: make_classification(1, 2, 2, rng), "training.n_samples"),
        (lambda rng: make_classification(10, 0, 2, rng), "training.n_features"),
        (lambda rng: make_classification(10, 2, 1, rng), "training.n_classes"),
        (
            lambda rng: make_classification(10, 2, 2, rng, test_fraction=0.0),
            "training.test_fraction",
        ),
        (
            lambda rng: make_classification(10, 2, 2, rng, test_fraction=1.0),
            "training.test_fraction",
        ),
        (
            lambda rng: make_classification(10, 2, 2, rng, test_fraction=-0.5),
            "training.test_fraction",
        ),
        (lambda rng: make_classification(10, 2, 2, rng, separation=-1.0), "training.separation"),
        (lambda rng: make_classification(10, 2, 2, rng, noise=0.0), "training.noise"),
        (lambda rng: make_classification(10, 2, 2, rng, noise=float("nan")), "training.noise"),
        (lambda rng: make_regression(10, 2, rng, noise=-0.1), "training.noise"),
        (lambda rng: make_regression(10.0, 2, rng), "training.n_samples"),
        (lambda rng: make_regression(10, 2, rng, test_fraction="0.2"), "training.test_fraction"),
    ],
)
def test_generator_errors_name_the_field(call, field):
    with pytest.raises(ScenarioError, match=f"^{field}: "):
        call(np.random.default_rng(0))


# ------------------------------------------------------------------- registry


def test_make_dataset_dispatches_and_forwards_options():
    assert set(DATASETS) == {"classification", "regression", "iris", "text"}
    direct = make_classification(50, 3, 4, np.random.default_rng(1), separation=3.0)
    via = make_dataset("classification", 50, 3, 4, np.random.default_rng(1), separation=3.0)
    for left, right in zip(_arrays(direct), _arrays(via), strict=True):
        np.testing.assert_array_equal(left, right)
    regression = make_dataset("regression", 50, 3, 4, np.random.default_rng(1), noise=0.5)
    np.testing.assert_array_equal(
        regression.y_train, make_regression(50, 3, np.random.default_rng(1), noise=0.5).y_train
    )


def test_make_dataset_unknown_name():
    with pytest.raises(ScenarioError) as info:
        make_dataset("mnist", 10, 2, 2, np.random.default_rng(0))
    assert (
        str(info.value)
        == "training.dataset: unknown dataset 'mnist'; accepted: classification, iris, regression, text"
    )


def test_make_dataset_unknown_option():
    with pytest.raises(
        ScenarioError, match=r"^training\.separation: not an option of dataset 'regression'"
    ):
        make_dataset("regression", 10, 2, 0, np.random.default_rng(0), separation=2.0)


# ------------------------------------------------------------------- sharding


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 200),
    data=st.data(),
    method=st.sampled_from(["contiguous", "random"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_shards_partition_indices_exactly(n, data, method, seed):
    workers = data.draw(st.integers(1, n))
    shards = shard(n, workers, method, np.random.default_rng(seed))
    assert len(shards) == workers
    assert all(s.dtype == np.int64 and s.ndim == 1 for s in shards)
    sizes = [s.size for s in shards]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    np.testing.assert_array_equal(np.sort(np.concatenate(shards)), np.arange(n))


def test_contiguous_shards_are_ranges():
    shards = shard(10, 3, "contiguous", np.random.default_rng(0))
    assert [s.tolist() for s in shards] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_random_shards_are_seeded_and_differ_from_contiguous():
    a = shard(100, 4, "random", np.random.default_rng(3))
    b = shard(100, 4, "random", np.random.default_rng(3))
    c = shard(100, 4, "random", np.random.default_rng(4))
    contiguous = shard(100, 4, "contiguous", np.random.default_rng(3))
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    assert any(not np.array_equal(x, y) for x, y in zip(a, contiguous, strict=True))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (10, 2, "iid"),
            r"^training\.sharding: unknown sharding method 'iid'; "
            r"accepted: contiguous, random, hash, replicated, dirichlet$",
        ),
        ((10, 0, "random"), r"^training\.workers: "),
        ((10, 11, "contiguous"), r"^training\.workers: 11 workers exceed the 10"),
        ((10, 2.0, "contiguous"), r"^training\.workers: "),
        ((0, 1, "contiguous"), r"^training\.n_samples: "),
    ],
)
def test_shard_errors_name_the_field(args, message):
    with pytest.raises(ScenarioError, match=message):
        shard(*args, np.random.default_rng(0))


# -------------------------------------------------------------- batch sampler


@pytest.mark.parametrize(("size", "batch"), [(12, 4), (10, 3), (7, 7), (5, 1), (9, 8)])
def test_sampler_covers_each_index_once_per_epoch(size, batch):
    indices = np.arange(100, 100 + size) * 3
    sampler = BatchSampler(indices, batch, np.random.default_rng(0))
    epochs = 5
    batches = [sampler.next_batch() for _ in range(epochs * size)]  # exactly `batch` epochs
    assert all(b.shape == (batch,) and b.dtype == np.int64 for b in batches)
    drawn = np.concatenate(batches)
    orders = drawn.reshape(-1, size)
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), indices)
    assert sampler.samples_drawn == drawn.size
    assert sampler.epochs == pytest.approx(drawn.size / size)
    assert len({tuple(o) for o in orders}) > 1  # reshuffled each epoch


def test_sampler_is_deterministic_and_seed_dependent():
    indices = np.arange(50)

    def run(seed):
        sampler = BatchSampler(indices, 7, np.random.default_rng(seed))
        return np.concatenate([sampler.next_batch() for _ in range(20)])

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


def test_sampler_copies_its_shard():
    indices = np.arange(6)
    sampler = BatchSampler(indices, 6, np.random.default_rng(0))
    indices[:] = -1
    assert np.sort(sampler.next_batch()).tolist() == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("batch", "message"), [(11, r"11 exceeds the shard size 10"), (0, ">= 1"), (2.0, ">= 1")]
)
def test_sampler_batch_size_errors(batch, message):
    with pytest.raises(ScenarioError, match=rf"^training\.batch_size: .*{message}"):
        BatchSampler(np.arange(10), batch, np.random.default_rng(0))
