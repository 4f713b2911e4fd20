"""Asynchronous (ASP) and stale-synchronous (SSP) parameter-server SGD as SimPy processes.

One server rank (rank ``p``, after the workers ``0 .. p-1``, the placement BSP's
parameter server uses) holds the parameters in an
:class:`~netsim.collectives.async_ps.AsyncParameterServer`. Each worker loops::

    compute its gradient on its batch at the parameters it holds (compute-model time)
    push the gradient to the server        (the server applies it ON ARRIVAL)
    pull the current parameters            (under SSP: wait until allowed)

Workers start from ``job.initial_params`` (version 0) without a pull, as BSP replicas
do. The pull is sent right behind the push (``wait=False``): the server handles a
worker's requests in order, so the reply carries that push applied and a lone worker's
step takes ``compute + 2(α + nβ)``, exactly a BSP parameter-server step. The last step
ends when its gradient has been applied (a finished worker fetches nothing more).

Conventions
-----------
Steps
    Every worker does ``job.steps`` iterations, so the server applies
    ``workers × steps`` updates: the same number of samples as BSP's ``steps`` steps on
    a global batch of ``workers × batch_size``. Row ``step`` of a worker is its own
    iteration. With one worker ASP is exactly sequential SGD (same optimizer calls, in
    the same order, on the same batches).
Learning rate
    The server applies each worker's gradient as its own optimizer step
    (:meth:`~netsim.training.job.TrainingJob.update`: one optimizer over the whole
    vector, from ``job.make_optimizer()``, with the job's clipping applied to that one
    gradient), *not* divided by the number of workers: ASP with learning rate ``lr``
    makes ``p`` steps of ``lr`` per BSP step of ``lr`` on the mean gradient (with SSP
    ``s = 0`` and momentum-free SGD a round of ``p`` updates therefore equals one BSP
    step with learning rate ``p · lr``). A learning-rate schedule
    (:class:`~netsim.training.schedules.ScheduledOptimizer`) is indexed by the round
    ``version // p``, so it follows BSP's steps.
Staleness
    ``version at apply − version pulled`` (:class:`~netsim.collectives.async_ps.Update`):
    the number of other workers' updates applied between the pull that produced the
    parameters and the gradient's arrival.
Evaluation
    ``log.evals[k]`` is the held-out ``(loss, accuracy)`` of the server's parameters
    right after update number ``(k + 1) · p`` (as many samples as BSP after step
    ``k``), for every ``k`` with ``job.should_evaluate(k)``; ``log.eval_times[k]`` is the
    simulated second it was applied.

Extra row fields: ``version`` (version the step's gradient was computed on),
``staleness`` (of that gradient at apply), ``applied_s`` (simulated second it was
applied) and ``wait_s`` (seconds the step's pull waited for the SSP bound; 0 for ASP).
``comm_s`` is ``end_s − start_s − compute_s`` (pushing, pulling and SSP waiting),
``comm_busy_s`` the same without the SSP wait.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from netsim.collectives import Communicator
from netsim.collectives.async_ps import AsyncParameterServer, Update
from netsim.training.job import TrainingJob, WorkerState
from netsim.training.schedules import ScheduledOptimizer
from netsim.training.sync import Exchange, StepLog

__all__ = ["AsyncStepLog", "start_asp", "start_ssp"]


@dataclass
class AsyncStepLog(StepLog):
    """A :class:`~netsim.training.sync.StepLog` with the server's update records.

    Attributes
    ----------
    updates : list of Update
        Every applied update in order (time, worker, pulled version, version, staleness).
    eval_times : dict of int to float
        Simulated second (s) at which the parameters of ``evals[k]`` were reached.
    """

    updates: list[Update] = field(default_factory=list)
    eval_times: dict[int, float] = field(default_factory=dict)


def start_asp(
    env: simpy.Environment,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange | None = None,
    ssp: int | None = None,
) -> AsyncStepLog:
    """Start asynchronous (or, with ``ssp``, stale-synchronous) parameter-server training.

    Parameters
    ----------
    env : simpy.Environment
    comm : Communicator
        ``job.workers + 1`` ranks: the workers ``0 .. p-1``, then the server ``p``.
    job : TrainingJob
        Every worker runs ``job.steps`` iterations (see the module docstring).
    exchange : Exchange, optional
        Accepted for a uniform driver signature; unused: gradients and parameters travel
        whole through the asynchronous server (no buckets, no overlap).
    ssp : int, optional
        Staleness bound ``s >= 0``: a worker whose clock (pushes applied) is more than
        ``s`` ahead of the slowest worker's waits before pulling. ``None``: ASP.

    Returns
    -------
    AsyncStepLog
        Filled as the simulation runs (call ``env.run()`` afterwards); ``final_params``
        are the server's parameters after the last update.

    Raises
    ------
    ValueError
        If ``comm`` does not have exactly ``job.workers + 1`` ranks, or ``ssp < 0``.
    """
    workers = job.workers
    if comm.size != workers + 1:
        raise ValueError(
            f"ASP/SSP with {workers} workers needs {workers + 1} ranks (workers, then one server); "
            f"the communicator has {comm.size}"
        )
    log = AsyncStepLog()
    server = WorkerState(workers, job.initial_params, job.make_optimizer(), None)
    total = workers * job.steps
    ps: AsyncParameterServer

    def apply(_worker: int, grad):
        if isinstance(server.optimizer, ScheduledOptimizer):
            server.optimizer.steps = ps.version // workers  # the schedule follows rounds
        server.params = ps.params
        new = job.update(server, grad)
        version = ps.version + 1
        if version % workers == 0:
            k = version // workers - 1
            if job.should_evaluate(k):
                log.evals[k] = job.evaluate(new)
                log.eval_times[k] = env.now
        if version == total:
            log.final_params = new.copy()
        return new

    ps = AsyncParameterServer(
        comm, workers, job.initial_params, apply, workers=range(workers), steps_total=total, ssp=ssp
    )
    log.updates = ps.updates
    if total == 0:
        log.final_params = job.initial_params.copy()
    for rank in range(workers):
        env.process(_async_worker(env, comm, job, ps, rank, log))
    return log


def start_ssp(
    env: simpy.Environment,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange | None = None,
    ssp: int = 0,
) -> AsyncStepLog:
    """Stale-synchronous parallel: :func:`start_asp` with the staleness bound ``ssp`` (default 0)."""
    return start_asp(env, comm, job, exchange, ssp=ssp)


def _last_pull(ps: AsyncParameterServer, rank: int):
    for record in reversed(ps.pulls):
        if record.worker == rank:
            return record
    raise RuntimeError(f"no pull of worker {rank} was answered")  # pragma: no cover


def _async_worker(
    env,
    comm: Communicator,
    job: TrainingJob,
    ps: AsyncParameterServer,
    rank: int,
    log: AsyncStepLog,
):
    state = job.new_worker(rank)
    version = 0
    for step in range(job.steps):
        start = env.now
        sent_before = comm.bytes_sent[rank]
        loss, grad, compute_time = job.gradient(state)
        yield env.timeout(compute_time)
        last = step == job.steps - 1
        updates_before = ps.clocks[rank]
        yield from ps.push(rank, grad, version=version, wait=last)
        wait = 0.0
        if not last:
            params, new_version = yield from ps.pull(rank)
            record = _last_pull(ps, rank)
            wait = record.answered - record.requested
            log.server_bytes[step] = log.server_bytes.get(step, 0.0) + ps.params_nbytes
        # The push is applied before the pull is answered (requests are handled in order).
        if ps.clocks[rank] != updates_before + 1:  # pragma: no cover - server invariant
            raise RuntimeError(f"worker {rank}'s gradient of step {step} was not applied")
        update = next(u for u in reversed(ps.updates) if u.worker == rank)
        end = env.now
        log.worker_rows.append(
            {
                "step": step,
                "worker": rank,
                "start_s": start,
                "compute_s": compute_time,
                "comm_s": end - (start + compute_time),
                "comm_busy_s": end - (start + compute_time) - wait,
                "end_s": end,
                "train_loss": loss,
                "bytes_sent": comm.bytes_sent[rank] - sent_before,
                "version": version,
                "staleness": update.staleness,
                "applied_s": update.time,
                "wait_s": wait,
            }
        )
        if not last:
            state.params, version = params, new_version
    ps.leave(rank)
