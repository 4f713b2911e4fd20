"""Put a scenario's ``[[faults]]`` into a running simulation.

:func:`build_faults` checks the faults against the topology and the job (links and
switches exist, workers are in range: a :class:`~netsim.exceptions.ScenarioError`
naming ``faults[i].key`` otherwise) and returns a :class:`FaultInjector`. The runner
then lets it start the training (:meth:`FaultInjector.start_training`: the BSP workers
run under a :class:`~netsim.faults.workers.Supervisor` when crashes or checkpoints are
configured) and arms it (:meth:`FaultInjector.arm`).

The injector keeps its own queue of timed actions (fault occurrences, their ends,
crash detections) and a single pending SimPy event for the earliest, not a process, so
it never counts as a stuck process. When training ends it removes that event from the
environment's queue: a fault scheduled after the end neither happens nor stretches the
run. Random schedules draw their next occurrence only when the previous one ends. When
nothing but fault actions is left to happen and none of them can wake the job (no link
is down, no crash awaits detection), the job is deadlocked: the injector stops, and the
guards (:func:`netsim.guards.run_guarded`) report the stuck processes instead of a
schedule running forever.

Randomness: each ``[[faults]]`` table gets its own child of the run's ``faults`` seed
stream, and each link of a table with ``links`` its own child of that (one schedule
per link); elastic re-sharding draws from one more child.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from heapq import heapify, heappop, heappush

import networkx as nx
import numpy as np
import simpy
from simpy.core import NORMAL
from simpy.events import Event

from netsim.exceptions import ScenarioError
from netsim.faults.links import LinkFaults, Reason, find_edge, supports_network_faults
from netsim.faults.records import FaultLog, FaultRecord
from netsim.faults.schedule import Windows
from netsim.faults.spec import NETWORK_FAULT_KINDS
from netsim.faults.stragglers import StragglerClock
from netsim.faults.workers import Supervisor

__all__ = ["FaultInjector", "build_faults"]


class FaultInjector:
    """Timed fault actions in one simulation (see the module docstring).

    Attributes
    ----------
    log : FaultLog
        The records of every occurrence so far.
    links : LinkFaults or None
        Link state, when the scenario has network faults.
    supervisor : Supervisor or None
        The BSP workers' supervisor, when crashes or checkpoints are configured.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.log = FaultLog()
        self.links: LinkFaults | None = None
        self.supervisor: Supervisor | None = None
        self.stragglers: StragglerClock | None = None
        self._actions: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake: Event | None = None
        self._wake_at = math.inf
        self._starts: list[tuple[float, Callable[[], None]]] = []
        self._firing = False
        self.over = False
        inline = type(env).schedule is simpy.Environment.schedule
        self._queue = env._queue if inline else None

    # ---------------------------------------------------------------- timeline
    def at(self, time: float, action: Callable[[], None]) -> None:
        """Run ``action()`` at simulated ``time`` (s; now if already past); ignored once over."""
        if self.over:
            return
        time = max(float(time), self.env.now)
        heappush(self._actions, (time, next(self._order), action))
        if time < self._wake_at and not self._firing:  # (while firing, _fire arms once at the end)
            self._arm(time)

    def _arm(self, time: float) -> None:
        if self._wake is not None:
            self._cancel(self._wake)
        env = self.env
        event = Event(env)
        event._ok = True
        event._value = None
        event.callbacks.append(self._fire)
        self._wake, self._wake_at = event, time
        if self._queue is not None:  # exactly at `time` (no now + (time - now) rounding)
            heappush(self._queue, (time, NORMAL, next(env._eid), event))
        else:
            env.schedule(event, NORMAL, time - env.now)

    def _cancel(self, event: Event) -> None:
        """Remove a scheduled, unprocessed ``event`` from the environment's queue."""
        queue = self.env._queue
        for index, item in enumerate(queue):
            if item[3] is event:
                queue[index] = queue[-1]
                queue.pop()
                heapify(queue)
                return

    def _fire(self, event: Event) -> None:
        if event is not self._wake:
            return
        self._wake, self._wake_at = None, math.inf
        now = self.env.now
        self._firing = True
        try:
            while self._actions and self._actions[0][0] <= now and not self.over:
                _, _, action = heappop(self._actions)
                action()
        finally:
            self._firing = False
        if self._actions and not self.over:
            if self.env.peek() == math.inf and not self._may_unblock():
                # Nothing but faults is left to happen, and no pending repair or crash
                # detection can wake the job: stop, so the guards report who is stuck
                # instead of a random schedule running forever.
                self._actions.clear()
                return
            self._arm(self._actions[0][0])

    def _may_unblock(self) -> bool:
        """Whether a pending action can let a stuck job go on (a repair, a crash detection)."""
        if self.links is not None and self.links.down_edges():
            return True
        return self.supervisor is not None and bool(self.supervisor.dead)

    # ------------------------------------------------------------------- start
    def start_training(self, start: Callable[[], object]):
        """Start the job's processes: under the supervisor if there is one, else with ``start()``.

        Returns the job's step log.
        """
        if self.supervisor is not None:
            self.supervisor.start()
            return self.supervisor.log
        return start()

    def arm(self, training: list[simpy.Process]) -> None:
        """Schedule the first occurrences; stop everything when ``training`` has finished.

        ``training`` are the job's processes (ignored with a supervisor, which says itself
        when training is over).
        """
        done = self.supervisor.finished if self.supervisor is not None else self.env.all_of(training)
        done.callbacks.append(self._finish)
        for time, action in self._starts:
            self.at(time, action)

    def _finish(self, _event=None) -> None:
        """Training is over: drop pending actions, close accounting, end open records."""
        if self.over:
            return
        self.over = True
        if self._wake is not None:
            self._cancel(self._wake)
            self._wake, self._wake_at = None, math.inf
        self._actions.clear()
        if self.links is not None:
            self.links.finish()

    def progress(self, fallback: Callable[[], tuple[int, int]]) -> Callable[[], tuple[int, int]]:
        """The run's ``() -> (steps done, steps)`` for the guards' messages."""
        if self.supervisor is None:
            return fallback
        steps = self.supervisor.job.steps
        return lambda: (self.supervisor.steps_done(), steps)

    def annotate(self, steps):
        """``steps`` with the ``faults`` (and ``attempt``) columns (:meth:`FaultLog.annotate`)."""
        attempts = self.supervisor.attempts if self.supervisor is not None else None
        return self.log.annotate(steps, attempts)

    def summary(self) -> dict:
        """Summary keys (:meth:`FaultLog.summary`)."""
        return self.log.summary(checkpointing=self.supervisor is not None)

    # ----------------------------------------------------------- occurrences
    def add_windows(self, windows: Windows, begin: Callable[[tuple[float, float]], Callable[[], None] | None]) -> None:
        """Run ``begin(window)`` at the start of each window; the callable it returns at its end."""

        def start(index: int) -> None:
            window = windows.window(index)
            if window is None:
                return
            self.at(window[0], lambda: occur(index, window))

        def occur(index: int, window: tuple[float, float]) -> None:
            finish = begin(window)
            if window[1] == math.inf:
                return

            def end() -> None:
                if finish is not None:
                    finish()
                start(index + 1)

            self.at(window[1], end)

        first = windows.window(0)
        if first is not None:
            self._starts.append((first[0], lambda: occur(0, first)))


