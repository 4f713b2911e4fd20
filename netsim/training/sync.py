"""Synchronisation schemes as SimPy processes: bulk-synchronous parallel (BSP) SGD.

Each worker repeats: draw a batch, compute the real gradient (taking the compute model's
simulated time), aggregate it with the chosen algorithm bucket by bucket, apply the
update. With an allreduce every replica applies the same averaged gradient with its own
optimizer once every bucket is reduced (as PyTorch DDP does); with a parameter server
the server applies it (one optimizer per bucket: the optimizers are element-wise, so
this is the same update) and replies with the new parameters. Either way BSP SGD equals
single-process SGD on the global batch (the union of the workers' batches), up to
floating-point reassociation.

With ``overlap`` a bucket's collective starts as soon as its gradients are ready in the
backward pass (:mod:`netsim.training.buckets`); collectives run one after another, in
bucket order, as on a single NCCL stream. Without it, communication starts after the
whole compute time.

With ``exchange.compression`` (:mod:`netsim.training.compressed_exchange`) each worker
compresses its gradient unit by unit (a unit per bucket, or one for the whole gradient)
and runs the compressor's exchange rounds (allreduces through ``exchange.algorithm`` at
the compressed wire size, all-gathers of payloads around a ring); the aggregate it
returns replaces ``reduced / workers`` in the update. With a parameter server the
pushes are compressed and the servers aggregate the payloads. Worker rows then also
hold ``dense_bytes, wire_bytes, wire_bytes_sent, wire_bytes_ideal,
compression_rounds`` and ``compression_ratio``; the steps table adds the step's
``compression_ratio`` (dense over timed bytes of all workers), ``wire_bytes_sent`` and
``wire_bytes_ideal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from netsim.collectives import Algorithm, Communicator
from netsim.exceptions import ScenarioError
from netsim.training.buckets import Bucket
from netsim.training.clipping import clip_weights
from netsim.training.compressed_exchange import (
    Compression,
    WireTally,
    WorkerCompression,
    check_compression,
    serve_push,
)
from netsim.training.job import TrainingJob, WorkerState

__all__ = ["Exchange", "StepLog", "start_bsp", "run_bsp_step"]


@dataclass(frozen=True)
class Exchange:
    """How a step's gradient is communicated.

    Attributes
    ----------
    algorithm : Algorithm
        An allreduce-operation algorithm (collective or parameter server).
    buckets : list of Bucket
        Slices of the flat gradient communicated one after another (communication order).
    overlap : bool
        Start each bucket's collective when its gradients are ready instead of after the
        whole compute time.
    options : dict
        Extra keyword options for the algorithm (e.g. ``chunks``).
    compression : Compression, optional
        Compress the gradients (see :mod:`netsim.training.compressed_exchange`);
        ``None``: exchange them dense.
    """

    algorithm: Algorithm
    buckets: list[Bucket]
    overlap: bool = False
    options: dict = field(default_factory=dict)
    compression: Compression | None = None


@dataclass
class StepLog:
    """Per-worker step records and per-step evaluations of a training run.

    ``worker_rows`` has one dict per (step, worker) with simulated times in seconds:
    ``step, worker, start_s, compute_s, comm_s`` (exposed communication: time from the
    end of compute to the end of the step), ``comm_busy_s`` (time spent inside
    collectives, overlapped or not), ``end_s, train_loss, bytes_sent``; with
    compression also ``dense_bytes, wire_bytes, wire_bytes_sent, wire_bytes_ideal,
    compression_rounds, compression_ratio`` (this worker's contribution; see
    :class:`~netsim.training.compressed_exchange.WireTally`).
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
                    "comm_busy_s": float(np.mean([r["comm_busy_s"] for r in rows])),
                    "train_loss": float(np.mean([r["train_loss"] for r in rows])),
                    "test_loss": test_loss,
                    "test_accuracy": test_accuracy,
                    "bytes_sent": float(sum(r["bytes_sent"] for r in rows)) + self.server_bytes.get(step, 0.0),
                    **_optional_means(rows),
                }
            )
        return table


