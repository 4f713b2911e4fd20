"""Partitioning training samples among data-parallel workers.

Methods (scenario key ``training.sharding``):

``contiguous``
    Consecutive ranges (``numpy.array_split``); no randomness.
``random``
    A seeded permutation split the same way, each shard then sorted.
``hash``
    Sample ``i`` goes to worker ``stable_hash(i) mod workers`` (SplitMix64): a fixed 64-bit mixing
    function of the sample id (never Python's salted ``hash()``), so the assignment is
    the same in every process and run, needs no generator, and a sample keeps its
    worker when samples are added. Shard sizes are only balanced on average.
``replicated``
    Every worker's shard is the whole training set (each worker samples its own
    batches from all data). Any number of workers is allowed.
``dirichlet``
    Non-IID label skew (Hsu et al. 2019, "Measuring the effects of non-identical data
    distribution"; the NIID-Bench recipe): for each class, draw worker proportions
    ``p ~ Dir(α·1_workers)`` and split that class's (shuffled) samples accordingly.
    Small ``α`` gives each worker few classes; large ``α`` approaches an IID split.

Every method returns sorted, disjoint ``int64`` index arrays that together cover each
sample exactly once (except ``replicated``), and raises :class:`ScenarioError` rather
than return an empty shard.

Examples
--------
>>> import numpy as np
>>> [s.tolist() for s in shard(6, 2, "hash", None)]
[[2, 4, 5], [0, 1, 3]]
>>> labels = np.array([0, 0, 1, 1, 2, 2])
>>> label_histograms(shard(6, 3, "contiguous", None), labels, 3).tolist()
[[2, 0, 0], [0, 2, 0], [0, 0, 2]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = ["SHARDING_METHODS", "shard", "label_histograms", "stable_hash"]

SHARDING_METHODS = ("contiguous", "random", "hash", "replicated", "dirichlet")

_DIRICHLET_DRAWS = 1000
"""Redraws of the Dirichlet proportions allowed before giving up on a split
leaving every worker at least one sample."""


def _check_int(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ScenarioError(f"{field}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def stable_hash(ids: np.ndarray) -> np.ndarray:
    """SplitMix64 hash of non-negative integer ids, as ``uint64``.

    The first output of the SplitMix64 generator seeded with the id (Steele, Lea &
    Flood 2014, as in ``java.util.SplittableRandom``): ``id + 0x9E3779B97F4A7C15``
    through the bijective 64-bit mixing finaliser. Identical on every platform and in
    every process (unlike Python's salted ``hash()``).

    Examples
    --------
    >>> int(stable_hash(np.array([0]))[0]), int(stable_hash(np.array([1]))[0])
    (16294208416658607535, 10451216379200822465)
    """
    z = np.asarray(ids).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def shard(
    n_samples: int,
    workers: int,
    method: str,
    rng: np.random.Generator | None,
    labels: np.ndarray | None = None,
    alpha: float = 0.5,
) -> list[np.ndarray]:
    """Partition sample indices ``0 … n_samples − 1`` among workers.

    Parameters
    ----------
    n_samples : int
        Number of (training) samples, ``>= 1``.
    workers : int
        Number of shards, ``>= 1`` (and ``<= n_samples`` except for ``"replicated"``).
    method : str
        One of :data:`SHARDING_METHODS` (see the module docstring).
    rng : numpy.random.Generator or None
        Source of randomness for ``"random"`` and ``"dirichlet"`` (unused, may be
        ``None``, for the others).
    labels : numpy.ndarray, optional
        Integer class labels of the samples, shape ``(n_samples,)``; required by
        ``"dirichlet"``, ignored otherwise.
    alpha : float, optional
        Dirichlet concentration ``α > 0`` for ``"dirichlet"`` (default 0.5).

    Returns
    -------
    list of numpy.ndarray
        ``workers`` sorted ``int64`` index arrays, none empty. For ``"contiguous"``
        and ``"random"`` sizes differ by at most one (the first shards are the
        larger).

    Raises
    ------
    ScenarioError
        For an unknown method (``training.sharding``), an invalid worker count
        (``training.workers``), a non-positive ``alpha``
        (``training.dirichlet_alpha``), missing or malformed labels, or a split
        that would leave a worker without samples.

    Examples
    --------
    >>> import numpy as np
    >>> [s.tolist() for s in shard(5, 2, "contiguous", np.random.default_rng(0))]
    [[0, 1, 2], [3, 4]]
    >>> [s.tolist() for s in shard(3, 4, "replicated", None)]
    [[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2]]
    """
    if method not in SHARDING_METHODS:
        raise ScenarioError(
            f"training.sharding: unknown sharding method {method!r}; "
            f"accepted: {', '.join(SHARDING_METHODS)}"
        )
    n_samples = _check_int(n_samples, "training.n_samples", 1)
    workers = _check_int(workers, "training.workers", 1)
    if method == "replicated":
        everything = np.arange(n_samples, dtype=np.int64)
        return [everything.copy() for _ in range(workers)]
    if workers > n_samples:
        raise ScenarioError(
            f"training.workers: {workers} workers exceed the {n_samples} training samples; "
            "every worker needs at least one sample"
        )
    if method == "contiguous":
        return np.array_split(np.arange(n_samples, dtype=np.int64), workers)
    if method == "random":
        order = rng.permutation(n_samples).astype(np.int64)
        return [np.sort(part) for part in np.array_split(order, workers)]
    if method == "hash":
        owner = stable_hash(np.arange(n_samples)) % np.uint64(workers)
        shards = [np.flatnonzero(owner == w).astype(np.int64) for w in range(workers)]
        _require_nonempty(shards, "'hash' sharding", n_samples)
        return shards
    return _dirichlet(n_samples, workers, rng, labels, alpha)


def _require_nonempty(shards: Sequence[np.ndarray], what: str, n_samples: int) -> None:
    empty = [w for w, s in enumerate(shards) if s.size == 0]
    if empty:
        raise ScenarioError(
            f"training.sharding: {what} of {n_samples} samples over {len(shards)} workers "
            f"left worker {empty[0]} without samples; use fewer workers, more samples "
            "or another sharding method"
        )


def _dirichlet(
    n_samples: int,
    workers: int,
    rng: np.random.Generator,
    labels: np.ndarray | None,
    alpha: float,
) -> list[np.ndarray]:
    """Dirichlet label-skew split (see the module docstring)."""
    bad = isinstance(alpha, bool) or not isinstance(alpha, int | float | np.integer | np.floating)
    if bad or not math.isfinite(alpha) or alpha <= 0:
        raise ScenarioError(
            f"training.dirichlet_alpha: must be a positive finite number, got {alpha!r}"
        )
    if labels is None:
        raise ScenarioError(
            "training.sharding: 'dirichlet' splits by class label and needs a "
            "classification dataset"
        )
    labels = np.asarray(labels)
    if labels.shape != (n_samples,) or not np.issubdtype(labels.dtype, np.integer):
        raise ScenarioError(
            "training.sharding: 'dirichlet' needs one integer class label per sample, got "
            f"{labels.dtype} labels of shape {labels.shape} for {n_samples} samples"
        )
    classes = np.unique(labels)
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    class_sizes = np.array([m.size for m in members])
    concentration = np.full(workers, float(alpha))
    for _ in range(_DIRICHLET_DRAWS):
        proportions = rng.dirichlet(concentration, size=classes.size)  # classes × workers
        if not np.all(np.isfinite(proportions)):
            continue
        cuts = np.floor(np.cumsum(proportions, axis=1) * class_sizes[:, None]).astype(np.int64)
        cuts[:, -1] = class_sizes
        cuts = np.maximum.accumulate(np.minimum(cuts, class_sizes[:, None]), axis=1)
        starts = np.concatenate([np.zeros((classes.size, 1), np.int64), cuts[:, :-1]], axis=1)
        if np.all((cuts - starts).sum(axis=0) >= 1):
            break
    else:
        raise ScenarioError(
            f"training.dirichlet_alpha: with alpha = {alpha:g}, {_DIRICHLET_DRAWS} draws of the "
            f"class proportions all left a worker without samples ({n_samples} samples, "
            f"{classes.size} classes, {workers} workers); raise the alpha, add samples or "
            "use fewer workers"
        )
    return [
        np.sort(
            np.concatenate(
                [m[s:e] for m, s, e in zip(members, starts[:, w], cuts[:, w], strict=True)]
            )
        ).astype(np.int64)
        for w in range(workers)
    ]


def label_histograms(
    shards: Sequence[np.ndarray], labels: np.ndarray, n_classes: int
) -> np.ndarray:
    """Per-worker class counts, for reporting label skew.

    Parameters
    ----------
    shards : sequence of numpy.ndarray
        Index arrays, one per worker (as returned by :func:`shard`).
    labels : numpy.ndarray
        Integer labels of all samples, values in ``[0, n_classes)``.
    n_classes : int
        Number of classes ``>= 1``.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(workers, n_classes)``; row ``w`` counts the labels
        of worker ``w``'s samples (for a partition the column sums are the class
        counts).

    Raises
    ------
    ValueError
        If a label is not an integer in ``[0, n_classes)``.
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, {n_classes}), got [{labels.min()}, {labels.max()}]"
        )
    out = np.zeros((len(shards), n_classes), dtype=np.int64)
    for w, indices in enumerate(shards):
        out[w] = np.bincount(labels[indices], minlength=n_classes)
    return out
