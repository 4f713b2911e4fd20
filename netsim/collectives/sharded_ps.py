"""Sharded synchronous parameter server (BytePS-style key-range partitioning).

The parameter vector is cut by key range into ``s`` contiguous shards
(``numpy.array_split``); server rank ``p + j`` owns shard ``j``. Every worker pushes
shard ``j`` of its vector to server ``j`` (all ``s`` pushes at once); each server sums
its shard in the order the pushes arrive, applies ``on_server`` (by default: nothing,
so workers get the sum back) and sends the shard back to every worker, which
concatenates the ``s`` replies.

Ranks: workers ``0 .. p-1``, servers ``p .. p+s-1`` (``comm.size == p + s``). Whether
servers have hosts of their own or share the first workers' hosts is decided by the
placement (:func:`~netsim.collectives.placement.place_ranks`, ``colocated``); a message
between a worker and a server on the same host is a local copy and takes no time.

Uncontended times on a star (``α`` = host–host route latency, ``β = 1/B``; see
:func:`sharded_ps_time`):

- ``s`` dedicated servers: ``2(α + max(p, s)·(n/s)·β)``, i.e. ``2(α + p(n/s)β)`` for ``s <= p``
  (the servers' links are the bottleneck; ``s = 1`` is the single parameter server);
- ``s <= p`` servers co-located with workers ``0 .. s-1`` (``p >= 2``):
  ``2(α + (p−1)(n/s)·β)``; with ``s = p`` this is ``2(α + ((p−1)/p)·n·β)``, the bandwidth
  term of ring allreduce (REFERENCES §2). With ``p = 1`` everything is local: 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import element_bytes, payload_nbytes, split
from netsim.collectives.comm import Communicator

__all__ = ["sharded_ps", "sharded_ps_time", "REGISTER"]

ShardUpdate = Callable[[int, np.ndarray | None], tuple[np.ndarray | None, float]]


class _SizedShard(NamedTuple):
    """A pushed shard and its wire bytes, when ``nbytes`` overrides the arrays' own size."""

    array: np.ndarray
    nbytes: float


def _server_count(comm: Communicator, servers: int | None, server: int | None) -> int:
    """Number of server ranks, from ``servers`` and/or the first server rank ``server``."""
    if servers is None:
        servers = comm.size - server if server is not None else 1
    servers = int(servers)
    if not 1 <= servers < comm.size:
        raise ValueError(
            f"sharded_ps needs 1 <= servers < comm.size (at least one worker); "
            f"got servers={servers} with comm.size={comm.size}"
        )
    if server is not None and int(server) != comm.size - servers:
        raise ValueError(
            f"sharded_ps: server ranks are the last {servers} ranks, so the first server rank "
            f"is {comm.size - servers}, got server={server}"
        )
    return servers