def _optional_means(rows: list[dict]) -> dict:
    """Aggregates of the fields only some schemes record (staleness, waits, consensus)."""
    out: dict = {}
    if "staleness" in rows[0]:
        values = [r["staleness"] for r in rows]
        out["staleness_mean"] = float(np.mean(values))
        out["staleness_max"] = int(max(values))
    if "wait_s" in rows[0]:
        out["wait_s"] = float(np.mean([r["wait_s"] for r in rows]))
    if "consensus_distance" in rows[0]:
        out["consensus_distance"] = float(np.mean([r["consensus_distance"] for r in rows]))
    if "synced" in rows[0]:
        out["synced_fraction"] = float(np.mean([bool(r["synced"]) for r in rows]))
    if "compression_ratio" in rows[0]:
        dense = float(sum(r["dense_bytes"] for r in rows))
        timed = float(sum(r["wire_bytes"] for r in rows))
        out["compression_ratio"] = dense / timed if timed else float("nan")
        out["wire_bytes_sent"] = float(sum(r["wire_bytes_sent"] for r in rows))
        out["wire_bytes_ideal"] = float(sum(r["wire_bytes_ideal"] for r in rows))
    return out


def start_bsp(env: simpy.Environment, comm: Communicator, job: TrainingJob, exchange: Exchange) -> StepLog:
    """Start BSP training processes in ``env`` and return the log they fill.

    Parameters
    ----------
    env : simpy.Environment
    comm : Communicator
        Ranks ``0 .. job.workers-1`` are the workers; for a parameter server the ranks
        after them are the server(s).
    job : TrainingJob
    exchange : Exchange
        Algorithm, buckets, overlap and compression.

    Returns
    -------
    StepLog
        Filled as the simulation runs (call ``env.run()`` afterwards).

    Raises
    ------
    ScenarioError
        For gradient-norm clipping or a two-round compressor (PowerSGD) with a
        parameter server.
    """
    log = StepLog()
    algorithm = exchange.algorithm
    if algorithm.kind == "parameter_server" and job.clip_grad_norm is not None:
        raise ScenarioError(
            "training.clip_grad_norm needs the whole averaged gradient in one place; a parameter server "
            "updates it shard by shard and bucket by bucket. Use an allreduce algorithm, or training.clip_weights"
        )
    servers = comm.size - job.workers
    if servers < 0 or (servers > 0) != (algorithm.kind == "parameter_server"):
        raise ValueError(f"{algorithm.name} with {job.workers} workers cannot run on {comm.size} ranks")
    compression, units = exchange.compression, None
    if compression is not None:
        check_compression(compression.compressor, "bsp", algorithm)
        units = compression.units(exchange.buckets)
    for rank in range(job.workers):
        compressed = None
        if compression is not None:
            compressed = compression.worker(
                rank, job.workers, units, _allreduce(comm, rank, exchange), servers
            )
        env.process(_bsp_worker(env, comm, job, exchange, job.new_worker(rank), log, compressed))
    for server in range(job.workers, comm.size):
        if compression is None:
            env.process(_bsp_server(comm, job, exchange, server, log))
        else:
            env.process(_compressed_bsp_server(comm, job, compression, units, server, log))
    return log


def _allreduce(comm: Communicator, rank: int, exchange: Exchange):
    """``allreduce(data, nbytes)``: the exchange's algorithm run by ``rank`` (a generator)."""

    def allreduce(data, nbytes):
        return exchange.algorithm.run(comm, rank, data, nbytes, **exchange.options)

    return allreduce


def _bsp_worker(
    env,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    state: WorkerState,
    log: StepLog,
    compressed: WorkerCompression | None = None,
):
    for step in range(job.steps):
        yield from run_bsp_step(env, comm, job, exchange, state, log, step, compressed=compressed)


