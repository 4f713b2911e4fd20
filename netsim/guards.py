"""No hang, ever: run a SimPy environment under guards and name what is stuck.

:func:`run_guarded` replaces ``env.run()``. It steps the environment in batches of
:data:`CHECK_EVERY` events and, between batches, checks the wall clock
(``run.max_wall_time``) and that simulated time moves (:data:`STALL_EVENTS` events at
one instant is a zero-time loop). With ``run.max_sim_time`` it looks at the time of
the next event before every step, so the run stops before the first event past the
limit. When the event queue runs empty it checks that the run is really over: a
process still alive then can never resume (nothing is left to wake it), so the run is
deadlocked, and the error names every stuck process (its rank, host and the message or
event it waits for, see :func:`describe_stuck`). Every guard raises
:class:`~netsim.exceptions.SimulationError` with the simulated time and the step.

Processes are found without touching the drivers that start them: the runner uses a
:class:`TrackedEnvironment`, whose ``process()`` remembers each process it creates
(dead ones are dropped as the list grows). A stuck process is named from the locals of
its generator (``rank`` or ``server``) and the innermost generator it delegates to
(``yield from``); a message it waits for is found in the communicator's mailbox.

Overhead: one Python loop iteration per event, as in ``simpy.Environment.run``, plus
one ``peek()`` per event only when ``max_sim_time`` is set. ``benchmarks/bench_guards.py``
measures it against a plain ``simpy.Environment.run()``: within noise (under 1 %) on the
quickstart, with and without limits.

Examples
--------
>>> env = TrackedEnvironment()
>>> def lonely(env):
...     yield env.event()           # nobody will ever trigger this
>>> _ = env.process(lonely(env))
>>> run_guarded(env)
Traceback (most recent call last):
...
netsim.exceptions.SimulationError: deadlock at t = 0 s: no event is left, but 1 process still waits: a process (in lonely) waits for an event nobody triggers (Event)
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import simpy
from simpy.core import EmptySchedule
from simpy.events import Condition, Event, Process

from netsim.exceptions import SimulationError
from netsim.units import format_time

__all__ = [
    "TrackedEnvironment",
    "run_guarded",
    "describe_stuck",
    "steps_done",
    "CHECK_EVERY",
    "STALL_EVENTS",
]

CHECK_EVERY = 256
"""Events processed between two checks of the wall clock and of simulated-time progress."""

STALL_EVENTS = 10_000_000
"""Events processed without simulated time advancing before the run counts as stalled."""

_SHOWN = 6
"""Stuck processes named in a deadlock message (the rest are counted)."""


class TrackedEnvironment(simpy.Environment):
    """A :class:`simpy.Environment` that remembers the processes started in it.

    ``processes`` holds every process that may still be alive (finished ones are
    pruned whenever the list doubles), so a guard can name the stuck ones.
    """

    def __init__(self, initial_time: float = 0):
        super().__init__(initial_time)
        self.processes: list[Process] = []
        self._prune_at = 1024

    def process(self, generator) -> Process:  # type: ignore[override]
        """Start ``generator`` as a process (as ``simpy.Environment.process``) and remember it."""
        proc = Process(self, generator)
        self.processes.append(proc)
        if len(self.processes) >= self._prune_at:
            self.processes = [p for p in self.processes if p.is_alive]
            self._prune_at = max(1024, 2 * len(self.processes))
        return proc

    def alive(self) -> list[Process]:
        """The processes started in this environment that have not finished."""
        return [p for p in self.processes if p.is_alive]


def steps_done(worker_rows: Iterable[dict], workers: int) -> int:
    """Steps finished by every one of ``workers`` workers (rows carry a ``worker`` key)."""
    counts = Counter(row["worker"] for row in worker_rows)
    return min((counts.get(w, 0) for w in range(workers)), default=0)


def run_guarded(
    env: simpy.Environment,
    *,
    max_sim_time: float | None = None,
    max_wall_time: float | None = None,
    comm=None,
    progress: Callable[[], tuple[int, int]] | None = None,
    role: Callable[[int], str] | None = None,
    wall_start: float | None = None,
    stall_events: int = STALL_EVENTS,
) -> None:
    """Run ``env`` until no event is left, under guards; raise if the run cannot finish.

    Parameters
    ----------
    env : simpy.Environment
        Preferably a :class:`TrackedEnvironment` (else stuck processes cannot be named).
    max_sim_time : float, optional
        Simulated seconds: stop before the first event later than this.
    max_wall_time : float, optional
        Wall-clock seconds since ``wall_start`` (checked every :data:`CHECK_EVERY` events).
    comm : Communicator, optional
        The communicator of the run, to name the messages stuck ranks wait for.
    progress : callable, optional
        ``() -> (steps done, steps in total)``, quoted in error messages.
    role : callable, optional
        ``rank -> "worker 3"``; default ``"rank 3"``.
    wall_start : float, optional
        ``time.perf_counter()`` at which the run started; default: now.
    stall_events : int
        Events at one simulated instant that count as a stall (default :data:`STALL_EVENTS`).

    Raises
    ------
    SimulationError
        If a limit is reached, simulated time stops advancing, or the event queue runs
        empty while a process still waits (a deadlock) or before every step is done.
    """
    step, peek = env.step, env.peek
    sim_limit = math.inf if max_sim_time is None else float(max_sim_time)
    start = time.perf_counter() if wall_start is None else wall_start
    deadline = math.inf if max_wall_time is None else start + float(max_wall_time)
    clock = time.perf_counter
    last_now, same = env.now, 0
    try:
        while True:
            if sim_limit == math.inf:
                for _ in range(CHECK_EVERY):
                    step()
            else:
                for _ in range(CHECK_EVERY):
                    if peek() > sim_limit:
                        if peek() == math.inf:  # an empty queue (EmptySchedule), or an event at t = inf
                            step()
                            break
                        raise SimulationError(_limit_message("max_sim_time", max_sim_time, env, progress, peek()))
                    step()
            if not env.now < math.inf:
                raise SimulationError(_overflow_message(env, progress))
            if deadline != math.inf and clock() > deadline:
                raise SimulationError(_limit_message("max_wall_time", max_wall_time, env, progress))
            if env.now == last_now:
                same += CHECK_EVERY
                if same >= stall_events:
                    raise SimulationError(
                        f"simulation stalled at t = {format_time(env.now, 6)}{_at_step(progress)}: "
                        f"{same} events without simulated time advancing (a zero-time loop); "
                        "set run.max_wall_time to stop such a run sooner"
                    )
            else:
                last_now, same = env.now, 0
    except EmptySchedule:
        pass
    if not env.now < math.inf:
        raise SimulationError(_overflow_message(env, progress))
    _check_finished(env, comm, progress, role)


def _overflow_message(env, progress) -> str:
    return (
        f"simulated time became {env.now!r}{_at_step(progress)}: a duration overflowed; check extreme "
        "values (tiny bandwidths or compute rates, huge latencies, step times, slowdowns or straggler factors)"
    )


def _check_finished(env, comm, progress, role) -> None:
    alive = env.alive() if isinstance(env, TrackedEnvironment) else []
    if alive:
        raise SimulationError(describe_stuck(env, alive, comm, progress, role))
    if progress is not None:
        done, total = progress()
        if done < total:
            raise SimulationError(
                f"simulation ended at t = {format_time(env.now, 6)} after {done} of {total} steps, "
                "although no process waits (a driver stopped early)"
            )


def _at_step(progress) -> str:
    if progress is None:
        return ""
    done, total = progress()
    return f" after {done} of {total} steps"


def _limit_message(key: str, limit: float, env, progress, next_time: float | None = None) -> str:
    shown = format_time(limit, 6)
    if key == "max_sim_time":
        where = f"the next event is at t = {format_time(next_time, 6)}"
        advice = "raise run.max_sim_time, or shorten the run (training.steps)"
    else:
        where = f"simulated time {format_time(env.now, 6)}"
        advice = "raise run.max_wall_time, or make the run smaller (training.steps, topology.hosts)"
    return f"run.{key} = {shown} reached{_at_step(progress)} ({where}); {advice}"


def describe_stuck(env, alive: list[Process], comm=None, progress=None, role=None) -> str:
    """One line naming the stuck processes and what each waits for (a deadlock message)."""
    role = role or (lambda rank: f"rank {rank}")
    messages = _message_index(comm)
    waiting_on_process = {id(p.target) for p in alive if isinstance(p.target, Process)}
    # Name the processes that block (not those merely waiting for a stuck sub-process).
    leaves = [p for p in alive if not _waits_only_on_processes(p.target)] or alive
    leaves = [p for p in leaves if id(p) not in waiting_on_process] or leaves
    leaves.sort(key=lambda p: id(p.target) not in messages)  # those waiting for a message first
    lines = [_describe_process(p, messages, role) for p in leaves[:_SHOWN]]
    if len(leaves) > _SHOWN:
        lines.append(f"and {len(leaves) - _SHOWN} more")
    count = len(alive)
    text = (
        f"deadlock at t = {format_time(env.now, 6)}{_at_step(progress)}: no event is left, but "
        f"{count} process{'es' if count != 1 else ''} still wait{'s' if count == 1 else ''}: " + "; ".join(lines)
    )
    notes = []
    if comm is not None:
        waiting = {_rank_of(p) for p in alive}
        idle = [r for r in range(getattr(comm, "_top", comm).size) if r not in waiting]
        if idle:
            shown = ", ".join(role(r) for r in idle[:_SHOWN]) + (f" and {len(idle) - _SHOWN} more" if len(idle) > _SHOWN else "")
            notes.append(f"not waiting (finished or never started): {shown}")
    unread = _unread_messages(comm)
    if unread:
        notes.append(f"{unread} message{'s' if unread != 1 else ''} delivered but never received")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _waits_only_on_processes(target) -> bool:
    if isinstance(target, Process):
        return True
    if isinstance(target, Condition):
        pending = [e for e in target._events if not e.triggered]
        return bool(pending) and all(isinstance(e, Process) for e in pending)
    return False


def _generators(proc: Process) -> list:
    """The generator of ``proc`` and those it delegates to (``yield from``), outermost first."""
    chain, gen = [], getattr(proc, "_generator", None)
    while gen is not None and hasattr(gen, "gi_frame"):
        chain.append(gen)
        gen = getattr(gen, "gi_yieldfrom", None)
    return chain


def _rank_of(proc: Process) -> int | None:
    for gen in _generators(proc):
        frame = gen.gi_frame
        if frame is None:
            continue
        for name in ("rank", "server"):
            value = frame.f_locals.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def _describe_process(proc: Process, messages: dict, role) -> str:
    rank = _rank_of(proc)
    who = role(rank) if rank is not None else "a process"
    chain = _generators(proc)
    inner = f" (in {chain[-1].__name__})" if chain else ""
    return f"{who}{inner} waits for {_describe_event(proc.target, messages, role)}"


def _describe_event(event: Any, messages: dict, role, depth: int = 0) -> str:
    key = messages.get(id(event))
    if key is not None:
        src, tag = _message_source(key)
        return f"a message from {role(src)} (tag {_short(tag)})"
    if isinstance(event, Process):
        rank = _rank_of(event)
        chain = _generators(event)
        name = chain[-1].__name__ if chain else event.name
        owner = f" of {role(rank)}" if rank is not None else ""
        if depth < 2 and event.target is not None:
            return f"process {name}{owner}, which waits for {_describe_event(event.target, messages, role, depth + 1)}"
        return f"process {name}{owner}"
    if isinstance(event, Condition):
        pending = [e for e in event._events if not e.triggered]
        kind = "all" if getattr(event, "_evaluate", None) is Condition.all_events else "any"
        if not pending:
            return f"{kind} of {len(event._events)} events"
        first = _describe_event(pending[0], messages, role, depth + 1)
        more = f" and {len(pending) - 1} more" if len(pending) > 1 else ""
        return f"{kind} of {len(event._events)} events, pending: {first}{more}"
    if isinstance(event, Event):
        return f"an event nobody triggers ({type(event).__name__})"
    return f"{event!r}"


def _message_index(comm) -> dict[int, tuple]:
    """``id(event) -> mailbox key`` for every unmatched mailbox slot of ``comm``'s tree."""
    if comm is None:
        return {}
    top = getattr(comm, "_top", comm)
    mailbox = getattr(top, "_mailbox", None) or {}
    return {id(event): key for key, event in mailbox.items()}


def _message_source(key: tuple) -> tuple[int, Hashable]:
    """Top-level source rank and tag of a mailbox key ``([gid,] src, dst, tag)`` (gid: a ``GroupId``)."""
    if len(key) == 4 and hasattr(key[0], "path"):  # a subgroup's message (GroupId)
        gid, src, _dst, tag = key
        for members in reversed(gid.path):  # a subgroup's rank i is rank members[i] of its parent
            src = members[src]
        return src, tag
    src, _dst, tag = key
    return src, tag


def _unread_messages(comm) -> int:
    if comm is None:
        return 0
    top = getattr(comm, "_top", comm)
    mailbox = getattr(top, "_mailbox", None) or {}
    return sum(1 for event in mailbox.values() if event.triggered)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
