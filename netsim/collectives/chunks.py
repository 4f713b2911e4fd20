"""Splitting a vector (real array or size-only byte count) into chunks for collectives."""

from __future__ import annotations

import numpy as np

__all__ = ["split", "payload_nbytes"]


def split(data: np.ndarray | None, nbytes: float, parts: int) -> tuple[list, list[float]]:
    """Split a message into ``parts`` chunks, as ``numpy.array_split`` does.

    Parameters
    ----------
    data : numpy.ndarray or None
        A 1-D array, or ``None`` for a size-only payload.
    nbytes : float
        Size in bytes of the whole message (used when ``data`` is ``None``).
    parts : int
        Number of chunks (>= 1).

    Returns
    -------
    chunks : list
        Views of ``data`` (or ``None`` entries for size-only payloads).
    sizes : list of float
        Bytes of each chunk: the view's ``nbytes``, or ``nbytes / parts`` if size-only.
    """
    if data is None:
        return [None] * parts, [nbytes / parts] * parts
    chunks = np.array_split(data, parts)
    return chunks, [float(c.nbytes) for c in chunks]


def payload_nbytes(data: np.ndarray | None, nbytes: float | None) -> float:
    """Bytes on the wire for ``data``: ``nbytes`` if given, else the array's size in bytes."""
    if nbytes is not None:
        return float(nbytes)
    if data is None:
        raise ValueError("a size-only collective needs nbytes")
    return float(data.nbytes)
