"""Synchronous parameter server with one server rank.

Every worker pushes its vector to the server; the server sums them in the order they
arrive, applies ``on_server`` (by default: nothing, so workers get the sum back) and
sends the result to every worker. With ``p`` workers on a star whose server link has
bandwidth ``B`` the server link is the bottleneck, and the uncontended time is
``2(α + p·n·β)`` (REFERENCES §2), ``α`` being the worker–server route latency.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import payload_nbytes
from netsim.collectives.comm import Communicator

__all__ = ["parameter_server", "REGISTER"]

ServerUpdate = Callable[[int, np.ndarray | None], tuple[np.ndarray | None, float]]


def parameter_server(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    server: int,
    on_server: ServerUpdate | None = None,
):
    """Push to the server rank, reduce there, pull the result back (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        Workers and the server; every rank other than ``server`` is a worker.
    rank : int
        This rank. The server rank must call this too (with ``data=None``).
    data : numpy.ndarray of shape (n,), optional
        The worker's vector (``None`` for size-only payloads, and for the server).
    nbytes : float, optional
        Bytes of a worker's vector on the wire; defaults to ``data.nbytes``. With the
        default ``on_server`` the server replies with this many bytes (the server of a
        size-only payload must therefore be given ``nbytes``).
    server : int
        Rank of the parameter server.
    on_server : callable, optional
        ``on_server(shard, total) -> (reply, reply_nbytes)``, run at the server once every
        push has arrived; ``shard`` is always 0 here (the same convention as the sharded
        server's shard index), ``total`` the sum of the workers' vectors in arrival order
        (or ``None`` if size-only). Default: reply with the sum, same size as a push.

    Returns
    -------
    The reply (workers) or the reply the server sent (server rank).
    """
    seq = comm.new_call(rank)
    if rank != server:
        comm.send(rank, server, (seq, "push"), data, payload_nbytes(data, nbytes))
        reply = yield comm.recv(rank, server, (seq, "pull"))
        return reply

    workers = [r for r in range(comm.size) if r != server]
    arrived: list = []
    pushes = []
    for worker in workers:
        event = comm.recv(server, worker, (seq, "push"))
        event.callbacks.append(lambda ev: arrived.append(ev.value))
        pushes.append(event)
    if pushes:
        yield comm.env.all_of(pushes)
    total = None
    if arrived and arrived[0] is not None:
        total = arrived[0].copy()
        for vector in arrived[1:]:
            total += vector
    if on_server is None:
        reply, reply_bytes = total, payload_nbytes(total, nbytes)
    else:
        reply, reply_bytes = on_server(0, total)
    for worker in workers:
        comm.send(server, worker, (seq, "pull"), reply, reply_bytes)
    return reply


REGISTER = (
    Algorithm(
        name="parameter_server",
        operation="allreduce",
        run=parameter_server,
        description="one server host: workers push, the server reduces (in arrival order) and replies",
        formula="2(a + p n b)",
        predict=lambda p, n, a, b: 2 * (a + p * n * b),
        aliases=("ps",),
        kind="parameter_server",
        options=("server", "on_server"),
    ),
)
