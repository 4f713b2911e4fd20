"""Worker crashes in BSP training: detection, checkpoints, restart or elastic continuation.

A :class:`Supervisor` runs the BSP workers (one SimPy process each, driving
:func:`netsim.training.sync.run_bsp_step`) and reacts to crashes:

1. **Crash** (``worker_crash`` at ``time``): the worker's process stops at once and the
   flows from and to its host are cut off (their bytes sent so far count as lost). The
   others go on until they wait for it (inside the next collective).
2. **Detection**, ``detection`` seconds later (a heartbeat or collective timeout): every
   worker aborts its step; the flows still in the network are cut off; all messages of
   the aborted step are discarded (a fresh communicator is built, as NCCL's abort and
   re-initialisation do).
3. **Recovery**, after ``restart_delay`` seconds (process restart or re-rendezvous):

   * ``checkpoint``: every worker (the crashed one replaced on its host) reads the last
     committed checkpoint from the storage host over the network (all at once: they
     share the storage host's link) and training resumes from the checkpoint's step.
     The steps done since are redone (``steps_lost``) with exactly the same math —
     parameters, optimizer state and every worker's batch sampler are restored — so a
     run that crashes ends with the same parameters as one that does not. With no
     checkpoint yet, training restarts from the initial parameters (nothing to read).
   * ``elastic``: the survivors continue without the crashed worker (Horovod/TorchElastic
     style): the training set is re-sharded among them (same sharding method, seeded),
     the ring (any allreduce) is rebuilt over their hosts, and the state of the survivor
     with the most completed steps (parameters and optimizer state) is broadcast to the
     others (a binomial broadcast of its bytes) before they go on from its step. The
     global batch shrinks with the workers; averages divide by the survivors.

Checkpoints (``training.checkpoint_every = k``): after every ``k``-th step (not after
the last), rank 0 writes the parameters and optimizer state (their bytes) to the
storage host, and every worker waits until the write has arrived (synchronous
checkpointing: ``torch.save`` on rank 0 then a barrier, whose own messages are not
simulated). Each worker's batch sampler is saved at that step too. A crash before the
write has arrived loses the checkpoint.

The time from a crash to resumed training (the last worker resuming) is the crash's
``recovery_s``: ``detection + restart_delay + checkpoint read`` (or the state broadcast).
Steps whose rows were thrown away are removed from the step records (their work is
lost); ``attempt`` in the steps table counts the redone ones.

Supported: ``training.sync = "bsp"`` with an allreduce collective, without gradient
compression (a parameter server, the asynchronous schemes and compression keep state
this recovery does not restore; the scenario is refused with a clear error).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy

from netsim.collectives import Communicator, get_algorithm
from netsim.exceptions import SimulationError
from netsim.faults.records import FaultLog, FaultRecord
from netsim.training.job import TrainingJob, WorkerState
from netsim.training.sampling import BatchSampler
from netsim.training.sync import Exchange, StepLog, run_bsp_step
from netsim.units import format_time

__all__ = ["Supervisor", "Checkpoint"]


@dataclass
class Checkpoint:
    """A committed checkpoint: the state after ``step`` steps (bytes written, commit time in s)."""

    step: int
    params: np.ndarray
    optimizer: object
    samplers: dict[int, BatchSampler]
    nbytes: float
    time: float


@dataclass
class _View:
    """The workers training now (worker ids in rank order) and their communicator."""

    comm: Communicator
    workers: list[int]
    rank: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rank = {w: r for r, w in enumerate(self.workers)}


@dataclass(eq=False)
class _Plan:
    """How the job recovers from the crashes detected at one instant."""

    epoch: int
    mode: str
    view: _View
    restart_at: float
    step: int
    records: list[FaultRecord]
    checkpoint: Checkpoint | None = None
    params: np.ndarray | None = None
    optimizer: object = None
    shards: dict[int, np.ndarray] | None = None
    source: int = 0
    sync_bytes: float = 0.0
    waiting: set[int] = field(default_factory=set)
    complete: bool = False


class Supervisor:
    """Runs BSP workers that survive crashes (see the module docstring).

    Parameters
    ----------
    env : simpy.Environment
    network : Network
        The network (checkpoint traffic, cutting off flows).
    comm : Communicator
        Ranks ``0 .. workers-1`` on the workers' hosts.
    job : TrainingJob
    exchange : Exchange
        Without compression; an allreduce collective.
    log : StepLog
        Filled as :func:`~netsim.training.sync.start_bsp` would.
    records : FaultLog
        Where crash records and checkpoint counts go.
    recovery : {"checkpoint", "elastic"} or None
        How crashes are recovered (``None``: no crash is configured).
    checkpoint_every : int, optional
        Steps between checkpoints.
    storage : node, optional
        Host that stores checkpoints.
    reshard : callable, optional
        ``reshard(count) -> list of index arrays``: the training set split among
        ``count`` workers (elastic recovery).
    schedule : callable
        ``schedule(time, action)``: run ``action()`` at simulated ``time`` (detection).
    """

    def __init__(
        self,
        env: simpy.Environment,
        network,
        comm: Communicator,
        job: TrainingJob,
        exchange: Exchange,
        log: StepLog,
        records: FaultLog,
        *,
        recovery: str | None,
        checkpoint_every: int | None,
        storage,
        reshard: Callable[[int], list[np.ndarray]] | None,
        schedule: Callable[[float, Callable[[], None]], None],
    ) -> None:
        self.env, self.network, self.job, self.exchange, self.log = env, network, job, exchange, log
        self.records = records
        self.recovery = recovery
        self.every = checkpoint_every
        self.storage = storage
        self.reshard = reshard
        self.schedule = schedule
        self.view = _View(comm, list(range(job.workers)))
        self.states: dict[int, WorkerState] = {}
        self.procs: dict[int, simpy.Process] = {}
        self.status: dict[int, str] = {}
        self.progress: dict[int, int] = {}
        self.dead: dict[int, tuple[FaultRecord, float]] = {}  # crashed, not yet detected: (record, restart delay)
        self.plan: _Plan | None = None
        self.epoch = 0
        self.seen: dict[int, int] = {}  # per worker: the last plan it carried out (or skipped)
        self.attempts: dict[int, int] = {}
        self.discarded: list[dict] = []
        self.finished = env.event()
        self._plan_made = env.event()
        self._pending: dict[int, dict] = {}
        self.checkpoint: Checkpoint | None = None

    # ------------------------------------------------------------------- start
    def start(self) -> None:
        """Start one process per worker (call once, before the simulation runs)."""
        samplers = {}
        for worker in self.view.workers:
            state = self.states[worker] = self.job.new_worker(worker)
            samplers[worker] = copy.deepcopy(state.sampler)
            self.progress[worker] = 0
        first = self.states[self.view.workers[0]]
        # Step 0 needs no file: the initial state is known (restarting from scratch reads nothing).
        self.checkpoint = Checkpoint(0, first.params.copy(), copy.deepcopy(first.optimizer), samplers, 0.0, 0.0)
        for worker in self.view.workers:
            self.procs[worker] = self.env.process(self._run(worker, recovering=False))

    def steps_done(self) -> int:
        """Steps completed by every worker training now (for progress messages)."""
        return min((self.progress[w] for w in self.view.workers), default=0)

    # ------------------------------------------------------------------ workers
    def _run(self, worker: int, recovering: bool):
        """Worker process: BSP steps, checkpoints, and recovery after an interruption."""
        env, job = self.env, self.job
        state = self.states[worker]
        step = self.progress[worker]
        while True:
            try:
                if recovering:
                    resumed = yield from self._recover(worker, state)
                    recovering = False
                    if resumed is None:
                        self.status[worker] = "gone"
                        return
                    step = resumed
                if step >= job.steps:
                    self.status[worker] = "done"
                    self._check_finished()
                    return
                view = self.view
                self.status[worker] = "running"
                yield from run_bsp_step(
                    env, view.comm, job, self.exchange, state, self.log, step, rank=view.rank[worker], workers=len(view.workers)
                )
                step += 1
                self.progress[worker] = step
                if self.every and step % self.every == 0 and step < job.steps:
                    yield from self._save(worker, step, state, view)
            except simpy.Interrupt as interrupt:
                if interrupt.cause == "crash" and self.recovery == "elastic":
                    self.status[worker] = "gone"
                    return
                recovering = True

    def _recover(self, worker: int, state: WorkerState):
        """Wait for a recovery plan newer than the last one this worker carried out; carry it out."""
        env = self.env
        while self.plan is None or self.plan.epoch == self.seen.get(worker, 0):
            self.status[worker] = "waiting"
            yield self._plan_made
        plan = self.plan
        self.status[worker] = "recovering"
        if worker not in plan.view.rank:
            self.seen[worker] = plan.epoch
            return None
        if plan.restart_at > env.now:
            yield env.timeout(plan.restart_at - env.now)
        rank = plan.view.rank[worker]
        if plan.mode == "checkpoint":
            ck = plan.checkpoint
            if ck.nbytes > 0:
                yield self.network.transfer(self.storage, plan.view.comm.hosts[rank], ck.nbytes)
            state.params = ck.params.copy()
            state.optimizer = copy.deepcopy(ck.optimizer)
            state.sampler = copy.deepcopy(ck.samplers[worker])
        else:
            broadcast = get_algorithm("binomial_broadcast", "broadcast")
            yield from broadcast.run(plan.view.comm, rank, None, plan.sync_bytes, root=plan.source)
            state.params = plan.params.copy()
            state.optimizer = copy.deepcopy(plan.optimizer)
            state.sampler = BatchSampler(plan.shards[worker], self.job.batch_size, state.sampler._rng)
        self.seen[worker] = plan.epoch
        self.progress[worker] = plan.step
        self._resumed(plan, worker)
        return plan.step

    def _resumed(self, plan: _Plan, worker: int | None) -> None:
        plan.waiting.discard(worker)
        if plan.waiting or plan.complete:
            return
        plan.complete = True
        now = self.env.now
        for record in plan.records:
            record.end_s = now
            record.recovery_s = now - record.start_s

    # ------------------------------------------------------------- checkpoints
    def _save(self, worker: int, step: int, state: WorkerState, view: _View):
        """Checkpoint after ``step`` steps: rank 0 writes, every worker waits for the write."""
        pending = self._pending.get(step)
        if pending is None:
            pending = self._pending[step] = {"samplers": {}, "written": self.env.event()}
        pending["samplers"][worker] = copy.deepcopy(state.sampler)
        if view.rank[worker] == 0:
            params, optimizer = state.params.copy(), copy.deepcopy(state.optimizer)
            nbytes = float(params.nbytes + optimizer.state_bytes())
            began = self.env.now
            yield self.network.transfer(view.comm.hosts[0], self.storage, nbytes)  # an abort interrupts it
            self.records.checkpoints += 1
            self.records.checkpoint_time += self.env.now - began
            pending.update(params=params, optimizer=optimizer, nbytes=nbytes)
            pending["written"].succeed()
        else:
            yield pending["written"]
        self._commit(step)

    def _commit(self, step: int) -> None:
        pending = self._pending.get(step)
        if pending is None or not pending["written"].triggered or set(pending["samplers"]) < set(self.view.workers):
            return
        self.checkpoint = Checkpoint(
            step, pending["params"], pending["optimizer"], dict(pending["samplers"]), pending["nbytes"], self.env.now
        )
        for old in [s for s in self._pending if s <= step]:
            del self._pending[old]

    # ------------------------------------------------------------------ crashes
    def crash(self, worker: int, record: FaultRecord, detection: float, restart_delay: float) -> None:
        """``worker`` dies now; detection follows ``detection`` s later, restart ``restart_delay`` s after that."""
        status = self.status.get(worker)
        if worker not in self.view.rank or worker in self.dead or status in ("gone", "done", "waiting"):
            record.effect = False
            record.end_s = record.start_s
            record.detail = f"no effect: worker {worker} had already {'finished' if status == 'done' else 'stopped'}"
            return
        self.dead[worker] = (record, restart_delay)
        self.seen[worker] = self.plan.epoch if self.plan is not None else 0
        proc = self.procs.get(worker)
        if proc is not None and proc.is_alive:
            proc.interrupt("crash")
        host = self.view.comm.hosts[self.view.rank[worker]]
        record.bytes_lost += self._cut_off({host})
        record.detail = f"{self.recovery} recovery"
        self.schedule(self.env.now + detection, lambda: self.detect(record))

    def _cut_off(self, hosts: set) -> float:
        abort = getattr(self.network, "abort_flows", None)
        return float(abort(hosts)) if abort is not None else 0.0

    def detect(self, record: FaultRecord) -> None:
        """The crash of ``record`` is detected: abort every step and plan the recovery."""
        if record.handled:
            return  # an earlier detection already restarted the job without this worker
        env, now = self.env, self.env.now
        crashed = {worker: record for worker, (record, _) in self.dead.items()}
        delay = max(restart for _, restart in self.dead.values())
        self.dead.clear()
        for r in crashed.values():
            r.handled = True
        self.epoch += 1
        self._pending.clear()
        hosts = set(self.view.comm.hosts) | {self.storage}
        record.bytes_lost += self._cut_off(hosts)
        carried = self.plan.records if self.plan is not None and not self.plan.complete else []
        records = [*carried, *crashed.values()]
        if self.recovery == "checkpoint":
            plan = self._restart_plan(records, now + delay)
        else:
            plan = self._elastic_plan(records, now + delay, crashed)
        self.plan, self.view = plan, plan.view
        made, self._plan_made = self._plan_made, env.event()
        made.succeed()
        for worker, proc in self.procs.items():
            if not proc.is_alive:
                if worker in plan.view.rank and plan.step < self.job.steps:
                    self.procs[worker] = env.process(self._run(worker, recovering=True))  # it had finished: redo
                elif worker in plan.waiting:
                    plan.waiting.discard(worker)
            elif worker not in crashed and self.status.get(worker) in ("running", "recovering"):
                proc.interrupt("abort")  # (a crashed worker's own interrupt may still be on its way)
        if not plan.waiting:  # nobody has anything left to do
            self._resumed(plan, None)
        self._check_finished()

    def _restart_plan(self, records: list[FaultRecord], restart_at: float) -> _Plan:
        ck = self.checkpoint
        workers = self.view.workers
        reached = max(self.progress[w] for w in workers)
        lost = max(reached - ck.step, 0)
        records[-1].steps_lost += lost
        kept = [row for row in self.log.worker_rows if row["step"] < ck.step]
        thrown = [row for row in self.log.worker_rows if row["step"] >= ck.step]
        self.discarded.extend(thrown)
        self.log.worker_rows[:] = kept
        for step in {row["step"] for row in thrown}:
            self.attempts[step] = self.attempts.get(step, 0) + 1
        for step in [s for s in self.log.evals if s >= ck.step]:
            del self.log.evals[step]
        for worker in workers:
            self.progress[worker] = ck.step
        view = _View(Communicator(self.env, self.network, list(self.view.comm.hosts)), list(workers))
        for r in records:
            r.detail = f"restart from the checkpoint of step {ck.step}" + (f" ({lost} steps redone)" if lost else "")
        return _Plan(self.epoch, "checkpoint", view, restart_at, ck.step, records, checkpoint=ck, waiting=set(workers))

    def _elastic_plan(self, records: list[FaultRecord], restart_at: float, crashed: dict) -> _Plan:
        survivors = [w for w in self.view.workers if w not in crashed]
        if not survivors:
            raise SimulationError(
                f"every worker crashed by t = {format_time(self.env.now, 6)}: elastic training has nobody left "
                "to continue; use recovery = 'checkpoint' or fewer crashes"
            )
        source = max(survivors, key=lambda w: (self.progress[w], -w))
        state = self.states[source]
        step = self.progress[source]
        shards = dict(zip(survivors, self.reshard(len(survivors)), strict=True))
        hosts = [self.view.comm.hosts[self.view.rank[w]] for w in survivors]
        view = _View(Communicator(self.env, self.network, hosts), survivors)
        optimizer = copy.deepcopy(state.optimizer)
        sync_bytes = float(state.params.nbytes + optimizer.state_bytes())
        self.records.final_workers = len(survivors)
        for r in records:
            r.detail = f"elastic: {len(survivors)} workers continue from step {step}"
        return _Plan(
            self.epoch, "elastic", view, restart_at, step, records, params=state.params.copy(), optimizer=optimizer,
            shards=shards, source=view.rank[source], sync_bytes=sync_bytes, waiting=set(survivors),
        )

    def _check_finished(self) -> None:
        if self.dead or self.finished.triggered:
            return
        if all(self.status.get(w) == "done" for w in self.view.workers):
            self.finished.succeed()
