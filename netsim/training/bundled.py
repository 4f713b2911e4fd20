"""Readers for the small real datasets shipped in ``netsim/training/datasets/``.

Nothing is downloaded: the files are package data (see that folder's ``README.md`` for
sources and licences). These readers return plain arrays and strings;
:mod:`netsim.training.data` turns them into :class:`~netsim.training.data.Dataset`
splits (``make_dataset("iris", ...)``, ``make_dataset("text", ...)``).

Examples
--------
>>> X, y, species = read_iris()
>>> X.shape, y.shape, species
((150, 4), (150,), ('setosa', 'versicolor', 'virginica'))
>>> ids, vocabulary = encode_text("abca")
>>> ids.tolist(), vocabulary
([0, 1, 2, 0], 'abc')
>>> X, y = context_windows(ids, 2)
>>> X.tolist(), y.tolist()
([[0, 1], [1, 2]], [2, 0])
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

__all__ = ["TEXTS", "read_iris", "read_text", "encode_text", "context_windows"]

TEXTS = {"alice": "alice.txt"}
"""Bundled texts by name: chapters I–III of *Alice's Adventures in Wonderland*."""


def _data_file(name: str):
    return resources.files("netsim.training").joinpath("datasets", name)


@functools.cache
def _iris_arrays() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    lines = _data_file("iris.csv").read_text(encoding="utf-8").splitlines()
    rows = [line.split(",") for line in lines[1:] if line.strip()]
    species = tuple(dict.fromkeys(row[4] for row in rows))
    X = np.array([[float(v) for v in row[:4]] for row in rows])
    y = np.array([species.index(row[4]) for row in rows], dtype=np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y, species


def read_iris() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Fisher's Iris data in file order.

    Returns
    -------
    X : numpy.ndarray
        ``float64``, shape ``(150, 4)``: sepal length, sepal width, petal length and
        petal width in centimetres.
    y : numpy.ndarray
        ``int64`` species index, shape ``(150,)``, 50 of each.
    species : tuple of str
        Names of the species in index order.
    """
    X, y, species = _iris_arrays()
    return X.copy(), y.copy(), species


@functools.cache
def read_text(name: str = "alice") -> str:
    """A bundled text (UTF-8) by name; see :data:`TEXTS`.

    Raises
    ------
    KeyError
        If ``name`` is not in :data:`TEXTS`.
    """
    return _data_file(TEXTS[name]).read_text(encoding="utf-8")


def encode_text(text: str) -> tuple[np.ndarray, str]:
    """Character-level encoding: ids into the sorted set of the text's characters.

    Returns
    -------
    ids : numpy.ndarray
        ``int64``, shape ``(len(text),)``.
    vocabulary : str
        The distinct characters in id order (``vocabulary[i]`` is id ``i``).
    """
    vocabulary = "".join(sorted(set(text)))
    lookup = {char: i for i, char in enumerate(vocabulary)}
    return np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text)), vocabulary


def context_windows(ids: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """All (previous ``context`` ids, next id) pairs of a token sequence.

    Returns
    -------
    X : numpy.ndarray
        ``int64``, shape ``(len(ids) − context, context)``; row ``i`` is
        ``ids[i : i + context]``.
    y : numpy.ndarray
        ``int64``, shape ``(len(ids) − context,)``; ``y[i] = ids[i + context]``.
    """
    ids = np.asarray(ids, dtype=np.int64)
    X = np.lib.stride_tricks.sliding_window_view(ids[:-1], context).copy()
    return X, ids[context:].copy()