def build_faults(scenario, env, network, graph: nx.Graph, comm, job, exchange, streams_faults: np.random.SeedSequence) -> FaultInjector:
    """Check ``scenario.faults`` against the built run and prepare a :class:`FaultInjector`.

    Parameters
    ----------
    scenario : Scenario
    env, network, graph, comm, job, exchange
        The run being built (``comm`` ranks ``0 .. workers-1`` are the workers).
    streams_faults : numpy.random.SeedSequence
        The run's ``faults`` seed stream.

    Raises
    ------
    ScenarioError
        A link, switch, worker or storage host that the topology or job does not have.
    """
    injector = FaultInjector(env)
    faults = list(scenario.faults)
    children = streams_faults.spawn(len(faults) + 1)
    network_kinds = [i for i, f in enumerate(faults) if f.kind in NETWORK_FAULT_KINDS]
    if network_kinds and not supports_network_faults(type(network)):
        i = network_kinds[0]
        raise ScenarioError(
            f"faults[{i}]: kind {faults[i].kind!r} needs a network model with link state; "
            f"network.model = {scenario.network.model!r} has none (use 'flow')"
        )
    if network_kinds:
        injector.links = LinkFaults(network, lambda: env.now)
    crashes = [f for f in faults if f.kind == "worker_crash"]
    if crashes or scenario.training.checkpoint_every is not None:
        injector.supervisor = _supervisor(scenario, env, network, graph, comm, job, exchange, injector, children[-1])
    stragglers: dict[int, list] = {}
    for i, (fault, seeds) in enumerate(zip(faults, children, strict=False)):
        where = f"faults[{i}]"
        if hasattr(fault, "worker") and not 0 <= fault.worker < job.workers:
            raise ScenarioError(f"{where}.worker: {fault.worker} is not a worker (the job has {job.workers}: 0 to {job.workers - 1})")
        if fault.kind == "worker_crash":
            _add_crash(injector, i, fault)
        elif fault.kind == "straggler":
            windows = _windows(fault, seeds)
            stragglers.setdefault(fault.worker, []).append((windows, fault.factor))
            _add_straggler_records(injector, i, fault, windows)
        elif fault.kind == "link_up":
            edges = _edges(graph, fault, where)
            _add_link_up(injector, i, fault, edges)
        elif fault.kind == "switch_down":
            edges = _switch_edges(graph, fault.switch, f"{where}.switch")
            _add_down(injector, i, fault, edges, fault.switch, seeds, faults)
        else:
            edges = _edges(graph, fault, where)
            if fault.kind == "link_down":
                for k, edge in enumerate(edges):
                    _add_down(injector, i, fault, [edge], f"{edge[0]}-{edge[1]}", _child(seeds, k, len(edges)), faults)
            else:
                for k, edge in enumerate(edges):
                    _add_change(injector, i, fault, edge, _child(seeds, k, len(edges)))
    if stragglers:
        injector.stragglers = StragglerClock(stragglers, lambda: env.now)
        job.stretch = injector.stragglers.stretch
    return injector


