"""Compression for the asynchronous and local-SGD schemes (BSP's lives in :mod:`~netsim.training.sync`).

``asp`` / ``ssp`` (:func:`start_compressed_asp`)
    Each worker compresses its gradient unit by unit (single-round compressors only)
    and pushes the payloads as ONE message timed at their total wire size; the server
    decodes each unit (:meth:`~netsim.training.compression.SingleRoundCompressor.aggregate`
    of the one payload: the decoded vector, or its sign for signSGD) and applies it as
    the uncompressed gradient would be applied. The pull (the parameters) stays
    uncompressed. Everything else is :func:`~netsim.training.asp.start_asp`: the driver
    runs it on a view of the job (:class:`CompressedPushJob`) whose gradients leave the
    workers encoded and whose server update decodes them.
``local_sgd`` (:func:`start_compressed_local_sgd`)
    On averaging steps each worker compresses the change of its parameters since the
    last average, ``Δ_i = x_i − x̄``, unit by unit, runs the compressor's exchange
    through the allreduce algorithm (any compressor, PowerSGD included) and continues
    from ``x̄ ← x̄ + aggregate(Δ)``: every replica gets the same aggregate, so they stay
    equal. Error feedback keeps what was not sent of ``Δ`` for the next averaging.
    Otherwise as :func:`~netsim.training.local_sgd.start_local_sgd` (parameter servers
    are not supported: :func:`~netsim.training.compressed_exchange.check_compression`).

Worker rows get the compression fields of
:class:`~netsim.training.compressed_exchange.WireTally` (zero bytes and a NaN ratio on
local-SGD steps without averaging).
"""

from __future__ import annotations

import numpy as np
import simpy

from netsim.collectives import Communicator
from netsim.training.asp import AsyncStepLog, start_asp
from netsim.training.compressed_exchange import (
    Compression,
    EncodedGradient,
    WireTally,
    WorkerCompression,
    check_compression,
)
from netsim.training.job import TrainingJob, WorkerState
from netsim.training.local_sgd import ReplicaObserver, ReplicaStepLog
from netsim.training.sync import Exchange

__all__ = ["CompressedPushJob", "start_compressed_asp", "start_compressed_local_sgd"]


class CompressedPushJob:
    """A view of a :class:`~netsim.training.job.TrainingJob` whose gradients travel compressed.

    :meth:`gradient` returns an :class:`~netsim.training.compressed_exchange.EncodedGradient`
    (one payload per unit; ``nbytes`` = the timed wire bytes) instead of the dense
    gradient, and :meth:`update` decodes one before applying the job's update. Every
    other attribute is the job's. ``rows[(rank, k)]`` holds the wire accounting of worker
    ``rank``'s ``k``-th gradient.
    """

    def __init__(self, job: TrainingJob, compression: Compression, units) -> None:
        self._job = job
        self.compression = compression
        self.units = list(units)
        self._workers: dict[int, WorkerCompression] = {}
        self._counts: dict[int, int] = {}
        self.rows: dict[tuple[int, int], dict] = {}

    def __getattr__(self, name: str):
        return getattr(self._job, name)

    def _worker(self, rank: int) -> WorkerCompression:
        if rank not in self._workers:
            self._workers[rank] = self.compression.worker(rank, self._job.workers, self.units)
        return self._workers[rank]

    def gradient(self, state: WorkerState):
        """The job's gradient of ``state``'s next batch, encoded: ``(loss, EncodedGradient, seconds)``."""
        loss, grad, compute_time = self._job.gradient(state)
        worker, tally = self._worker(state.rank), WireTally()
        payloads, nbytes = [], 0.0
        for index, unit in enumerate(self.units):
            payload, size = worker.encode(index, grad[unit.start : unit.stop], tally)
            payloads.append(payload)
            nbytes += size
        k = self._counts.get(state.rank, 0)
        self._counts[state.rank] = k + 1
        self.rows[(state.rank, k)] = tally.row()
        return loss, EncodedGradient(payloads, nbytes), compute_time

    def decode(self, message: EncodedGradient) -> np.ndarray:
        """The dense gradient ``(num_params,)`` one pushed message stands for."""
        out = np.empty(self._job.initial_params.size)
        compressor = self.compression.compressor
        for unit, payload in zip(self.units, message.payloads, strict=True):
            out[unit.start : unit.stop] = compressor.aggregate([payload])
        return out

    def update(self, state: WorkerState, grad) -> np.ndarray:
        """The job's update with ``grad`` (decoded first if it is an encoded message)."""
        if isinstance(grad, EncodedGradient):
            grad = self.decode(grad)
        return self._job.update(state, grad)


