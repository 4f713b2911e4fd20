"""Decentralised parallel SGD (D-PSGD, Lian et al. 2017) with gossip averaging.

Every step, every worker ``i`` computes its gradient at its own parameters ``x_i``, does
one gossip round (the registered ``gossip`` algorithm with the given ``mixing``, bucket
by bucket over ``exchange.buckets``) to mix its parameters with its neighbours', and
applies its local gradient to the mixed parameters::

    x_i ← Σ_j W_ij x_j − lr · g_i(x_i)          (X_{t+1} = W X_t − lr G(X_t))

with its own optimizer (plain SGD gives exactly the update above; with momentum each
worker keeps its own buffer). The replicas differ; ``W`` is doubly stochastic, so the
average model follows ``x̄_{t+1} = x̄_t − lr · mean_i g_i(x_i)``.

The gradient and the mixing both read ``x_t``, so they are independent: with
``exchange.overlap`` the gossip round starts with the compute (as in Lian et al.'s
implementation); otherwise it starts after it.

Conventions
-----------
Steps and learning rate: ``job.steps`` steps per worker, each one gossip round and one
step of the job's optimizer with the worker's own mini-batch gradient (not divided by
the workers).

Evaluation: ``log.evals[k]`` is the held-out ``(loss, accuracy)`` of the AVERAGE of the
replicas after step ``k`` (an observer's average, not communicated);
``log.final_params`` is that average after the last step and ``log.replica_params`` the
replicas themselves.

Extra row field: ``consensus_distance``, ``‖x_i − x̄‖`` (Euclidean) of this worker's
parameters after the step from the replicas' mean; ``log.consensus[k]`` is its mean
over the workers.
"""

from __future__ import annotations

import numpy as np
import simpy

from netsim.collectives import Communicator, get_algorithm
from netsim.training.job import TrainingJob, WorkerState
from netsim.training.local_sgd import ReplicaObserver, ReplicaStepLog
from netsim.training.sync import Exchange

__all__ = ["start_gossip"]


def start_gossip(
    env: simpy.Environment,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    mixing="ring",
) -> ReplicaStepLog:
    """Start D-PSGD: per step, one gossip round of the parameters and a local SGD step.

    Parameters
    ----------
    env : simpy.Environment
    comm : Communicator
        Exactly ``job.workers`` ranks (no servers).
    job : TrainingJob
    exchange : Exchange
        Buckets and overlap; its algorithm is used if it is a ``gossip`` operation,
        otherwise the registered ``gossip`` algorithm is (the allreduce algorithm and its
        options do not apply).
    mixing : str or array_like
        ``"ring"`` (default), ``"topology"`` or an explicit ``p × p`` doubly-stochastic
        matrix (:mod:`netsim.collectives.gossip`).

    Returns
    -------
    ReplicaStepLog
        Filled as the simulation runs (call ``env.run()`` afterwards).

    Raises
    ------
    ValueError
        If ``comm`` does not have ``job.workers`` ranks (the mixing is validated by the
        first gossip round).
    """
    if comm.size != job.workers:
        raise ValueError(
            f"gossip SGD with {job.workers} workers needs {job.workers} ranks; the communicator has {comm.size}"
        )
    algorithm = (
        exchange.algorithm if exchange.algorithm.operation == "gossip" else get_algorithm("gossip")
    )
    log = ReplicaStepLog()
    observer = ReplicaObserver(job, log, final_is_mean=True)
    for rank in range(job.workers):
        env.process(
            _gossip_worker(
                env, comm, job, exchange, algorithm, mixing, job.new_worker(rank), log, observer
            )
        )
    return log


def _mix(env, comm: Communicator, rank: int, algorithm, buckets, params: np.ndarray, mixing):
    """One gossip round of ``params``, bucket by bucket; returns ``(mixed, busy seconds)``."""
    mixed = np.empty_like(params)
    busy = 0.0
    for bucket in buckets:
        began = env.now
        out = yield from algorithm.run(
            comm, rank, params[bucket.start : bucket.stop], mixing=mixing
        )
        mixed[bucket.start : bucket.stop] = out
        busy += env.now - began
    return mixed, busy


def _gossip_worker(
    env,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    algorithm,
    mixing,
    state: WorkerState,
    log: ReplicaStepLog,
    observer: ReplicaObserver,
):
    rank = state.rank
    for step in range(job.steps):
        start = env.now
        sent_before = comm.bytes_sent[rank]
        loss, grad, compute_time = job.gradient(state)
        if exchange.overlap:
            mixing_round = env.process(
                _mix(env, comm, rank, algorithm, exchange.buckets, state.params, mixing)
            )
            yield env.timeout(compute_time)
            mixed, busy = yield mixing_round
        else:
            yield env.timeout(compute_time)
            mixed, busy = yield from _mix(
                env, comm, rank, algorithm, exchange.buckets, state.params, mixing
            )
        state.params = mixed
        state.params = job.update(state, grad)
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
        }
        log.worker_rows.append(row)
        observer.record(step, rank, state.params, row)
