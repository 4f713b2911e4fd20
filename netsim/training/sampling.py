"""Per-worker mini-batch sampling, epoch by epoch, from one shard.

Examples
--------
>>> import numpy as np
>>> sampler = BatchSampler(np.arange(10), 4, np.random.default_rng(0))
>>> sampler.next_batch().shape
(4,)
"""

from __future__ import annotations

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = ["BatchSampler"]


def _check_int(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ScenarioError(f"{field}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


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