class _AnnotatedRows(list):
    """Worker rows that pick up their wire accounting when the driver appends them."""

    def __init__(self, accounting: dict[tuple[int, int], dict]) -> None:
        super().__init__()
        self._accounting = accounting

    def append(self, row: dict) -> None:
        row.update(self._accounting.get((row["worker"], row["step"]), {}))
        super().append(row)


def start_compressed_asp(
    env: simpy.Environment,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    ssp: int | None = None,
) -> AsyncStepLog:
    """ASP (or SSP with ``ssp``) with compressed pushes (see the module docstring).

    Parameters
    ----------
    env, comm, job, ssp
        As :func:`~netsim.training.asp.start_asp`.
    exchange : Exchange
        Its ``compression`` (required) and ``buckets`` (the layer-wise units).

    Raises
    ------
    ScenarioError
        For a compressor with more than one round (PowerSGD).
    """
    compression = exchange.compression
    if compression is None:
        raise ValueError("start_compressed_asp needs exchange.compression")
    check_compression(compression.compressor, "asp" if ssp is None else "ssp", exchange.algorithm)
    view = CompressedPushJob(job, compression, compression.units(exchange.buckets))
    log = start_asp(env, comm, view, exchange, ssp=ssp)
    log.worker_rows = _AnnotatedRows(view.rows)
    return log


def start_compressed_local_sgd(
    env: simpy.Environment,
    comm: Communicator,
    job: TrainingJob,
    exchange: Exchange,
    period: int = 1,
) -> ReplicaStepLog:
    """Local SGD averaging compressed parameter changes (see the module docstring).

    Parameters
    ----------
    env, comm, job, period
        As :func:`~netsim.training.local_sgd.start_local_sgd` (``comm``: the workers only).
    exchange : Exchange
        Allreduce algorithm, options, buckets and ``compression`` (required).

    Raises
    ------
    ScenarioError
        With a parameter-server algorithm.
    ValueError
        For ``period < 1`` or a communicator that does not fit.
    """
    compression = exchange.compression
    if compression is None:
        raise ValueError("start_compressed_local_sgd needs exchange.compression")
    check_compression(compression.compressor, "local_sgd", exchange.algorithm)
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 1:
        raise ValueError(
            f"local SGD period (local steps between averagings) must be an integer >= 1, got {period!r}"
        )
    if comm.size != job.workers:
        raise ValueError(
            f"compressed local SGD with {job.workers} workers needs {job.workers} ranks; "
            f"the communicator has {comm.size}"
        )
    log = ReplicaStepLog()
    observer = ReplicaObserver(job, log, final_is_mean=False)
    units = compression.units(exchange.buckets)
    for rank in range(job.workers):

        def allreduce(data, nbytes, rank=rank):
            return exchange.algorithm.run(comm, rank, data, nbytes, **exchange.options)

        worker = compression.worker(rank, job.workers, units, allreduce)
        env.process(
            _local_worker(env, comm, job, int(period), job.new_worker(rank), worker, log, observer)
        )
    return log


def _local_worker(
    env,
    comm: Communicator,
    job: TrainingJob,
    period: int,
    state: WorkerState,
    worker: WorkerCompression,
    log: ReplicaStepLog,
    observer: ReplicaObserver,
):
    rank = state.rank
    average = job.initial_params.copy()  # x̄: the last average, equal on every replica
    for step in range(job.steps):
        start = env.now
        loss, grad, compute_time = job.gradient(state)
        yield env.timeout(compute_time)
        state.params = job.update(state, grad)
        local = state.params
        synced = (step + 1) % period == 0 or step == job.steps - 1
        sent_before, busy, tally = comm.bytes_sent[rank], 0.0, WireTally()
        if synced:
            change = local - average
            mean = np.empty_like(local)
            for index, unit in enumerate(worker.units):
                began = env.now
                piece = change[unit.start : unit.stop]
                mean[unit.start : unit.stop] = yield from worker.communicate(
                    comm, index, piece, tally
                )
                busy += env.now - began
            average = average + mean
            state.params = average.copy()
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
            **tally.row(),
        }
        log.worker_rows.append(row)
        observer.record(step, rank, local, row, after=state.params)