def run_bsp_step(
    env,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    state: WorkerState,
    log: StepLog,
    step: int,
    *,
    compressed: WorkerCompression | None = None,
    rank: int | None = None,
    workers: int | None = None,
):
    """One BSP step of one worker (a SimPy generator): compute, exchange, update, record.

    ``rank`` is the worker's rank in ``comm`` and ``workers`` the number of workers
    averaged over; both default to the job's (``state.rank``, ``job.workers``) and differ
    only after an elastic recovery shrank the job (:mod:`netsim.faults`). The row
    appended to ``log`` names the worker ``state.rank``; rank 0 evaluates.
    """
    rank = state.rank if rank is None else rank
    workers = job.workers if workers is None else workers
    algorithm, options = exchange.algorithm, exchange.options
    to_server = algorithm.kind == "parameter_server"
    pieces = exchange.buckets if compressed is None else compressed.units
    start = env.now
    loss, grad, compute_time = job.gradient(state)
    compute_end = start + compute_time
    sent_before, busy = comm.bytes_sent[rank], 0.0
    tally = None if compressed is None else WireTally()
    if not exchange.overlap:
        yield env.timeout(compute_time)
    reduced = np.empty_like(grad)
    for index, bucket in enumerate(pieces):
        ready = start + compute_time * bucket.ready_fraction
        if ready > env.now:
            yield env.timeout(ready - env.now)
        began = env.now
        piece = grad[bucket.start : bucket.stop]
        if compressed is not None:
            out = yield from compressed.communicate(comm, index, piece, tally)
        elif to_server:
            out = yield from algorithm.run(comm, rank, piece, server=workers, **options)
        else:
            out = yield from algorithm.run(comm, rank, piece, **options)
        reduced[bucket.start : bucket.stop] = out
        busy += env.now - began
    if compute_end > env.now:
        yield env.timeout(compute_end - env.now)
    if to_server:
        state.params = reduced
    else:  # a compressed exchange returns the aggregate (mean) itself
        state.params = job.update(state, reduced / workers if compressed is None else reduced)
    end = env.now
    row = {
        "step": step,
        "worker": state.rank,
        "start_s": start,
        "compute_s": compute_time,
        "comm_s": end - compute_end,
        "comm_busy_s": busy,
        "end_s": end,
        "train_loss": loss,
        "bytes_sent": comm.bytes_sent[rank] - sent_before,
    }
    if tally is not None:
        row.update(tally.row())
    log.worker_rows.append(row)
    if rank == 0:
        if job.should_evaluate(step):
            log.evals[step] = job.evaluate(state.params)
        if step == job.steps - 1:
            log.final_params = state.params


def _bsp_server(comm: Communicator, job: TrainingJob, exchange: Exchange, server: int, log: StepLog):
    """Server rank ``server`` of a (possibly sharded) parameter server.

    Server ``j = server - workers`` of ``s`` owns shard ``j`` (``numpy.array_split``) of
    every bucket and keeps one optimizer per bucket for it: element-wise optimizers make
    this the same update as one optimizer over the whole vector.
    """
    workers = job.workers
    shard, shards = server - workers, comm.size - workers
    params = job.initial_params.copy()
    itemsize = params.itemsize
    slices = [_shard_slice(bucket, shard, shards) for bucket in exchange.buckets]

    def updater(where: slice, optimizer):
        def apply(_shard: int, total: np.ndarray):
            new = optimizer.step(params[where], total / workers)
            if job.clip_weights is not None:
                new = clip_weights(new, job.clip_weights)
            params[where] = new
            return new, float(new.nbytes)

        return apply

    appliers = [updater(where, job.make_optimizer()) for where in slices]
    for step in range(job.steps):
        sent_before = comm.bytes_sent[server]
        for bucket, apply in zip(exchange.buckets, appliers, strict=True):
            yield from exchange.algorithm.run(
                comm, server, None, bucket.size * itemsize, server=workers, on_server=apply, **exchange.options
            )
        log.server_bytes[step] = log.server_bytes.get(step, 0.0) + comm.bytes_sent[server] - sent_before


def _shard_slice(piece, shard: int, shards: int) -> slice:
    """Shard ``shard`` of ``shards`` (``numpy.array_split``) of ``piece``, in the flat vector."""
    parts = np.array_split(np.empty(piece.stop - piece.start), shards)
    bounds = np.cumsum([0, *(len(a) for a in parts)])
    return slice(piece.start + int(bounds[shard]), piece.start + int(bounds[shard + 1]))


def _compressed_bsp_server(
    comm: Communicator, job: TrainingJob, compression: Compression, units, server: int, log: StepLog
):
    """Server rank of a parameter server receiving compressed pushes (one optimizer per unit shard).

    Aggregates the workers' payloads of its shard of every unit (rank order) and applies
    the update; replies uncompressed (:func:`~netsim.training.compressed_exchange.serve_push`).
    """
    workers = job.workers
    shard, shards = server - workers, comm.size - workers
    params = job.initial_params.copy()

    def updater(where: slice, optimizer):
        def apply(mean: np.ndarray) -> np.ndarray:
            new = optimizer.step(params[where], mean)
            if job.clip_weights is not None:
                new = clip_weights(new, job.clip_weights)
            params[where] = new
            return new

        return apply

    appliers = [updater(_shard_slice(unit, shard, shards), job.make_optimizer()) for unit in units]
    for step in range(job.steps):
        sent_before = comm.bytes_sent[server]
        for apply in appliers:
            yield from serve_push(comm, server, workers, compression.compressor, apply)
        log.server_bytes[step] = log.server_bytes.get(step, 0.0) + comm.bytes_sent[server] - sent_before
