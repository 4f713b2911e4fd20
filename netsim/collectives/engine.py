"""Which implementation runs a collective: SimPy generators, or a callback state machine.

Every collective is written first as SPMD SimPy generators (one per rank, tagged
mailbox messages): that code is the reference. The busiest algorithms (ring allreduce,
double binary tree) also have a *dataflow* implementation that gives bit-identical
results (simulated times, link counters, byte accounting, reduced arrays) with far less
Python work per message: each message's delivery event carries a plain callback that
reduces what arrived and issues the rank's next send, so a rank's generator is resumed
once per collective instead of once per message. It reproduces the reference's order
of ``transfer()`` calls and of every zero-delay event, which is what makes the network's
results identical (see :mod:`netsim.collectives.ring_dataflow` and
:mod:`netsim.collectives.dbt_dataflow`).

The engine is chosen once per collective call (by the first rank that enters it, so all
ranks agree):

``"auto"`` (default)
    dataflow for size-only payloads (``data=None``), generators for real arrays. Real
    arrays stay on the generators because deadlock reports
    (:func:`netsim.guards.describe_stuck`) name the mailbox message a stuck rank waits
    for, which only the generators have.
``"callbacks"``
    dataflow whenever the algorithm has one (real arrays too; the sums are computed in
    the reference's order, so they are bit-identical).
``"generators"``
    always the reference generators.

Examples
--------
>>> get_engine()
'auto'
>>> with use_engine("generators"):
...     get_engine()
'generators'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from simpy.events import Event

__all__ = ["ENGINES", "CollectiveWait", "get_engine", "set_engine", "use_engine", "prefers_dataflow", "fire_now"]

ENGINES = ("auto", "callbacks", "generators")
"""Accepted engine names (see the module notes)."""

_engine = "auto"


def get_engine() -> str:
    """The current engine name (one of :data:`ENGINES`)."""
    return _engine


def set_engine(name: str) -> None:
    """Select the engine for collective calls that start from now on.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ENGINES`.
    """
    global _engine
    if name not in ENGINES:
        raise ValueError(f"collective engine {name!r} is not accepted; accepted: {', '.join(ENGINES)}")
    _engine = name


@contextmanager
def use_engine(name: str) -> Iterator[None]:
    """Run the enclosed code with engine ``name``, then restore the previous one."""
    previous = _engine
    set_engine(name)
    try:
        yield
    finally:
        set_engine(previous)


def prefers_dataflow(data: Any) -> bool:
    """Whether a collective call whose first rank gives ``data`` runs on the dataflow engine."""
    return _engine == "callbacks" or (_engine == "auto" and data is None)


class CollectiveWait(Event):
    """What a rank's generator waits for inside a dataflow collective (its peers' messages).

    Parameters
    ----------
    env : simpy.Environment
        The environment.
    events : iterable of simpy.Event, optional
        If given, the event succeeds (scheduled with zero delay, as ``all_of`` does) once
        every one of them has been processed; otherwise the collective fires it
        (:func:`fire_now`).
    """

    def __init__(self, env, events: Iterable[Event] | None = None):
        super().__init__(env)
        self.count = 0
        if events is not None:
            check = self._check
            for event in events:
                if event.callbacks is not None:
                    self.count += 1
                    event.callbacks.append(check)
            if not self.count:
                self.succeed()

    def _check(self, _event: Event) -> None:
        self.count -= 1
        if not self.count:
            self.succeed()


def fire_now(event: Event, value: Any) -> None:
    """Trigger ``event`` with ``value`` and run its callbacks at once, as ``Environment.step`` would.

    Used where the reference resumes a rank synchronously, inside the processing of the
    delivery event that completes it: a rank's generator waiting on ``event`` continues
    now, in the same place of the event order, and no event is scheduled. If nothing
    waits yet (the rank finished while entering the collective), the event is simply
    marked processed and a later ``yield event`` continues at once.
    """
    event._ok = True
    event._value = value
    callbacks, event.callbacks = event.callbacks, None
    for callback in callbacks:
        callback(event)
