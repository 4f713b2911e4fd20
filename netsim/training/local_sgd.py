"""Local SGD (periodic model averaging) as SimPy processes.

Every worker takes ``period = H`` SGD steps with its own optimizer on its own batches,
then the replicas' *parameters* are averaged with the exchange's allreduce algorithm
(``exchange.algorithm``, bucket by bucket over ``exchange.buckets``, as BSP reduces
gradients), and training continues from the average. The last step always ends with an
averaging, so the run ends with one consensus model.

``H = 1`` is BSP. With momentum-free SGD, ``mean_i(x − lr·g_i) = x − lr·mean_i(g_i)``.
With SGD momentum (heavy-ball or Nesterov, with or without L2 weight decay) every
worker keeps its *own* momentum buffer (they are never averaged), yet the update is
linear in ``(x, g, v)`` and the replicas start every step from the same averaged ``x``,
so the mean of the buffers follows BSP's buffer and the averaged model is still BSP's,
up to floating-point reassociation. Non-linear optimizers (Adam, AdamW) differ from BSP
even at ``H = 1``: the mean of per-worker Adam steps is not the Adam step of the mean
gradient. For ``H > 1`` the local buffers carry each worker's own history across
averagings (as in Lin et al., 2020, "Don't use large mini-batches, use local SGD").

Conventions
-----------
Steps and learning rate: ``job.steps`` local steps per worker, each a step of the job's
optimizer with the worker's own mini-batch gradient (not divided by the workers).
Communication happens after step ``k`` when ``(k + 1) % H == 0`` or ``k`` is the last
step; other steps send nothing (``comm_s = 0``). Backward-pass overlap does not apply
(the parameters exist only after the local update), so ``exchange.overlap`` is ignored.

Evaluation: ``log.evals[k]`` is the held-out ``(loss, accuracy)`` of the average of the
replicas after step ``k`` (the averaged model on averaging steps; between averagings
an observer's average, not communicated). ``log.final_params`` is the averaged model
after the last step.

Extra row fields: ``synced`` (the step ended with an averaging) and
``consensus_distance``: ``‖x_i − x̄‖`` (Euclidean) of this worker's parameters after the
step's local update, *before* any averaging, from the replicas' mean ``x̄`` (the drift
the averaging removes). ``log.consensus[k]`` is its mean over the workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from netsim.collectives import Communicator
from netsim.training.job import TrainingJob, WorkerState
from netsim.training.sync import Exchange, StepLog

__all__ = ["ReplicaObserver", "ReplicaStepLog", "start_local_sgd"]


@dataclass
class ReplicaStepLog(StepLog):
    """A :class:`~netsim.training.sync.StepLog` for schemes whose replicas differ.

    Attributes
    ----------
    consensus : dict of int to float
        Mean over workers of ``‖x_i − x̄‖`` after each step (see the driver's docstring).
    replica_params : list of numpy.ndarray
        Every worker's parameters at the end of the last step (rank order; for local
        SGD after the final averaging, so all equal).
    """

    consensus: dict[int, float] = field(default_factory=dict)
    replica_params: list[np.ndarray] = field(default_factory=list)


class ReplicaObserver:
    """Collects every worker's parameters per step; averages, measures and evaluates.

    Workers may be at different steps at one instant; a step's snapshots are kept until
    the last worker reports it. Costs no simulated time.
    """

    def __init__(self, job: TrainingJob, log: ReplicaStepLog, final_is_mean: bool = True):
        self.job = job
        self.log = log
        self.final_is_mean = final_is_mean
        self._pending: dict[int, dict[int, tuple[np.ndarray, dict, np.ndarray]]] = {}

    def record(
        self, step: int, rank: int, params: np.ndarray, row: dict, after: np.ndarray | None = None
    ) -> None:
        """Report worker ``rank``'s measured ``params`` at ``step`` and its (already logged) row.

        ``after`` is the worker's parameters at the end of the step when they differ from
        the measured ones (local SGD measures before averaging); they become
        ``replica_params`` and, unless ``final_is_mean``, rank 0's become ``final_params``.
        """
        pending = self._pending.setdefault(step, {})
        pending[rank] = (params, row, params if after is None else after)
        if len(pending) < self.job.workers:
            return
        del self._pending[step]
        ranks = sorted(pending)
        X = np.stack([pending[r][0] for r in ranks])
        mean = X.mean(axis=0)
        distances = np.linalg.norm(X - mean, axis=1)
        for r, distance in zip(ranks, distances, strict=True):
            pending[r][1]["consensus_distance"] = float(distance)
        self.log.consensus[step] = float(distances.mean())
        if self.job.should_evaluate(step):
            self.log.evals[step] = self.job.evaluate(mean)
        if step == self.job.steps - 1:
            self.log.replica_params = [pending[r][2].copy() for r in ranks]
            self.log.final_params = mean if self.final_is_mean else self.log.replica_params[0]


def start_local_sgd(
    env: simpy.Environment,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    period: int = 1,
) -> ReplicaStepLog:
    """Start local SGD: ``period`` local steps, then average the parameters.

    Parameters
    ----------
    env : simpy.Environment
    comm : Communicator
        Ranks ``0 .. job.workers-1`` are the workers; for a parameter-server algorithm
        the ranks after them are the server(s), which sum the parameters.
    job : TrainingJob
    exchange : Exchange
        The allreduce algorithm (and its options) and the buckets used to average.
    period : int
        ``H >= 1``: local steps between averagings (1 is BSP, see the module docstring).

    Returns
    -------
    ReplicaStepLog
        Filled as the simulation runs (call ``env.run()`` afterwards).

    Raises
    ------
    ValueError
        For ``period < 1`` or a communicator that does not fit the algorithm.
    """
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 1:
        raise ValueError(
            f"local SGD period (local steps between averagings) must be an integer >= 1, got {period!r}"
        )
    period = int(period)
    algorithm = exchange.algorithm
    servers = comm.size - job.workers
    if servers < 0 or (servers > 0) != (algorithm.kind == "parameter_server"):
        raise ValueError(
            f"{algorithm.name} with {job.workers} workers cannot run on {comm.size} ranks"
        )
    log = ReplicaStepLog()
    observer = ReplicaObserver(job, log, final_is_mean=False)
    for rank in range(job.workers):
        env.process(
            _local_worker(env, comm, job, exchange, period, job.new_worker(rank), log, observer)
        )
    for server in range(job.workers, comm.size):
        env.process(_local_server(comm, job, exchange, period, server, log))
    return log


def _synced(step: int, period: int, steps: int) -> bool:
    return (step + 1) % period == 0 or step == steps - 1


def _local_worker(
    env,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    period: int,
    state: WorkerState,
    log: ReplicaStepLog,
    observer: ReplicaObserver,
):
    rank, workers = state.rank, job.workers
    algorithm, options = exchange.algorithm, exchange.options
    to_server = algorithm.kind == "parameter_server"
    for step in range(job.steps):
        start = env.now
        loss, grad, compute_time = job.gradient(state)
        yield env.timeout(compute_time)
        state.params = job.update(state, grad)
        local = state.params
        synced = _synced(step, period, job.steps)
        sent_before, busy = comm.bytes_sent[rank], 0.0
        if synced:
            total = np.empty_like(local)
            for bucket in exchange.buckets:
                began = env.now
                piece = local[bucket.start : bucket.stop]
                if to_server:
                    out = yield from algorithm.run(comm, rank, piece, server=workers, **options)
                else:
                    out = yield from algorithm.run(comm, rank, piece, **options)
                total[bucket.start : bucket.stop] = out
                busy += env.now - began
            state.params = total / workers
        end = env.now
        row = {
            "step": step,
            "worker": rank,
            "start_s": start,
            "compute_s": compute_time,
            "comm_s": end - (start + compute_time),
            "comm_busy_s": busy,
            "end_s": end,
            "train_loss": loss,
            "bytes_sent": comm.bytes_sent[rank] - sent_before,
            "synced": synced,
        }
        log.worker_rows.append(row)
        observer.record(step, rank, local, row, after=state.params)


def _local_server(
    comm: Communicator, job: TrainingJob, exchange: Exchange, period: int, server: int, log: StepLog
):
    """Server rank of a parameter-server averaging: sums the replicas' parameters on averaging steps."""
    itemsize = job.initial_params.itemsize
    for step in range(job.steps):
        if not _synced(step, period, job.steps):
            continue
        sent_before = comm.bytes_sent[server]
        for bucket in exchange.buckets:
            yield from exchange.algorithm.run(
                comm, server, None, bucket.size * itemsize, server=job.workers, **exchange.options
            )
        log.server_bytes[step] = (
            log.server_bytes.get(step, 0.0) + comm.bytes_sent[server] - sent_before
        )
