"""Tests of netsim.training.sharding: hash, replicated and Dirichlet label-skew shards."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.training.data import SHARDING_METHODS as REEXPORTED
from netsim.training.data import label_histograms as reexported_histograms
from netsim.training.data import shard as reexported_shard
from netsim.training.sharding import SHARDING_METHODS, label_histograms, shard, stable_hash

ROOT = Path(__file__).resolve().parents[2]


def _balanced_labels(n, classes, seed=0):
    return np.random.default_rng(seed).permutation(np.arange(n) % classes)


def _assert_partition(shards, n, workers):
    assert len(shards) == workers
    assert all(s.dtype == np.int64 and s.ndim == 1 and s.size >= 1 for s in shards)
    assert all(np.all(np.diff(s) > 0) for s in shards)  # sorted, no duplicates
    np.testing.assert_array_equal(np.sort(np.concatenate(shards)), np.arange(n))


def test_data_module_reexports_sharding():
    assert REEXPORTED is SHARDING_METHODS and reexported_shard is shard
    assert reexported_histograms is label_histograms
    assert SHARDING_METHODS == ("contiguous", "random", "hash", "replicated", "dirichlet")


# ----------------------------------------------------------------------- hash


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_hash_partitions_exactly_or_raises(n, data):
    workers = data.draw(st.integers(1, min(n, 8)))
    try:
        shards = shard(n, workers, "hash", None)
    except ScenarioError as error:
        assert str(error).startswith("training.sharding: 'hash' sharding of")
        assert "without samples" in str(error)
        return
    _assert_partition(shards, n, workers)


def test_hash_is_by_sample_id_and_ignores_the_generator():
    a = shard(1000, 4, "hash", np.random.default_rng(1))
    b = shard(1000, 4, "hash", np.random.default_rng(2))
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    owner = (stable_hash(np.arange(1000)) % np.uint64(4)).astype(np.int64)
    for w, indices in enumerate(a):
        assert np.all(owner[indices] == w)
    # a sample keeps its worker when samples are appended
    grown = shard(1500, 4, "hash", None)
    for small, large in zip(a, grown, strict=True):
        np.testing.assert_array_equal(large[large < 1000], small)


def test_hash_is_roughly_balanced():
    sizes = [s.size for s in shard(40_000, 8, "hash", None)]
    assert max(sizes) - min(sizes) < 8 * np.sqrt(5000)  # binomial s.d. ≈ 66


def test_stable_hash_reference_values():
    # SplitMix64 seeded with 0 yields 0xE220A8397B1DCDAF first (Vigna's reference code)
    assert int(stable_hash(np.array([0]))[0]) == 0xE220A8397B1DCDAF
    assert stable_hash(np.arange(5)).dtype == np.uint64


def test_hash_is_identical_in_another_process_with_another_hash_seed():
    code = (
        "import numpy as np; from netsim.training.sharding import shard;"
        "print([s.tolist()[:20] for s in shard(5000, 7, 'hash', None)])"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    here = str([s.tolist()[:20] for s in shard(5000, 7, "hash", None)])
    assert out == here


def test_hash_too_many_workers_for_the_samples():
    with pytest.raises(ScenarioError, match=r"^training\.sharding: 'hash' sharding of 3 samples over 3 workers left worker"):
        shard(3, 3, "hash", None)


# ----------------------------------------------------------------- replicated


@pytest.mark.parametrize(("n", "workers"), [(1, 1), (5, 3), (3, 8)])
def test_replicated_gives_every_worker_everything(n, workers):
    shards = shard(n, workers, "replicated", None)
    assert len(shards) == workers
    for s in shards:
        np.testing.assert_array_equal(s, np.arange(n))
        assert s.dtype == np.int64
    shards[0][0] = -1  # independent arrays
    assert shards[-1][0] == 0 or workers == 1


# ------------------------------------------------------------------ dirichlet


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 200),
    classes=st.integers(1, 6),
    alpha=st.sampled_from([0.01, 0.1, 0.5, 1.0, 10.0, 1e4]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_dirichlet_partitions_exactly_or_raises(n, classes, alpha, seed, data):
    workers = data.draw(st.integers(1, min(n, 6)))
    labels = _balanced_labels(n, classes, seed)
    try:
        shards = shard(n, workers, "dirichlet", np.random.default_rng(seed), labels=labels, alpha=alpha)
    except ScenarioError as error:
        assert str(error).startswith("training.dirichlet_alpha: with alpha = ")
        return
    _assert_partition(shards, n, workers)


def test_dirichlet_is_seeded():
    labels = _balanced_labels(500, 5)
    a = shard(500, 4, "dirichlet", np.random.default_rng(3), labels=labels, alpha=0.3)
    b = shard(500, 4, "dirichlet", np.random.default_rng(3), labels=labels, alpha=0.3)
    c = shard(500, 4, "dirichlet", np.random.default_rng(4), labels=labels, alpha=0.3)
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def _mean_worker_entropy(histograms):
    p = histograms / histograms.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=1).mean()


def test_smaller_alpha_gives_more_label_skew():
    classes, workers = 10, 8
    labels = _balanced_labels(4000, classes)
    entropies = []
    for alpha in (0.05, 0.3, 3.0, 1000.0):
        values = []
        for seed in range(5):
            shards = shard(4000, workers, "dirichlet", np.random.default_rng(seed), labels=labels, alpha=alpha)
            values.append(_mean_worker_entropy(label_histograms(shards, labels, classes)))
        entropies.append(np.mean(values))
    assert all(a < b for a, b in zip(entropies, entropies[1:], strict=False)), entropies
    assert entropies[0] < 0.5 * np.log(classes)  # a few classes per worker
    assert entropies[-1] > 0.99 * np.log(classes)  # essentially IID


def test_dirichlet_proportions_follow_the_draw():
    """With one class, worker shares are Dir(α) draws: mean share 1/workers."""
    labels = np.zeros(10_000, dtype=np.int64)
    shares = []
    for seed in range(200):
        shards = shard(10_000, 4, "dirichlet", np.random.default_rng(seed), labels=labels, alpha=2.0)
        shares.append([s.size / 10_000 for s in shards])
    shares = np.array(shares)
    np.testing.assert_allclose(shares.mean(axis=0), 0.25, atol=0.03)
    # Var of a Dir(2,2,2,2) component: (1/4)(3/4) / (8 + 1) ≈ 0.0208 -> s.d. 0.144
    np.testing.assert_allclose(shares.std(axis=0), np.sqrt(0.25 * 0.75 / 9), rtol=0.2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": None}, r"^training\.sharding: 'dirichlet' splits by class label"),
        ({"labels": np.zeros(9, dtype=np.int64)}, r"^training\.sharding: 'dirichlet' needs one integer class label per sample"),
        ({"labels": np.zeros(10)}, r"^training\.sharding: 'dirichlet' needs one integer"),
        ({"labels": np.zeros(10, dtype=np.int64), "alpha": 0.0}, r"^training\.dirichlet_alpha: must be a positive"),
        ({"labels": np.zeros(10, dtype=np.int64), "alpha": float("inf")}, r"^training\.dirichlet_alpha: "),
        ({"labels": np.zeros(10, dtype=np.int64), "alpha": "0.5"}, r"^training\.dirichlet_alpha: "),
    ],
)
def test_dirichlet_errors_name_the_field(kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        shard(10, 2, "dirichlet", np.random.default_rng(0), **kwargs)


def test_dirichlet_gives_up_with_a_clear_error():
    labels = np.zeros(8, dtype=np.int64)  # one class, tiny alpha: one worker takes everything
    with pytest.raises(ScenarioError, match=r"^training\.dirichlet_alpha: with alpha = 1e-06, 1000 draws"):
        shard(8, 8, "dirichlet", np.random.default_rng(0), labels=labels, alpha=1e-6)


# ----------------------------------------------------------------- histograms


@pytest.mark.parametrize("method", ["contiguous", "random", "hash", "dirichlet"])
def test_histograms_sum_to_class_counts(method):
    labels = _balanced_labels(999, 7)
    labels[:50] = 6  # unbalanced
    shards = shard(999, 5, method, np.random.default_rng(1), labels=labels, alpha=0.5)
    hist = label_histograms(shards, labels, 7)
    assert hist.shape == (5, 7) and hist.dtype == np.int64
    np.testing.assert_array_equal(hist.sum(axis=0), np.bincount(labels, minlength=7))
    np.testing.assert_array_equal(hist.sum(axis=1), [s.size for s in shards])


def test_histograms_of_replicated_shards_count_every_copy():
    labels = np.array([0, 1, 1, 2])
    hist = label_histograms(shard(4, 3, "replicated", None), labels, 4)
    np.testing.assert_array_equal(hist, [[1, 2, 1, 0]] * 3)


def test_histogram_errors():
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        label_histograms([np.array([0])], np.array([2]), 2)
    with pytest.raises(ValueError, match="integers"):
        label_histograms([np.array([0])], np.array([0.5]), 2)


def test_replicated_accepts_more_workers_than_samples_but_others_do_not():
    assert len(shard(2, 5, "replicated", None)) == 5
    with pytest.raises(ScenarioError, match=r"^training\.workers: 5 workers exceed the 2"):
        shard(2, 5, "hash", None)
