"""Binomial-tree broadcast, optionally pipelined in chunks; the binomial tree's shape.

Tree
----
Ranks are renumbered relative to the root, ``v = (rank - root) mod p``. Virtual rank
``v > 0`` has parent ``v - lowbit(v)``; its children are ``v + m`` for the powers of two
``m < lowbit(v)`` (``m < 2^⌈lg p⌉`` for the root) with ``v + m < p``, the child with the
largest ``m`` (the largest subtree) first. This is MPICH's binomial tree. It is defined
for every ``p >= 1``: when ``p`` is not a power of two the subtrees that would hold
ranks ``>= p`` are simply cut short, the root still has ``⌈lg p⌉`` children and the
depth is ``⌈lg p⌉``.

Schedule
--------
The vector is cut into ``chunks`` pieces (``numpy.array_split``; pieces may be empty).
A rank feeds each child a *stream*: chunk ``i`` is sent as soon as the rank has it and
chunk ``i - 1`` has been delivered to that child. The stream to a child starts once the
stream to the previous child has delivered its first chunk. With one chunk this is
exactly the classic binomial broadcast (children served one after another, largest
subtree first), whose time on a network where each rank has one full-duplex link
(a star) is REFERENCES §2's ``⌈lg p⌉(α + nβ)``.

With ``c`` chunks a rank forwards chunk ``i`` while later chunks are still on their way:

* where each rank has a separate link to each peer (a full mesh), streams to different
  children do not share bandwidth and the time is exactly REFERENCES' pipelined
  ``(⌈lg p⌉ + c − 1)(α + (n/c)β)``, for every ``p``;
* on a star the streams of one rank share its single uplink (max-min fair). Every rank
  of a binomial tree sends the whole vector to each of its children, so the root's
  uplink carries ``⌈lg p⌉·n`` bytes whatever the chunking, and no binomial tree can beat
  ``⌈lg p⌉·nβ`` there. The measured time is exactly
  ``(⌈lg p⌉ + c − 1)α + ⌈lg p⌉·nβ`` for every ``p`` when ``c = 1`` or
  ``c >= ⌊lg p⌋ − 1`` (so for every ``c`` when ``p < 16``): chunking keeps the bandwidth
  term and adds one ``α`` per extra chunk. For ``2 <= c <= ⌊lg p⌋ − 2`` the first,
  deepest subtree gets its chunks at a shared rate and lags, and the time is higher
  (+12.5% for ``p = 16, c = 2`` and large ``n``). Use a ring or the double binary tree
  for large vectors on such networks.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np
import simpy

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import payload_nbytes, split
from netsim.collectives.comm import Communicator

__all__ = [
    "binomial_broadcast",
    "binomial_parent",
    "binomial_children",
    "check_root",
    "check_chunks",
    "ceil_lg",
    "fan_out",
    "piece_nbytes",
    "REGISTER",
]


def ceil_lg(p: int) -> int:
    """``⌈lg p⌉`` for ``p >= 1`` (0 for one rank)."""
    return (p - 1).bit_length()


def binomial_parent(v: int, p: int) -> int | None:
    """Parent of virtual rank ``v`` in the binomial tree over ``p`` ranks rooted at 0 (``None`` for the root)."""
    return None if v == 0 else v & (v - 1)


def binomial_children(v: int, p: int) -> list[int]:
    """Children of virtual rank ``v``, largest subtree first.

    Examples
    --------
    >>> binomial_children(0, 8), binomial_children(4, 8), binomial_children(0, 5)
    ([4, 2, 1], [6, 5], [4, 2, 1])
    """
    mask = (v & -v) >> 1 if v else (1 << ceil_lg(p)) >> 1
    children = []
    while mask:
        if v + mask < p:
            children.append(v + mask)
        mask >>= 1
    return children


def check_root(root, p: int) -> int:
    """Validate the ``root`` option (a rank of a ``p``-rank communicator)."""
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < p:
        raise ValueError(f"root must be a rank in 0..{p - 1}, got {root!r}")
    return int(root)


def check_chunks(chunks) -> int:
    """Validate the ``chunks`` option (an integer >= 1)."""
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunks must be an integer >= 1, got {chunks!r}")
    return int(chunks)


def piece_nbytes(piece, default: float | None) -> float:
    """Bytes on the wire of a received piece: its ``nbytes`` if real, else ``default``."""
    if piece is not None:
        return float(piece.nbytes)
    if default is None:
        raise ValueError("a size-only collective needs nbytes on every rank")
    return default


def _stream(
    comm: Communicator,
    rank: int,
    child: int,
    ready: Sequence[simpy.Event],
    sizes: Sequence[float | None],
    tag: Callable[[int], Hashable],
    gate: simpy.Event | None,
    started: simpy.Event | None,
    elem_bytes: float | None = None,
):
    if gate is not None:
        yield gate
    for i, event in enumerate(ready):
        piece = yield event
        if piece is None or elem_bytes is None:
            size = piece_nbytes(piece, sizes[i])
        else:
            size = len(piece) * elem_bytes
        yield comm.send(rank, child, tag(i), piece, size)
        if i == 0 and started is not None:
            started.succeed()


def fan_out(
    comm: Communicator,
    rank: int,
    children: Sequence[int],
    ready: Sequence[simpy.Event],
    sizes: Sequence[float | None],
    tag: Callable[[int], Hashable],
    *,
    stagger: bool = True,
    elem_bytes: float | None = None,
) -> list[simpy.Process]:
    """Start one stream per child that forwards each chunk as soon as it is ready.

    Parameters
    ----------
    comm : Communicator
        The communicator (ranks are its ranks).
    rank : int
        The sending rank.
    children : sequence of int
        Receiving ranks, in the order their streams start.
    ready : sequence of simpy.Event
        ``ready[i]`` fires with chunk ``i`` (an array, or ``None`` if size-only).
    sizes : sequence of float or None
        Bytes of chunk ``i`` when it is size-only (real chunks count their ``nbytes``).
    tag : callable
        ``tag(i)``: message tag of chunk ``i``.
    stagger : bool
        If true the stream to ``children[k]`` starts when the stream to
        ``children[k - 1]`` has delivered its first chunk (one-port binomial order);
        otherwise all streams start at once.
    elem_bytes : float, optional
        Wire bytes per element of real chunks
        (:func:`~netsim.collectives.chunks.element_bytes`); default: their ``nbytes``.

    Returns
    -------
    list of simpy.Process
        One process per child; it ends when its last chunk has been delivered. Each
        stream sends chunk ``i`` only after chunk ``i - 1`` has been delivered.
    """
    env = comm.env
    processes = []
    gate = None
    for child in children:
        started = env.event() if stagger else None
        stream = _stream(comm, rank, child, ready, sizes, tag, gate, started, elem_bytes)
        processes.append(env.process(stream))
        gate = started
    return processes


def binomial_broadcast(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    root: int = 0,
    chunks: int = 1,
):
    """Broadcast the root's vector down a binomial tree (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        The vector, at the root (ignored elsewhere); ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the vector on the wire (every rank, for size-only payloads; defaults to
        ``data.nbytes`` at the root).
    root : int
        The broadcasting rank.
    chunks : int
        Number of pieces the vector is pipelined in (>= 1).

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        A new array equal to the root's vector, or ``None`` if size-only. The rank
        returns once it has the vector and has delivered it to its children.

    Raises
    ------
    ValueError
        If ``root`` or ``chunks`` is invalid, or a size-only payload lacks ``nbytes``.
    """
    p = comm.size
    root = check_root(root, p)
    c = check_chunks(chunks)
    seq = comm.new_call(rank)
    env = comm.env
    v = (rank - root) % p
    children = [(root + w) % p for w in binomial_children(v, p)]

    def tag(i: int) -> tuple:
        return (seq, i)

    if v == 0:
        pieces, sizes = split(data, payload_nbytes(data, nbytes), c)
        ready = [env.event().succeed(piece) for piece in pieces]
    else:
        parent = (root + binomial_parent(v, p)) % p
        ready = [comm.recv(rank, parent, tag(i)) for i in range(c)]
        sizes = [None if nbytes is None else float(nbytes) / c] * c
    streams = fan_out(comm, rank, children, ready, sizes, tag)
    yield env.all_of([*ready, *streams])
    if v == 0:
        return None if data is None else data.copy()
    pieces = [event.value for event in ready]
    return None if pieces[0] is None else np.concatenate(pieces)


REGISTER = (
    Algorithm(
        name="binomial_broadcast",
        operation="broadcast",
        run=binomial_broadcast,
        description="binomial tree from the root, children served largest subtree first; optional chunk pipelining",
        formula="ceil(lg p)(a + nb)",
        predict=lambda p, n, a, b: ceil_lg(p) * (a + n * b),
        aliases=("binomial",),
        options=("root", "chunks"),
    ),
)
