"""Splitting a vector (real array or size-only byte count) into chunks for collectives.

Wire bytes of real arrays. A collective given a real array and no ``nbytes`` sizes every
message by the arrays' own ``nbytes``. Given both, ``nbytes`` is what the whole vector
weighs on the wire: each element then counts ``nbytes / len(data)`` bytes
(:func:`element_bytes`) and every chunk is sized by its element count (:func:`split`,
:func:`wire_nbytes`). This is how a compressed or down-cast payload is timed while the
kernel keeps its ``float64`` arrays (e.g. a float64 vector sent as fp32:
``nbytes = 4 * len(data)``).

Examples
--------
>>> import numpy as np
>>> split(np.zeros(5), None, 2)[1]  # the arrays' nbytes
[24.0, 16.0]
>>> split(np.zeros(5), 20.0, 2)[1]  # 4 bytes per element on the wire
[12.0, 8.0]
>>> split(None, 20.0, 2)[1]  # size-only
[10.0, 10.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["split", "payload_nbytes", "element_bytes", "wire_nbytes"]


def element_bytes(data: np.ndarray | None, nbytes: float | None) -> float | None:
    """Wire bytes per element of ``data`` when ``nbytes`` is given for it, else ``None``.

    ``None`` (size-only payloads, or real arrays without ``nbytes``) tells
    :func:`wire_nbytes` to use each real array's own ``nbytes``.

    >>> element_bytes(np.zeros(8), 16.0), element_bytes(np.zeros(8), None), element_bytes(None, 8.0)
    (2.0, None, None)
    """
    if data is None or nbytes is None:
        return None
    count = len(data)
    return float(nbytes) / count if count else 0.0


def wire_nbytes(piece: np.ndarray | None, elem_bytes: float | None, default: float | None) -> float:
    """Bytes on the wire of one piece of a vector.

    Parameters
    ----------
    piece : numpy.ndarray or None
        A real piece, or ``None`` if size-only.
    elem_bytes : float or None
        Bytes per element (:func:`element_bytes`); ``None``: the piece's own ``nbytes``.
    default : float or None
        Bytes of a size-only piece.

    Raises
    ------
    ValueError
        If the piece is size-only and ``default`` is ``None``.
    """
    if piece is None:
        if default is None:
            raise ValueError("a size-only collective needs nbytes on every rank")
        return float(default)
    if elem_bytes is None:
        return float(piece.nbytes)
    return len(piece) * elem_bytes


def split(data: np.ndarray | None, nbytes: float | None, parts: int) -> tuple[list, list[float]]:
    """Split a message into ``parts`` chunks, as ``numpy.array_split`` does.

    Parameters
    ----------
    data : numpy.ndarray or None
        A 1-D array, or ``None`` for a size-only payload.
    nbytes : float or None
        Bytes of the whole message on the wire (required when ``data`` is ``None``);
        with a real array, ``None`` means ``data.nbytes``.
    parts : int
        Number of chunks (>= 1).

    Returns
    -------
    chunks : list
        Views of ``data`` (or ``None`` entries for size-only payloads).
    sizes : list of float
        Bytes of each chunk: ``len(chunk) · nbytes / len(data)`` for a real array (its
        ``nbytes`` when ``nbytes`` is ``None`` or equal to ``data.nbytes``), or
        ``nbytes / parts`` if size-only.
    """
    if data is None:
        return [None] * parts, [nbytes / parts] * parts
    chunks = np.array_split(data, parts)
    per = element_bytes(data, nbytes)
    return chunks, [wire_nbytes(c, per, None) for c in chunks]


def payload_nbytes(data: np.ndarray | None, nbytes: float | None) -> float:
    """Bytes on the wire for ``data``: ``nbytes`` if given, else the array's size in bytes."""
    if nbytes is not None:
        return float(nbytes)
    if data is None:
        raise ValueError("a size-only collective needs nbytes")
    return float(data.nbytes)
