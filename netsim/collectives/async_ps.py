"""Asynchronous parameter server: the primitives behind ASP and SSP training.

One server rank holds the parameters. Workers talk to it at their own pace with two
requests:

- ``push``: send a gradient; the server applies it as soon as it arrives (pushes of all
  workers in arrival order) with ``apply(worker, grad) -> new params`` and bumps the
  *version* (the number of updates applied so far, 0 initially);
- ``pull``: ask for the parameters; the server replies with the *current* parameters
  and their version.

Staleness of a gradient is ``version at apply time − version the worker pulled``, where
"version at apply time" is the server's version just before this update (so a worker
alone is never stale, and every update of another worker between a worker's pull and
its push adds one).

Matching. A worker's requests form one stream, numbered by a per-worker sequence
number carried in the message tag (``("async_ps", k)``, reply ``("async_ps", "reply",
k)``). The server always has a receive posted for the next request of every worker and
handles each worker's requests strictly in order, so workers may run at any pace and a
pull sent right behind a push (``wait=False``) sees that push applied. One
:class:`AsyncParameterServer` per (communicator, server rank).

Waiting (SSP). A pull is answered only when :meth:`AsyncParameterServer.pull_allowed`
says so; until then the worker blocks in ``pull``. With ``ssp=s`` the rule is stale
synchronous parallel (Ho et al., 2013): worker ``w`` may read only if its clock (number
of its pushes applied) is at most ``s`` ahead of the slowest active worker's clock.
``ssp=None`` is ASP (never wait); ``ssp=0`` makes every worker wait for all others each
step. A coordinator can add its own condition with ``gate(server, worker) -> bool`` and
call :meth:`~AsyncParameterServer.recheck` when its state changes; a worker that stops
pushing should call :meth:`~AsyncParameterServer.leave` so it no longer holds others back.

Budget. With ``steps_total`` the server applies that many updates, then fires
:attr:`~AsyncParameterServer.done` (value: the final parameters), answers every pending
and later pull at once (with the final parameters, ``version == steps_total``) and drops
later pushes (counted in ``dropped``). A worker loop therefore reads::

    while True:
        params, version = yield from ps.pull(rank)
        if ps.finished:
            break
        ...compute grad (yield env.timeout(compute_time))...
        yield from ps.push(rank, grad)

Applying an update takes no simulated time. Parameters are kept as read-only snapshots
(a copy of what ``apply`` returns), so the arrays workers pull are never changed
afterwards; copy them before modifying in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

import numpy as np

from netsim.collectives.chunks import payload_nbytes
from netsim.collectives.comm import Communicator

__all__ = ["AsyncParameterServer", "Update", "PullRecord"]

TAG = "async_ps"


class Update(NamedTuple):
    """One update applied by the server.

    Attributes
    ----------
    time : float
        Simulated second it was applied (when the push arrived).
    worker : int
        Rank that pushed the gradient.
    pulled_version : int
        Version of the parameters the gradient was computed on.
    version : int
        Server version just before this update (it becomes ``version + 1``).
    staleness : int
        ``version − pulled_version``: updates of other workers in between.
    """

    time: float
    worker: int
    pulled_version: int
    version: int
    staleness: int


class PullRecord(NamedTuple):
    """One answered pull: ``answered − requested`` is the time SSP made the worker wait (s)."""

    worker: int
    requested: float
    answered: float
    version: int


def _snapshot(params):
    if params is None:
        return None
    snap = np.array(params, copy=True)
    snap.flags.writeable = False
    return snap


class AsyncParameterServer:
    """Server state and the worker-side ``push``/``pull`` generators of an async PS.

    Creating the object starts serving: the server rank needs no process of its own
    (requests are handled by callbacks, in arrival order, at no simulated cost).

    Parameters
    ----------
    comm : Communicator
        Workers and the server.
    server : int
        The server's rank.
    params : numpy.ndarray or None
        Initial parameters, version 0 (``None`` for size-only runs).
    apply : callable
        ``apply(worker, grad) -> new params``, called at the server for every push in
        arrival order (``grad`` is what the worker pushed, ``None`` if size-only). It
        keeps whatever optimizer state it needs and may read the current parameters
        as ``server.params``; its result is copied.
    workers : sequence of int, optional
        Worker ranks; default every rank but ``server``.
    steps_total : int, optional
        Number of updates to apply before the server finishes (see the module docstring);
        ``None``: no limit.
    ssp : int, optional
        Staleness bound ``s >= 0`` of stale synchronous parallel; ``None`` (default): ASP.
    gate : callable, optional
        ``gate(server, worker) -> bool``: an extra condition for answering a pull
        (checked after ``ssp``); call :meth:`recheck` when it may have become true.
    params_nbytes : float, optional
        Bytes of a pull reply on the wire; default ``params.nbytes`` (required if size-only).
    request_nbytes : float
        Bytes of a pull request on the wire (default 0: it costs the route latency only).

    Attributes
    ----------
    params : numpy.ndarray or None
        Current parameters (read-only snapshot).
    version : int
        Updates applied so far.
    clocks : dict of int to int
        Updates applied per worker.
    updates : list of Update
        Every applied update, in order (staleness records).
    pulls : list of PullRecord
        Every answered pull, in order.
    dropped : int
        Pushes that arrived after ``steps_total`` updates and were discarded.
    done : simpy.Event
        Fires with the final parameters once ``steps_total`` updates are applied.

    Examples
    --------
    >>> import numpy as np, simpy
    >>> from netsim.collectives import Communicator
    >>> from netsim.network import make_network
    >>> from netsim.topology import Router, star
    >>> g = star(2, 1e9, 1e-6); env = simpy.Environment()
    >>> comm = Communicator(env, make_network("flow", env, g, Router(g)), g.graph["hosts"])
    >>> ps = AsyncParameterServer(comm, 1, np.zeros(2), lambda worker, grad: ps.params - 0.5 * grad)
    >>> def worker():
    ...     for _ in range(2):
    ...         params, version = yield from ps.pull(0)
    ...         yield from ps.push(0, np.ones(2))
    >>> _ = env.process(worker()); env.run()
    >>> ps.params, ps.version, ps.staleness
    (array([-1., -1.]), 2, [0, 0])
    """

    def __init__(
        self,
        comm: Communicator,
        server: int,
        params: np.ndarray | None,
        apply: Callable[[int, np.ndarray | None], np.ndarray | None],
        *,
        workers: Sequence[int] | None = None,
        steps_total: int | None = None,
        ssp: int | None = None,
        gate: Callable[[AsyncParameterServer, int], bool] | None = None,
        params_nbytes: float | None = None,
        request_nbytes: float = 0.0,
    ):
        if not 0 <= server < comm.size:
            raise ValueError(f"server rank must be in [0, {comm.size}), got {server}")
        workers = (
            tuple(r for r in range(comm.size) if r != server) if workers is None else tuple(workers)
        )
        if (
            not workers
            or server in workers
            or len(set(workers)) != len(workers)
            or not all(0 <= w < comm.size for w in workers)
        ):
            raise ValueError(
                f"workers must be distinct ranks of the communicator other than the server {server}, got {list(workers)}"
            )
        if steps_total is not None and steps_total < 0:
            raise ValueError(f"steps_total must be >= 0 or None, got {steps_total}")
        if ssp is not None and ssp < 0:
            raise ValueError(f"ssp (staleness bound) must be >= 0 or None, got {ssp}")
        self.comm = comm
        self.server = server
        self.workers = workers
        self.apply = apply
        self.steps_total = steps_total
        self.ssp = ssp
        self.gate = gate
        self.params = _snapshot(params)
        self.params_nbytes = payload_nbytes(params, params_nbytes)
        self.request_nbytes = float(request_nbytes)
        self.version = 0
        self.clocks = dict.fromkeys(workers, 0)
        self.updates: list[Update] = []
        self.pulls: list[PullRecord] = []
        self.dropped = 0
        self.done = comm.env.event()
        self._left: set[int] = set()
        self._sent = dict.fromkeys(workers, 0)  # worker side: requests sent
        self._pulled = dict.fromkeys(workers, 0)  # worker side: version last pulled
        self._next = dict.fromkeys(workers, 0)  # server side: next request to handle
        self._deferred: dict[int, tuple[int, float]] = {}  # worker -> (request, arrival time)
        if steps_total == 0:
            self.done.succeed(self.params)
        for worker in workers:
            self._listen(worker)

    # ------------------------------------------------------------ worker side
    @property
    def finished(self) -> bool:
        """``True`` once ``steps_total`` updates have been applied."""
        return self.done.triggered

    @property
    def staleness(self) -> list[int]:
        """Staleness of every applied update, in the order applied."""
        return [u.staleness for u in self.updates]

    def _request(self, rank: int) -> int:
        if rank not in self._sent:
            raise ValueError(
                f"rank {rank} is not a worker of this parameter server (workers: {list(self.workers)})"
            )
        k = self._sent[rank]
        self._sent[rank] = k + 1
        return k

    def pull(self, rank: int):
        """Fetch the current parameters (SimPy generator; may wait under SSP).

        Parameters
        ----------
        rank : int
            The pulling worker.

        Returns
        -------
        (params, version) : (numpy.ndarray or None, int)
            A read-only snapshot of the parameters and the number of updates in it.
            Use as ``params, version = yield from ps.pull(rank)``.
        """
        k = self._request(rank)
        self.comm.send(rank, self.server, (TAG, k), ("pull", None, None), self.request_nbytes)
        params, version = yield self.comm.recv(rank, self.server, (TAG, "reply", k))
        self._pulled[rank] = version
        return params, version

    def push(
        self,
        rank: int,
        grad: np.ndarray | None,
        nbytes: float | None = None,
        *,
        version: int | None = None,
        wait: bool = True,
    ):
        """Send a gradient to the server (SimPy generator).

        Parameters
        ----------
        rank : int
            The pushing worker.
        grad : numpy.ndarray or None
            The gradient (not to be modified afterwards); ``None`` if size-only.
        nbytes : float, optional
            Bytes on the wire; default ``grad.nbytes``.
        version : int, optional
            Version the gradient was computed on; default the version this worker last
            pulled (0 before its first pull).
        wait : bool
            Return when the push has arrived and been applied (default), or at once
            (the push is still applied before this worker's later requests are handled).
        """
        k = self._request(rank)
        pulled = self._pulled[rank] if version is None else int(version)
        event = self.comm.send(
            rank, self.server, (TAG, k), ("push", grad, pulled), payload_nbytes(grad, nbytes)
        )
        if wait:
            yield event

    def leave(self, rank: int) -> None:
        """Take worker ``rank`` out of the SSP clock minimum (it will push no more)."""
        if rank not in self.clocks:
            raise ValueError(f"rank {rank} is not a worker of this parameter server")
        self._left.add(rank)
        self.recheck()

    # ------------------------------------------------------------ server side
    def pull_allowed(self, worker: int) -> bool:
        """Whether a pull of ``worker`` may be answered now (the SSP rule, then ``gate``).

        Always ``True`` once the server has finished. Override (or pass ``gate``) to make
        workers wait on other conditions.
        """
        if self.finished:
            return True
        if self.ssp is not None:
            active = [c for w, c in self.clocks.items() if w not in self._left]
            if active and self.clocks[worker] - min(active) > self.ssp:
                return False
        return self.gate is None or bool(self.gate(self, worker))

    def recheck(self) -> None:
        """Answer every deferred pull that :meth:`pull_allowed` now admits (in rank order)."""
        for worker in sorted(self._deferred):
            if worker in self._deferred and self.pull_allowed(worker):
                k, requested = self._deferred.pop(worker)
                self._reply(worker, k, requested)
                self._listen(worker)

    def _listen(self, worker: int) -> None:
        """Post the receive of ``worker``'s next request (handling already-delivered ones now)."""
        while True:
            event = self.comm.recv(self.server, worker, (TAG, self._next[worker]))
            if event.callbacks is not None:  # not yet processed: handle on arrival
                event.callbacks.append(partial(self._on_request, worker))
                return
            if not self._handle(worker, event.value):
                return

    def _on_request(self, worker: int, event) -> None:
        if self._handle(worker, event.value):
            self._listen(worker)

    def _handle(self, worker: int, message) -> bool:
        """Handle one request; ``False`` if it is a pull left waiting."""
        kind, grad, pulled = message
        k = self._next[worker]
        self._next[worker] = k + 1
        now = self.comm.env.now
        if kind == "pull":
            if self.pull_allowed(worker):
                self._reply(worker, k, now)
                return True
            self._deferred[worker] = (k, now)
            return False
        if self.finished:
            self.dropped += 1
            return True
        self.updates.append(Update(now, worker, pulled, self.version, self.version - pulled))
        self.params = _snapshot(self.apply(worker, grad))
        self.version += 1
        self.clocks[worker] += 1
        if self.steps_total is not None and self.version >= self.steps_total:
            self.done.succeed(self.params)
        if self._deferred:
            self.recheck()
        return True

    def _reply(self, worker: int, k: int, requested: float) -> None:
        self.pulls.append(PullRecord(worker, requested, self.comm.env.now, self.version))
        self.comm.send(
            self.server, worker, (TAG, "reply", k), (self.params, self.version), self.params_nbytes
        )

    def serve(self):
        """Wait until ``steps_total`` updates are applied (SimPy generator; returns the final params).

        Serving itself needs no process; this is for ``env.process(ps.serve())`` or
        ``final = yield from ps.serve()`` in a coordinator.
        """
        if self.steps_total is None:
            raise ValueError(
                "serve() waits for steps_total updates; this server has no steps_total"
            )
        return (yield self.done)
