"""Broadcast by binomial scatter then ring all-gather (van de Geijn; MPICH's long-message bcast).

The root's vector is cut into ``p`` blocks (``numpy.array_split``); block ``q`` belongs
to the rank at relative position ``q = (rank − root) mod p``.

1. Binomial scatter. The rank at position ``q ≠ 0`` receives blocks
   ``[q, min(q + 2^t, p))`` from position ``q − 2^t``, where ``2^t`` is the lowest set
   bit of ``q``; the root holds all ``p``. Each rank then sends its children, largest
   subtree first (distances ``2^(t−1), .., 1``; the root from ``2^(⌈lg p⌉−1)`` down),
   blocks ``[q + d, min(q + 2d, p))``. Sends are *blocking*, as in MPICH (a rank waits for
   a message to be delivered before its next send), so no rank sends two messages at once.
2. Ring all-gather of the blocks in position order
   (:func:`~netsim.collectives.all_gather.ring_all_gather_chunks`), each rank starting as
   soon as its scatter is over. Each step is a send-receive (``sendrecv=True``): it ends
   when the rank's send is delivered and its receive has arrived, as ``MPI_Sendrecv`` in
   MPICH's ring. (With eager sends a rank that finishes its scatter late would find
   several blocks waiting and forward them all at once over its link, sharing it.)

Uncontended time (REFERENCES §2, with ``⌈lg p⌉`` scatter levels):

    ``(⌈lg p⌉ + p − 1)·α + 2((p−1)/p)·n·β``  (:func:`predict_time`).

For ``p = 2^k`` the scatter's last message arrives after ``lg p·α + ((p−1)/p)·nβ`` at
every rank at once, then the ring takes ``(p−1)(α + (n/p)β)``. For other ``p`` the
subtrees are unequal and ranks finish the scatter at different times, but the root's
``⌈lg p⌉`` sends of ``p − 1`` blocks in all still end last, and the send-receive ring
absorbs the early starters: the time is the same formula (checked on a star for every
``p`` up to 16). With real arrays whose length ``p`` does not divide, the blocks differ
by one element and the time differs slightly from the formula.
"""

from __future__ import annotations

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.all_gather import ring_all_gather_chunks
from netsim.collectives.comm import Communicator

__all__ = ["scatter_allgather", "predict_time", "REGISTER"]


def predict_time(p: int, n: float, alpha: float, beta: float) -> float:
    """``(⌈lg p⌉ + p − 1)α + 2((p−1)/p)nβ`` seconds for ``p`` ranks and ``n`` bytes.

    Examples
    --------
    >>> round(predict_time(4, 1e6, 1e-6, 1e-9), 12)
    0.001505
    """
    if p <= 1:
        return 0.0
    return ((p - 1).bit_length() + p - 1) * alpha + 2 * (p - 1) / p * n * beta


def scatter_allgather(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    root: int = 0,
):
    """Broadcast ``data`` from ``root`` by scatter + ring all-gather (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part (any number).
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        The vector at the root (ignored elsewhere); ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the vector on the wire. Required on every rank for size-only payloads;
        with a real array the wire carries the blocks' own sizes.
    root : int, default 0
        Rank that holds the vector.

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        A new array equal to the root's, or ``None`` if size-only.

    Raises
    ------
    ValueError
        If ``root`` is not a rank, or a size-only broadcast lacks ``nbytes``.
    """
    size = comm.size
    seq = comm.new_call(rank)
    if not 0 <= root < size:
        raise ValueError(f"root must be a rank in 0..{size - 1}, got {root!r}")
    if rank != root:
        data = None
    if nbytes is None and data is not None:
        nbytes = float(data.nbytes)
    if size == 1:
        return None if data is None else data.copy()
    position = (rank - root) % size
    send, recv = comm.send, comm.recv

    def block_nbytes() -> float:
        if nbytes is None:
            raise ValueError("a size-only broadcast needs nbytes on every rank")
        return float(nbytes) / size

    # 1. Binomial scatter: blocks[q - position] for q in [position, end).
    if position == 0:
        end = size
        blocks = [None] * size if data is None else np.array_split(data, size)
        distance = 1 << ((size - 1).bit_length() - 1)
    else:
        low = position & -position
        end = min(position + low, size)
        parent = (rank - low) % size
        payload = yield recv(rank, parent, (seq, "scatter"))
        blocks = [None] * (end - position) if payload is None else list(payload)
        distance = low >> 1
    while distance:
        child = position + distance
        if child < size:
            stop = min(child + distance, size)
            part = blocks[child - position : stop - position]
            if part[0] is None:
                payload, wire = None, (stop - child) * block_nbytes()
            else:
                payload, wire = tuple(part), float(sum(b.nbytes for b in part))
            yield send(rank, (child + root) % size, (seq, "scatter"), payload, wire)
        distance >>= 1

    # 2. Ring all-gather in position order.
    chunks: list = [None] * size
    chunks[position] = blocks[0]
    sizes = [0.0] * size if blocks[0] is not None else [block_nbytes()] * size
    yield from ring_all_gather_chunks(
        comm, rank, chunks, sizes, (seq, "ring"), origin=root, sendrecv=True
    )
    return None if chunks[position] is None else np.concatenate(chunks)


REGISTER = (
    Algorithm(
        name="scatter_allgather",
        operation="broadcast",
        run=scatter_allgather,
        description="van de Geijn broadcast: binomial scatter from the root, then ring all-gather",
        formula="(lg p + p - 1)a + 2((p-1)/p)nb",
        predict=predict_time,
        aliases=("van_de_geijn",),
        options=("root",),
    ),
)
