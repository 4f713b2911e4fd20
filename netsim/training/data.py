"""Datasets (synthetic and bundled real ones), sharding and per-worker mini-batch sampling.

Registered datasets (scenario key ``training.dataset``): ``classification`` and
``regression`` (seeded synthetic), ``iris`` (Fisher's Iris, 150 × 4, 3 classes) and
``text`` (character-level next-token pairs from a bundled public-domain text). The
real datasets ship in ``netsim/training/datasets/`` (sources and licences in its
``README.md``); nothing is downloaded. Sharding lives in
:mod:`netsim.training.sharding` and is re-exported here.

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
from netsim.training.bundled import TEXTS, context_windows, encode_text, read_iris, read_text
from netsim.training.sampling import BatchSampler
from netsim.training.sharding import SHARDING_METHODS, label_histograms, shard

__all__ = [
    "Dataset",
    "make_classification",
    "make_regression",
    "make_iris",
    "make_text",
    "DATASETS",
    "make_dataset",
    "SHARDING_METHODS",
    "shard",
    "label_histograms",
    "BatchSampler",
]


@dataclass(frozen=True)
class Dataset:
    """A train/test split of one dataset.

    Attributes
    ----------
    X_train, X_test : numpy.ndarray
        Inputs, shapes ``(n_train, d)`` and ``(n_test, d)``: ``float64`` features,
        except for ``"text"`` whose inputs are ``int64`` token ids (``d`` is the
        context length).
    y_train, y_test : numpy.ndarray
        Shapes ``(n_train,)`` and ``(n_test,)``: ``int64`` labels in
        ``[0, n_classes)`` for classification, ``float64`` targets for regression.
    task : str
        ``"classification"`` or ``"regression"``.
    n_classes : int
        Number of classes; 0 for regression.
    name : str
        Registry name of the generator (a key of :data:`DATASETS`).
    class_names : tuple of str or None
        Names of the classes in label order, when they have names (``"iris"``).
    vocabulary : str or None
        For ``"text"``: the characters in token-id order (``vocabulary[i]`` is id ``i``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    n_classes: int
    name: str
    class_names: tuple[str, ...] | None = None
    vocabulary: str | None = None

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


def make_iris(
    rng: np.random.Generator, test_fraction: float = 0.2, standardize: bool = True
) -> Dataset:
    """Fisher's Iris data (150 flowers, 4 measurements in cm, 3 species of 50).

    Parameters
    ----------
    rng : numpy.random.Generator
        Shuffles the rows before the split (the only randomness).
    test_fraction : float, optional
        Fraction held out for testing, in ``(0, 1)`` (30 of 150 rows by default).
    standardize : bool, optional
        Scale every feature to zero mean and unit variance using the *training*
        rows' mean and standard deviation (default true; the raw measurements
        otherwise make SGD step sizes depend on the units).

    Returns
    -------
    Dataset
        ``task="classification"``, ``n_classes=3``, ``name="iris"``, ``class_names``
        the species.

    Raises
    ------
    ScenarioError
        For an invalid ``training.test_fraction`` or ``training.standardize``.

    Examples
    --------
    >>> import numpy as np
    >>> d = make_iris(np.random.default_rng(0))
    >>> d.n_train, d.n_test, d.n_features, d.class_names
    (120, 30, 4, ('setosa', 'versicolor', 'virginica'))
    """
    if not isinstance(standardize, bool | np.bool_):
        raise ScenarioError(f"training.standardize: must be true or false, got {standardize!r}")
    X, y, species = read_iris()
    n_test = _test_count(len(y), test_fraction)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    n_train = len(y) - n_test
    if standardize:
        mean = X[:n_train].mean(axis=0)
        std = X[:n_train].std(axis=0)
        X = (X - mean) / np.where(std > 0, std, 1.0)
    return Dataset(
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        task="classification",
        n_classes=len(species),
        name="iris",
        class_names=species,
    )


def make_text(
    rng: np.random.Generator, test_fraction: float = 0.1, context: int = 8, text: str = "alice"
) -> Dataset:
    """Character-level next-token pairs from a bundled public-domain text.

    Every position ``i >= context`` of the text gives one sample: the ids of the
    ``context`` previous characters and the id of character ``i``. The vocabulary is
    the sorted set of the text's characters (68 for ``"alice"``, chapters I–III of
    *Alice's Adventures in Wonderland*, 31 776 characters). The split is contiguous,
    as is usual for language modelling: the test samples are the last ones (their
    targets never occur as training targets). Use it with ``make_model("lm",
    n_features=data.n_features, n_classes=data.n_classes)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Unused (the text and its split are fixed); accepted for a uniform interface.
    test_fraction : float, optional
        Fraction of the samples held out for testing, in ``(0, 1)`` (default 0.1).
    context : int, optional
        Context length ``k >= 1`` (default 8); becomes ``n_features``.
    text : str, optional
        Name of the bundled text (``"alice"``).

    Returns
    -------
    Dataset
        ``task="classification"``, ``int64`` inputs of shape ``(n, context)``,
        ``n_classes`` the vocabulary size, ``name="text"``, ``vocabulary`` set.

    Raises
    ------
    ScenarioError
        For an invalid ``training.test_fraction``, ``training.context`` or
        ``training.text``.

    Examples
    --------
    >>> import numpy as np
    >>> d = make_text(np.random.default_rng(0), context=4)
    >>> d.n_features, d.n_classes, d.X_train.dtype
    (4, 68, dtype('int64'))
    >>> "".join(d.vocabulary[i] for i in d.X_train[0]) + "|" + d.vocabulary[d.y_train[0]]
    'CHAP|T'
    """
    if text not in TEXTS:
        raise ScenarioError(
            f"training.text: unknown text {text!r}; accepted: {', '.join(sorted(TEXTS))}"
        )
    corpus = read_text(text)
    context = _check_int(context, "training.context", 1)
    if context > len(corpus) - 2:
        raise ScenarioError(
            f"training.context: {context} characters leave fewer than 2 samples in the "
            f"{len(corpus)}-character text {text!r}"
        )
    ids, vocabulary = encode_text(corpus)
    X, y = context_windows(ids, context)
    n_train = len(y) - _test_count(len(y), test_fraction)
    return Dataset(
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        task="classification",
        n_classes=len(vocabulary),
        name="text",
        vocabulary=vocabulary,
    )


DATASETS: dict[str, Callable[..., Dataset]] = {
    "classification": make_classification,
    "regression": make_regression,
    "iris": make_iris,
    "text": make_text,
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
        A key of :data:`DATASETS`: ``"classification"``, ``"regression"``,
        ``"iris"`` or ``"text"``.
    n_samples, n_features : int
        Total samples and input dimension of the synthetic datasets. The bundled
        ``"iris"`` and ``"text"`` have fixed sizes and ignore both: take the
        dimensions from the returned :class:`Dataset` (``n_features``,
        ``n_classes``), never from the request.
    n_classes : int
        Number of classes (used by ``"classification"`` only).
    rng : numpy.random.Generator
        The only source of randomness.
    **options
        Dataset-specific keywords: ``test_fraction`` (all); ``separation``, ``noise``
        (``"classification"``); ``noise`` (``"regression"``); ``standardize``
        (``"iris"``); ``context``, ``text`` (``"text"``).

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
    >>> make_dataset("iris", 0, 0, 0, np.random.default_rng(0)).n_features
    4
    >>> make_dataset("mnist", 20, 2, 0, np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.dataset: unknown dataset 'mnist'; accepted: classification, iris, regression, text
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
    requested = {"n_samples": n_samples, "n_features": n_features, "n_classes": n_classes}
    kwargs: dict[str, object] = {k: v for k, v in requested.items() if k in parameters}
    return builder(**kwargs, rng=rng, **options)
