"""Synthetic datasets, sharding across workers and per-worker mini-batch sampling.

All randomness comes from a :class:`numpy.random.Generator` passed in by the
caller, so the same seed gives bit-identical arrays.

Examples
--------
>>> import numpy as np
>>> data = make_classification(100, 5, 3, np.random.default_rng(0))
>>> data.X_train.shape, data.X_test.shape, data.n_classes
((80, 5), (20, 5), 3)
>>> shards = shard(data.n_train, 4, "contiguous", np.random.default_rng(1))
>>> [len(s) for s in shards]
[20, 20, 20, 20]
>>> sampler = BatchSampler(shards[0], 8, np.random.default_rng(2))
>>> sampler.next_batch().shape
(8,)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = [
    "Dataset",
    "make_classification",
    "make_regression",
    "DATASETS",
    "make_dataset",
    "SHARDING_METHODS",
    "shard",
    "BatchSampler",
]


@dataclass(frozen=True)
class Dataset:
    """A train/test split of one dataset.

    Attributes
    ----------
    X_train, X_test : numpy.ndarray
        Inputs, ``float64``, shapes ``(n_train, d)`` and ``(n_test, d)``.
    y_train, y_test : numpy.ndarray
        Shapes ``(n_train,)`` and ``(n_test,)``: ``int64`` labels in
        ``[0, n_classes)`` for classification, ``float64`` targets for regression.
    task : str
        ``"classification"`` or ``"regression"``.
    n_classes : int
        Number of classes; 0 for regression.
    name : str
        Registry name of the generator (``"classification"``, ``"regression"``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    n_classes: int
    name: str

    @property
    def n_features(self) -> int:
        """Input dimension ``d``."""
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return int(self.X_test.shape[0])


def _check_int(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ScenarioError(f"{field}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_real(value: object, field: str, *, positive: bool) -> float:
    bad = isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating)
    if bad or not math.isfinite(value) or value < 0 or (positive and value == 0):
        which = "positive" if positive else "non-negative"
        raise ScenarioError(f"{field}: must be a finite {which} number, got {value!r}")
    return float(value)


def _test_count(n_samples: int, test_fraction: object) -> int:
    """Test-split size: ``round(n_samples · test_fraction)`` clamped to ``[1, n_samples − 1]``."""
    bad = isinstance(test_fraction, bool) or not isinstance(
        test_fraction, int | float | np.floating
    )
    if bad or not 0.0 < test_fraction < 1.0:
        raise ScenarioError(
            f"training.test_fraction: must be a number strictly between 0 and 1, got {test_fraction!r}"
        )
    return min(max(round(n_samples * test_fraction), 1), n_samples - 1)


def make_classification(
    n_samples: int,
    n_features: int,
    n_classes: int,
    rng: np.random.Generator,
    test_fraction: float = 0.2,
    separation: float = 1.5,
    noise: float = 1.0,
) -> Dataset:
    """Gaussian class clusters: learnable, but not linearly separable.

    Each class ``k`` has a mean ``separation · u_k`` with ``u_k`` a seeded
    random unit vector in ``R^d``; a sample is its class mean plus isotropic
    Gaussian noise of standard deviation ``noise``. Classes are balanced (sizes
    differ by at most one) and rows are shuffled before the split. With the
    defaults two classes are about ``1.5·√2 ≈ 2.1`` noise units apart (for
    ``d`` not tiny), so a linear model reaches roughly 80–90 % accuracy for 2
    classes, rising from ``1/c`` over tens of SGD steps.

    Parameters
    ----------
    n_samples : int
        Total samples (train + test), ``>= 2``.
    n_features : int
        Input dimension ``d >= 1``.
    n_classes : int
        Number of classes ``c >= 2``.
    rng : numpy.random.Generator
        The only source of randomness.
    test_fraction : float, optional
        Fraction held out for testing, in ``(0, 1)``; the test size is
        ``round(n_samples · test_fraction)`` clamped to ``[1, n_samples − 1]``
        so that neither split is empty. The test rows are the last ones.
    separation : float, optional
        Distance of every class mean from the origin, in noise units (``>= 0``).
    noise : float, optional
        Standard deviation of the per-feature noise (``> 0``).

    Returns
    -------
    Dataset
        ``task="classification"``, ``name="classification"``.

    Raises
    ------
    ScenarioError
        For an invalid argument; the message names the ``training.*`` field.

    Examples
    --------
    >>> import numpy as np
    >>> d = make_classification(10, 2, 2, np.random.default_rng(0), test_fraction=0.3)
    >>> d.n_train, d.n_test, d.y_train.dtype
    (7, 3, dtype('int64'))
    """
    n_samples = _check_int(n_samples, "training.n_samples", 2)
    n_features = _check_int(n_features, "training.n_features", 1)
    n_classes = _check_int(n_classes, "training.n_classes", 2)
    separation = _check_real(separation, "training.separation", positive=False)
    noise = _check_real(noise, "training.noise", positive=True)
    n_test = _test_count(n_samples, test_fraction)

    directions = rng.standard_normal((n_classes, n_features))
    norms = np.sqrt((directions * directions).sum(axis=1, keepdims=True))
    means = separation * directions / np.maximum(norms, np.finfo(np.float64).tiny)
    y = rng.permutation(np.arange(n_samples, dtype=np.int64) % n_classes)
    X = means[y] + noise * rng.standard_normal((n_samples, n_features))
    n_train = n_samples - n_test
    return Dataset(
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        task="classification",
        n_classes=n_classes,
        name="classification",
    )


def make_regression(
    n_samples: int,
    n_features: int,
    rng: np.random.Generator,
    test_fraction: float = 0.2,
    noise: float = 0.1,
) -> Dataset:
    """Linear targets with Gaussian noise: ``y = X @ w* + b* + noise · ε``.

    Inputs are standard normal; the true weights ``w*`` are drawn from
    ``N(0, 1/d)`` (so the signal has unit variance) and the bias ``b*`` from
    ``N(0, 1)``, all from ``rng``.

    Parameters
    ----------
    n_samples : int
        Total samples (train + test), ``>= 2``.
    n_features : int
        Input dimension ``d >= 1``.
    rng : numpy.random.Generator
        The only source of randomness.
    test_fraction : float, optional
        Fraction held out for testing, in ``(0, 1)`` (see :func:`make_classification`).
    noise : float, optional
        Standard deviation of the target noise (``>= 0``).

    Returns
    -------
    Dataset
        ``task="regression"``, ``n_classes=0``, ``name="regression"``; targets
        are ``float64``.

    Raises
    ------
    ScenarioError
        For an invalid argument; the message names the ``training.*`` field.

    Examples
    --------
    >>> import numpy as np
    >>> d = make_regression(50, 3, np.random.default_rng(0))
    >>> d.X_train.shape, d.y_test.shape, d.n_classes
    ((40, 3), (10,), 0)
    """
    n_samples = _check_int(n_samples, "training.n_samples", 2)
    n_features = _check_int(n_features, "training.n_features", 1)
    noise = _check_real(noise, "training.noise", positive=False)
    n_test = _test_count(n_samples, test_fraction)

    w_true = rng.standard_normal(n_features) / math.sqrt(n_features)
    b_true = rng.standard_normal()
    X = rng.standard_normal((n_samples, n_features))
    y = X @ w_true + b_true + noise * rng.standard_normal(n_samples)
    n_train = n_samples - n_test
    return Dataset(
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        task="regression",
        n_classes=0,
        name="regression",
    )


DATASETS: dict[str, Callable[..., Dataset]] = {
    "classification": make_classification,
    "regression": make_regression,
}


def make_dataset(
    name: str,
    n_samples: int,
    n_features: int,
    n_classes: int,
    rng: np.random.Generator,
    **options: object,
) -> Dataset:
    """Build a registered dataset by name.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS` (``"classification"`` or ``"regression"``).
    n_samples, n_features : int
        Total samples and input dimension.
    n_classes : int
        Number of classes (ignored by ``"regression"``).
    rng : numpy.random.Generator
        The only source of randomness.
    **options
        Generator-specific keywords (``test_fraction``, ``separation``, ``noise``).

    Returns
    -------
    Dataset

    Raises
    ------
    ScenarioError
        If the name (``training.dataset``) or an option is unknown, or a value is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> make_dataset("regression", 20, 2, 0, np.random.default_rng(0), noise=0.0).task
    'regression'
    >>> make_dataset("mnist", 20, 2, 0, np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.dataset: unknown dataset 'mnist'; accepted: classification, regression
    """
    builder = DATASETS.get(name)
    if builder is None:
        accepted = ", ".join(sorted(DATASETS))
        raise ScenarioError(f"training.dataset: unknown dataset {name!r}; accepted: {accepted}")
    parameters = inspect.signature(builder).parameters
    fixed = {"n_samples", "n_features", "n_classes", "rng"}
    allowed = sorted(p for p in parameters if p not in fixed)
    for key in options:
        if key not in allowed:
            raise ScenarioError(
                f"training.{key}: not an option of dataset {name!r}; accepted: {', '.join(allowed)}"
            )
    kwargs: dict[str, object] = {"n_samples": n_samples, "n_features": n_features, "rng": rng}
    if "n_classes" in parameters:
        kwargs["n_classes"] = n_classes
    return builder(**kwargs, **options)


SHARDING_METHODS = ("contiguous", "random")


def shard(n_samples: int, workers: int, method: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Partition sample indices ``0 … n_samples − 1`` among workers.

    Parameters
    ----------
    n_samples : int
        Number of (training) samples, ``>= 1``.
    workers : int
        Number of shards, ``1 <= workers <= n_samples``.
    method : str
        ``"contiguous"``: consecutive ranges (``numpy.array_split``; ``rng`` is
        not used). ``"random"``: a seeded permutation split the same way, each
        shard then sorted.
    rng : numpy.random.Generator
        Source of the permutation for ``"random"``.

    Returns
    -------
    list of numpy.ndarray
        ``workers`` disjoint ``int64`` index arrays covering every index once;
        sizes differ by at most one (the first shards are the larger).

    Raises
    ------
    ScenarioError
        For an unknown method (``training.sharding``) or an invalid worker count
        (``training.workers``).

    Examples
    --------
    >>> import numpy as np
    >>> [s.tolist() for s in shard(5, 2, "contiguous", np.random.default_rng(0))]
    [[0, 1, 2], [3, 4]]
    """
    if method not in SHARDING_METHODS:
        raise ScenarioError(
            f"training.sharding: unknown sharding method {method!r}; "
            f"accepted: {', '.join(SHARDING_METHODS)}"
        )
    n_samples = _check_int(n_samples, "training.n_samples", 1)
    workers = _check_int(workers, "training.workers", 1)
    if workers > n_samples:
        raise ScenarioError(
            f"training.workers: {workers} workers exceed the {n_samples} training samples; "
            "every worker needs at least one sample"
        )
    if method == "contiguous":
        return np.array_split(np.arange(n_samples, dtype=np.int64), workers)
    order = rng.permutation(n_samples).astype(np.int64)
    return [np.sort(part) for part in np.array_split(order, workers)]


class BatchSampler:
    """Draw fixed-size mini-batches from one shard, epoch by epoch.

    Within an epoch the shard is visited in a fresh random order without
    replacement. A batch that crosses the end of an epoch takes the remaining
    indices and continues from a new shuffle, so every batch has exactly
    ``batch_size`` indices and every ``len(indices)`` consecutive draws cover the
    shard exactly once. (Such a boundary batch may therefore repeat an index.)

    Parameters
    ----------
    indices : numpy.ndarray
        The shard: dataset row indices, shape ``(m,)``; copied.
    batch_size : int
        Samples per batch, ``1 <= batch_size <= m``.
    rng : numpy.random.Generator
        The sampler's own generator (its only source of randomness).

    Raises
    ------
    ScenarioError
        If ``batch_size`` is not an integer in ``[1, m]`` (``training.batch_size``).

    Examples
    --------
    >>> import numpy as np
    >>> sampler = BatchSampler(np.arange(4), 3, np.random.default_rng(0))
    >>> first, second = sampler.next_batch(), sampler.next_batch()
    >>> sorted(np.concatenate([first, second])[:4].tolist())
    [0, 1, 2, 3]
    >>> sampler.samples_drawn, sampler.epochs
    (6, 1.5)
    """

    def __init__(self, indices: np.ndarray, batch_size: int, rng: np.random.Generator) -> None:
        self.indices = np.array(indices, dtype=np.int64).reshape(-1)
        self.batch_size = _check_int(batch_size, "training.batch_size", 1)
        if self.batch_size > self.indices.size:
            raise ScenarioError(
                f"training.batch_size: {self.batch_size} exceeds the shard size "
                f"{self.indices.size}; use a smaller batch or fewer workers"
            )
        self._rng = rng
        self._order = self.indices
        self._position = self.indices.size  # forces a shuffle on the first draw
        self.samples_drawn = 0

    def __repr__(self) -> str:
        return f"BatchSampler(shard_size={self.indices.size}, batch_size={self.batch_size})"

    @property
    def epochs(self) -> float:
        """Passes over the shard so far: ``samples_drawn / shard size``."""
        return self.samples_drawn / self.indices.size

    def next_batch(self) -> np.ndarray:
        """Return the next ``batch_size`` row indices (``int64``, a new array)."""
        parts = []
        needed = self.batch_size
        while needed:
            if self._position == self._order.size:
                self._order = self._rng.permutation(self.indices)
                self._position = 0
            take = min(needed, self._order.size - self._position)
            parts.append(self._order[self._position : self._position + take])
            self._position += take
            needed -= take
        self.samples_drawn += self.batch_size
        return np.concatenate(parts)