def sharded_ps(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    servers: int | None = None,
    server: int | None = None,
    colocated: bool = False,
    on_server: ShardUpdate | None = None,
):
    """Allreduce through ``s`` servers, each owning one contiguous shard (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        ``p`` workers (ranks ``0 .. p-1``) followed by ``s`` servers (ranks ``p .. p+s-1``).
    rank : int
        This rank. Server ranks must call this too (with ``data=None``).
    data : numpy.ndarray of shape (n,), optional
        The worker's vector (``None`` for size-only payloads, and on servers).
    nbytes : float, optional
        Bytes of a worker's full vector on the wire; defaults to ``data.nbytes``. With a
        real array each shard carries its own ``nbytes`` (``len(shard) · nbytes / len(data)``
        if ``nbytes`` is given); size-only shards carry ``nbytes / s`` each (so a
        size-only server must be given ``nbytes``).
    servers : int, optional
        Number of server ranks ``s``. Default: ``comm.size - server`` if ``server`` is
        given, else 1.
    server : int, optional
        Rank of the first server (must be ``comm.size - s``); accepted so that callers
        passing the single-server option (e.g.
        :func:`~netsim.collectives.measure.simulate_collective`) work unchanged.
    colocated : bool
        Accepted and ignored here: co-location is a placement decision
        (:func:`~netsim.collectives.placement.place_ranks`).
    on_server : callable, optional
        ``on_server(shard_index, total) -> (reply, reply_nbytes)``, run at server
        ``shard_index`` once every worker's push of that shard has arrived. ``total`` is
        the sum of the shard over workers in arrival order (``None`` if size-only).
        Default: reply with the sum, as many bytes as a push of the shard.

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        On workers: the concatenated replies (a new array; the sum over workers by
        default), or ``None`` if size-only. On server ``j``: the reply it sent.

    Raises
    ------
    ValueError
        If ``servers`` / ``server`` do not describe ``1 <= s < comm.size`` trailing ranks.

    Examples
    --------
    >>> import numpy as np
    >>> from netsim.collectives import simulate_collective
    >>> from netsim.topology import star
    >>> data = [np.arange(5.0), np.ones(5)]
    >>> run = simulate_collective(star(2, 1e9, 1e-6), "sharded_ps", data, servers=2, colocated=True)
    >>> run.outputs[0]
    array([1., 2., 3., 4., 5.])
    """
    s = _server_count(comm, servers, server)
    p = comm.size - s
    seq = comm.new_call(rank)
    if rank < p:
        chunks, sizes = split(data, payload_nbytes(data, nbytes), s)
        sized = element_bytes(data, nbytes) is not None
        for j in range(s):
            shard = _SizedShard(chunks[j], sizes[j]) if sized else chunks[j]
            comm.send(rank, p + j, (seq, "push"), shard, sizes[j])
        replies = []
        for j in range(s):
            replies.append((yield comm.recv(rank, p + j, (seq, "pull"))))
        if data is None or any(r is None for r in replies):
            return None
        return np.concatenate(replies)

    shard = rank - p
    arrived: list = []
    pushes = []
    for worker in range(p):
        event = comm.recv(rank, worker, (seq, "push"))
        if event.callbacks is None:  # delivered and processed before this server got here
            arrived.append(event.value)
        else:
            event.callbacks.append(lambda ev: arrived.append(ev.value))
        pushes.append(event)
    yield comm.env.all_of(pushes)
    push_bytes = None
    if isinstance(arrived[0], _SizedShard):  # workers gave nbytes with their arrays
        push_bytes = arrived[0].nbytes
        arrived = [push.array for push in arrived]
    total = None
    if arrived[0] is not None:
        total = arrived[0].copy()
        for vector in arrived[1:]:
            total += vector
    if on_server is None:
        reply = total
        if push_bytes is not None:
            reply_bytes = push_bytes
        else:
            reply_bytes = float(total.nbytes) if total is not None else payload_nbytes(None, nbytes) / s
    else:
        reply, reply_bytes = on_server(shard, total)
    for worker in range(p):
        comm.send(rank, worker, (seq, "pull"), reply, reply_bytes)
    return reply


def sharded_ps_time(
    p: int, n: float, alpha: float, beta: float, servers: int, colocated: bool = False
) -> float:
    """Uncontended time of :func:`sharded_ps` on a star (seconds).

    Parameters
    ----------
    p : int
        Number of workers.
    n : float
        Bytes of the full vector.
    alpha : float
        Host–host route latency, seconds (``2 ×`` the link latency on a star).
    beta : float
        Seconds per byte of every host link (``1 / bandwidth``).
    servers : int
        Number of servers ``s``.
    colocated : bool
        Servers share the hosts of workers ``0 .. s-1`` (requires ``s <= p``).

    Returns
    -------
    float
        ``2(α + max(p, s)(n/s)β)`` with dedicated servers; ``2(α + (p−1)(n/s)β)`` with
        co-located servers and ``p >= 2``; ``0`` with co-located servers and ``p = 1``.

    Examples
    --------
    >>> sharded_ps_time(4, 1e6, 0.0, 1e-9, servers=4, colocated=True)  # 2 (3/4) n b
    0.0015
    >>> sharded_ps_time(4, 1e6, 0.0, 1e-9, servers=2)  # 2 p (n/s) b
    0.004
    """
    s = servers
    if colocated:
        if s > p:
            raise ValueError(f"{s} co-located servers need at least as many workers, got p={p}")
        return 0.0 if p == 1 else 2 * (alpha + (p - 1) * (n / s) * beta)
    return 2 * (alpha + max(p, s) * (n / s) * beta)


def _predict(p: int, n: float, a: float, b: float, **options) -> float:
    """Closed form for ``predict``: without options, the REFERENCES case (``s = p`` co-located).

    Given any of the run options ``servers`` (default 1) and ``colocated`` (default False,
    as :func:`~netsim.collectives.measure.simulate_collective` places them), the time of
    that configuration (:func:`sharded_ps_time`).
    """
    if "servers" not in options and "colocated" not in options:
        return sharded_ps_time(p, n, a, b, servers=p, colocated=True)
    servers = int(options.get("servers") or 1)
    return sharded_ps_time(
        p, n, a, b, servers=servers, colocated=bool(options.get("colocated", False))
    )


REGISTER = (
    Algorithm(
        name="sharded_ps",
        operation="allreduce",
        run=sharded_ps,
        description="parameter server sharded by key range over s servers (BytePS-style; servers dedicated or co-located)",
        formula="2(a + ((p-1)/p) n b) with s = p co-located servers; 2(a + p (n/s) b) with s <= p dedicated",
        predict=_predict,
        aliases=("byteps",),
        kind="parameter_server",
        options=("servers", "colocated", "on_server", "server"),
    ),
)
