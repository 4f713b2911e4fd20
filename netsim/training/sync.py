"""Synchronisation schemes as SimPy processes: bulk-synchronous parallel (BSP) SGD.

Each worker repeats: draw a batch, compute the real gradient (taking the compute model's
simulated time), aggregate with the chosen algorithm, apply the update. With an
allreduce every replica applies the same averaged gradient with its own optimizer; with
a parameter server the server applies it and replies with the new parameters. Either
way BSP data-parallel SGD equals single-process SGD on the global batch (the union of
the workers' batches), up to floating-point reassociation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from netsim.collectives import Algorithm, Communicator
from netsim.training.job import TrainingJob, WorkerState

__all__ = ["StepLog", "start_bsp"]


@dataclass
class StepLog:
    """Per-worker step records and per-step evaluations of a training run.

    ``worker_rows`` has one dict per (step, worker) with simulated times in seconds:
    ``step, worker, start_s, compute_s, comm_s, end_s, train_loss, bytes_sent``.
    ``server_bytes[step]`` counts bytes sent by server ranks; ``evals[step]`` is the
    held-out ``(loss, accuracy)`` after that step.
    """

    worker_rows: list[dict] = field(default_factory=list)
    server_bytes: dict[int, float] = field(default_factory=dict)
    evals: dict[int, tuple[float, float]] = field(default_factory=dict)
    final_params: np.ndarray | None = None

    def steps_table(self) -> list[dict]:
        """One row per step: worker records aggregated (times span all workers)."""
        by_step: dict[int, list[dict]] = {}
        for row in self.worker_rows:
            by_step.setdefault(row["step"], []).append(row)
        table = []
        for step in sorted(by_step):
            rows = by_step[step]
            start = min(r["start_s"] for r in rows)
            end = max(r["end_s"] for r in rows)
            test_loss, test_accuracy = self.evals.get(step, (float("nan"), float("nan")))
            table.append(
                {
                    "step": step,
                    "start_s": start,
                    "end_s": end,
                    "duration_s": end - start,
                    "compute_s": float(np.mean([r["compute_s"] for r in rows])),
                    "comm_s": float(np.mean([r["comm_s"] for r in rows])),
                    "train_loss": float(np.mean([r["train_loss"] for r in rows])),
                    "test_loss": test_loss,
                    "test_accuracy": test_accuracy,
                    "bytes_sent": float(sum(r["bytes_sent"] for r in rows)) + self.server_bytes.get(step, 0.0),
                }
            )
        return table


def start_bsp(env: simpy.Environment, comm: Communicator, job: TrainingJob, algorithm: Algorithm) -> StepLog:
    """Start BSP training processes in ``env`` and return the log they fill.

    Parameters
    ----------
    env : simpy.Environment
    comm : Communicator
        Ranks ``0 .. job.workers-1`` are the workers; for a parameter server, rank
        ``job.workers`` is the server.
    job : TrainingJob
    algorithm : Algorithm
        An allreduce or a parameter server (see :mod:`netsim.collectives`).

    Returns
    -------
    StepLog
        Filled as the simulation runs (call ``env.run()`` afterwards).
    """
    log = StepLog()
    expected = job.workers + (1 if algorithm.kind == "parameter_server" else 0)
    if comm.size != expected:
        raise ValueError(f"{algorithm.name} with {job.workers} workers needs {expected} ranks, got {comm.size}")
    workers = [job.new_worker(rank) for rank in range(job.workers)]
    for state in workers:
        env.process(_bsp_worker(env, comm, job, algorithm, state, log))
    if algorithm.kind == "parameter_server":
        env.process(_bsp_server(comm, job, algorithm, job.workers, log))
    return log


def _bsp_worker(env, comm: Communicator, job: TrainingJob, algorithm: Algorithm, state: WorkerState, log: StepLog):
    rank, workers = state.rank, job.workers
    for step in range(job.steps):
        start = env.now
        loss, grad, compute_time = job.gradient(state)
        yield env.timeout(compute_time)
        comm_start, sent_before = env.now, comm.bytes_sent[rank]
        if algorithm.kind == "parameter_server":
            state.params = yield from algorithm.run(comm, rank, grad, server=workers)
        else:
            total = yield from algorithm.run(comm, rank, grad)
            state.params = state.optimizer.step(state.params, total / workers)
        end = env.now
        log.worker_rows.append(
            {
                "step": step,
                "worker": rank,
                "start_s": start,
                "compute_s": compute_time,
                "comm_s": end - comm_start,
                "end_s": end,
                "train_loss": loss,
                "bytes_sent": comm.bytes_sent[rank] - sent_before,
            }
        )
        if rank == 0:
            if job.should_evaluate(step):
                log.evals[step] = job.evaluate(state.params)
            if step == job.steps - 1:
                log.final_params = state.params


def _bsp_server(comm: Communicator, job: TrainingJob, algorithm: Algorithm, server: int, log: StepLog):
    params = job.initial_params.copy()
    optimizer = job.make_optimizer()

    def apply(total: np.ndarray):
        nonlocal params
        params = optimizer.step(params, total / job.workers)
        return params, float(params.nbytes)

    for step in range(job.steps):
        sent_before = comm.bytes_sent[server]
        yield from algorithm.run(comm, server, None, job.model_bytes, server=server, on_server=apply)
        log.server_bytes[step] = comm.bytes_sent[server] - sent_before
