"""All-gather of arbitrary Python objects whose blocks have their own wire sizes.

What compressed gradients need: every worker contributes one encoded payload (top-k
values and indices, quantised levels, signs) whose size in bytes is known but differs
from rank to rank (threshold sparsification, Elias-coded QSGD), and every worker must
end with the list of all payloads. The payload objects travel as they are; only their
stated ``nbytes`` is timed.

Ring schedule (as :func:`~netsim.collectives.all_gather.ring_all_gather`): in step
``k = 0 .. p−2`` rank ``r`` sends block ``(r − k) mod p`` to ``r + 1`` and receives block
``(r − k − 1) mod p`` from ``r − 1``; a message carries its block's byte size along so
the receiver forwards it at that size. Each step is a send-receive: it ends when this
rank's send has been delivered and its receive has arrived, so a rank never has two
sends in flight.

Time. A block is forwarded whole, hop by hop, ``p − 1`` times, and each step lasts as
long as the largest block forwarded in it: on a network where every rank has its own
full-duplex link (a star) nothing is shared and the time is the sum over the ``p − 1``
steps of ``α + s_max·β``, i.e. ``(p−1)(α + s_max·β)`` with ``s_max`` the largest block
(``(p−1)(α + sβ)`` for equal blocks, as REFERENCES §2's ring all-gather with
``n = p·s``). Bytes sent by each rank: the ``p − 1`` blocks it forwards, every block but
that of rank ``r + 1``.

Examples
--------
Three ranks on a star (1 µs per link, 1 GB/s) with blocks of 1, 2 and 3 kB: two steps of
``α + s_max·β = 2 µs + 3 µs``.

>>> import simpy
>>> from netsim.network import make_network
>>> from netsim.topology import Router, star
>>> g = star(3, 1e9, 1e-6)
>>> env = simpy.Environment()
>>> comm = Communicator(env, make_network("flow", env, g, Router(g)), g.graph["hosts"])
>>> gathered = {}
>>> def gather(rank):
...     gathered[rank] = yield from ring_all_gather_objects(comm, rank, f"block {rank}", 1000 * (rank + 1))
>>> for rank in range(3):
...     _ = env.process(gather(rank))
>>> env.run()
>>> gathered[1], round(env.now * 1e6, 9), comm.bytes_sent
(['block 0', 'block 1', 'block 2'], 10.0, [4000.0, 3000.0, 5000.0])
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from netsim.collectives.comm import Communicator

__all__ = ["ring_all_gather_objects"]


def _check_nbytes(nbytes: float) -> float:
    if isinstance(nbytes, bool) or not isinstance(nbytes, numbers.Real):
        raise TypeError(f"nbytes must be a number of bytes, got {nbytes!r}")
    value = float(nbytes)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"nbytes must be a finite number >= 0, got {nbytes!r}")
    return value


def ring_all_gather_objects(comm: Communicator, rank: int, obj: Any, nbytes: float):
    """Gather every rank's ``obj`` on every rank, around a ring (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part; the ring follows rank order.
    rank : int
        This rank.
    obj : object
        This rank's block (any Python object; it is handed to the other ranks as is, so
        do not modify it afterwards).
    nbytes : float
        Bytes this rank's block weighs on the wire (``>= 0``; may differ between ranks).

    Returns
    -------
    list
        Every rank's object, in rank order (this rank's own ``obj`` included). Use as
        ``objects = yield from ring_all_gather_objects(comm, rank, obj, nbytes)``.

    Raises
    ------
    TypeError, ValueError
        If ``nbytes`` is not a finite number of bytes ``>= 0``.
    """
    size = comm.size
    seq = comm.new_call(rank)
    own = _check_nbytes(nbytes)
    blocks: list = [None] * size
    sizes = [0.0] * size
    blocks[rank], sizes[rank] = obj, own
    if size == 1:
        return blocks
    right, left = (rank + 1) % size, (rank - 1) % size
    send, recv, env = comm.send, comm.recv, comm.env
    for step in range(size - 1):
        out = (rank - step) % size
        into = (rank - step - 1) % size
        key = (seq, step)
        sent = send(rank, right, key, (blocks[out], sizes[out]), sizes[out])
        received = recv(rank, left, key)
        yield env.all_of((sent, received))
        blocks[into], sizes[into] = received.value
    return blocks