def _child(seeds: np.random.SeedSequence, index: int, count: int) -> np.random.SeedSequence:
    """The seeds of link ``index`` of a table naming ``count`` links (one schedule each)."""
    return seeds if count == 1 else seeds.spawn(count)[index]


def _windows(fault, seeds: np.random.SeedSequence) -> Windows:
    if fault.random:
        return Windows(fault.start, fault.stop, mtbf=fault.mtbf, mttr=fault.mttr, rng=np.random.default_rng(seeds))
    return Windows(fault.start, fault.stop)


def _edges(graph: nx.Graph, fault, where: str) -> list[tuple]:
    if fault.link is not None:
        return [find_edge(graph, *fault.link, f"{where}.link")]
    return [find_edge(graph, *pair, f"{where}.links[{k}]") for k, pair in enumerate(fault.links)]


def _switch_edges(graph: nx.Graph, switch: str, where: str) -> list[tuple]:
    switches = [n for n, kind in graph.nodes(data="kind") if kind == "switch"]
    if switch not in graph or graph.nodes[switch].get("kind") != "switch":
        import difflib

        close = difflib.get_close_matches(str(switch), [str(s) for s in switches], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        what = "a host" if switch in graph else "not in the topology"
        listed = ", ".join(str(s) for s in switches[:12]) or "none"
        raise ScenarioError(f"{where}: {switch!r} is {what}{hint}; switches: {listed}")
    return [(switch, other) for other in graph.adj[switch]]


def _revived(faults: list, edge: tuple, time: float) -> bool:
    """Whether a ``link_up`` at or after ``time`` names ``edge``."""
    pair = {edge[0], edge[1]}
    for fault in faults:
        if fault.kind == "link_up" and fault.time >= time and any(set(e) == pair for e in fault.edges()):
            return True
    return False


def _add_down(injector: FaultInjector, i: int, fault, edges: list[tuple], target: str, seeds, faults: list) -> None:
    links = injector.links

    def begin(window):
        now = injector.env.now
        record = injector.log.add(FaultRecord(i, fault.kind, target, now, None if window[1] == math.inf else window[1]))
        reasons = []
        for edge in edges:
            state = links.edge(*edge)
            open_ended = window[1] == math.inf
            reason = Reason("down", record, permanent=open_ended and not _revived(faults, edge, now), open_ended=open_ended)
            reasons.append((state, reason))
            links.charge(links.add(state, reason), record)
        record.detail = _outage_detail(record)

        def end():
            for state, reason in reasons:
                links.charge(links.remove(state, reason), record, state)
            record.detail = _outage_detail(record)

        return end

    injector.add_windows(_windows(fault, seeds), begin)


def _outage_detail(record: FaultRecord) -> str:
    text = f"{_flows(record.flows_moved)} crossing it re-routed or stalled"
    if record.bytes_lost:
        text += f" ({record.bytes_lost:.6g} B in flight lost and resent)"
    if record.end_s is not None:
        text += f"; {_flows(record.flows_stalled)} waited for the repair"
    return text


def _flows(count: int) -> str:
    return f"{count} flow{'' if count == 1 else 's'}"


def _add_change(injector: FaultInjector, i: int, fault, edge: tuple, seeds) -> None:
    links = injector.links
    target = f"{edge[0]}-{edge[1]}"

    def begin(window):
        record = injector.log.add(FaultRecord(i, fault.kind, target, injector.env.now, None if window[1] == math.inf else window[1]))
        if fault.kind == "loss_rate":
            reason = Reason("loss", record, rate=fault.rate)
            record.detail = f"loss rate {fault.rate:g}"
        else:
            reason = Reason(
                "degrade",
                record,
                bandwidth=fault.bandwidth,
                bandwidth_factor=fault.bandwidth_factor if fault.bandwidth_factor is not None else 1.0,
                latency=fault.latency,
                latency_factor=fault.latency_factor if fault.latency_factor is not None else 1.0,
            )
            record.detail = _degrade_detail(fault)
        state = links.edge(*edge)
        links.add(state, reason)
        return lambda: links.remove(state, reason)

    injector.add_windows(_windows(fault, seeds), begin)


def _degrade_detail(fault) -> str:
    parts = []
    if fault.bandwidth is not None:
        parts.append(f"bandwidth {fault.bandwidth:.6g} B/s")
    if fault.bandwidth_factor is not None:
        parts.append(f"bandwidth x{fault.bandwidth_factor:g}")
    if fault.latency is not None:
        parts.append(f"latency {fault.latency:.6g} s")
    if fault.latency_factor is not None:
        parts.append(f"latency x{fault.latency_factor:g}")
    return ", ".join(parts)


def _add_link_up(injector: FaultInjector, i: int, fault, edges: list[tuple]) -> None:
    links = injector.links

    def run():
        now = injector.env.now
        record = injector.log.add(FaultRecord(i, "link_up", fault.target(), now, now))
        lifted = []
        for edge in edges:
            state = links.edge(*edge)
            for reason in links.lift_open_downs(state):
                lifted.append(reason)
                if reason.record is not None and reason.record.end_s is None:
                    reason.record.end_s = now
                    reason.record.detail = _outage_detail(reason.record)
        record.effect = bool(lifted)
        record.detail = f"ends {len(lifted)} outage(s)" if lifted else "no effect: the link was not down"

    injector._starts.append((fault.time, run))


def _add_crash(injector: FaultInjector, i: int, fault) -> None:
    def run():
        record = injector.log.add(FaultRecord(i, "worker_crash", f"worker {fault.worker}", injector.env.now))
        injector.supervisor.crash(fault.worker, record, fault.detection, fault.restart_delay)

    injector._starts.append((fault.time, run))


def _add_straggler_records(injector: FaultInjector, i: int, fault, windows: Windows) -> None:
    def begin(window):
        end = None if window[1] == math.inf else window[1]
        record = FaultRecord(i, "straggler", f"worker {fault.worker}", injector.env.now, end, detail=f"compute x{fault.factor:g}")
        injector.log.add(record)
        return None

    injector.add_windows(windows, begin)


def _supervisor(scenario, env, network, graph, comm, job, exchange, injector: FaultInjector, seeds) -> Supervisor:
    from netsim.training import shard

    training = scenario.training
    hosts = list(graph.graph["hosts"])
    storage = training.checkpoint_host
    if storage is None:
        free = [h for h in hosts if h not in comm.hosts]
        storage = free[-1] if free else hosts[-1]
    elif storage not in hosts:
        import difflib

        close = difflib.get_close_matches(str(storage), [str(h) for h in hosts], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(f"training.checkpoint_host: {storage!r} is not a host of the topology{hint}")
    recovery = next((f.recovery for f in scenario.faults if f.kind == "worker_crash"), None)
    labels = job.dataset.y_train if job.dataset.task == "classification" else None
    alpha = {"alpha": training.dirichlet_alpha} if training.dirichlet_alpha is not None else {}
    rng = np.random.default_rng(seeds)

    def reshard(count: int):
        return shard(len(job.dataset.y_train), count, training.sharding, rng, labels=labels, **alpha)

    injector.log.final_workers = job.workers
    return Supervisor(
        env,
        network,
        comm,
        job,
        exchange,
        _new_log(),
        injector.log,
        recovery=recovery,
        checkpoint_every=training.checkpoint_every,
        storage=storage,
        reshard=reshard,
        schedule=injector.at,
    )


def _new_log():
    from netsim.training.sync import StepLog

    return StepLog()
