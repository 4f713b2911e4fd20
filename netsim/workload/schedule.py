"""Pipeline schedules (GPipe, 1F1B) and their timeline without the network.

A schedule gives every stage its ordered list of operations: ``("F", i)`` (forward of
micro-batch ``i``) and ``("B", i)`` (its backward). Dependencies: ``F(i)`` on stage
``p > 0`` needs ``F(i)`` of stage ``p − 1`` (its activation), ``B(i)`` on stage
``p < pp − 1`` needs ``B(i)`` of stage ``p + 1`` (the activation's gradient); a stage runs
its operations one at a time, in order.

- ``gpipe`` (Huang et al., 2019): all forwards, then all backwards (last micro-batch first).
- ``1f1b`` (PipeDream-Flush, Narayanan et al., 2021; Megatron-LM's default): stage ``p``
  runs ``min(pp − p − 1, m)`` warm-up forwards, then alternates one forward and one
  backward, then drains the remaining backwards.

With uniform stages (forward ``f``, backward ``b`` per micro-batch) and free
communication both take ``(m + pp − 1)(f + b)``: the bubble fraction is
``(pp − 1)/(m + pp − 1)`` (:func:`bubble_fraction`); 1F1B keeps at most ``pp`` micro-batches
of activations alive instead of ``m``.

Examples
--------
>>> stage_ops("1f1b", pp=2, m=3, stage=0)
[('F', 0), ('F', 1), ('B', 0), ('F', 2), ('B', 1), ('B', 2)]
>>> t = pipeline_timeline("gpipe", 4, 8, [[1.0] * 8] * 4, [[2.0] * 8] * 4)
>>> t.makespan, (t.makespan - 8 * 3.0) / t.makespan == bubble_fraction(4, 8)
(33.0, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netsim.exceptions import SimulationError

__all__ = ["SCHEDULES", "stage_ops", "dependency", "pipeline_timeline", "Timeline", "bubble_fraction"]

SCHEDULES = {
    "1f1b": "one forward, one backward (PipeDream-Flush / Megatron-LM): at most pp micro-batches in flight",
    "gpipe": "all forwards, then all backwards (GPipe)",
}
"""Pipeline schedules by name (``parallel.schedule``)."""


def stage_ops(schedule: str, pp: int, m: int, stage: int) -> list[tuple[str, int]]:
    """The operations of ``stage`` in the order it runs them.

    Parameters
    ----------
    schedule : {"1f1b", "gpipe"}
    pp : int
        Pipeline stages.
    m : int
        Micro-batches per step.
    stage : int
        Stage index ``0 .. pp − 1``.
    """
    if schedule == "gpipe":
        return [("F", i) for i in range(m)] + [("B", i) for i in reversed(range(m))]
    if schedule != "1f1b":
        raise ValueError(f"unknown pipeline schedule {schedule!r}; accepted: {', '.join(SCHEDULES)}")
    warmup = min(pp - stage - 1, m)
    ops = [("F", i) for i in range(warmup)]
    for i in range(m - warmup):
        ops.append(("F", warmup + i))
        ops.append(("B", i))
    ops.extend(("B", i) for i in range(m - warmup, m))
    return ops


def dependency(kind: str, stage: int, pp: int) -> int | None:
    """The stage whose operation ``kind`` (same micro-batch) must finish first, or ``None``."""
    if kind == "F":
        return stage - 1 if stage > 0 else None
    return stage + 1 if stage < pp - 1 else None


@dataclass
class Timeline:
    """Start and end of every operation of a pipeline step.

    Attributes
    ----------
    start, end : dict
        ``(stage, kind, microbatch) -> seconds``.
    makespan : float
        End of the last operation, seconds.
    """

    start: dict
    end: dict
    makespan: float

    def busy(self, stage: int) -> float:
        """Seconds stage ``stage`` spends running operations."""
        return sum(e - self.start[key] for key, e in self.end.items() if key[0] == stage)


def pipeline_timeline(
    schedule: str,
    pp: int,
    m: int,
    forward: Sequence[Sequence[float]],
    backward: Sequence[Sequence[float]],
    send_forward: float = 0.0,
    send_backward: float = 0.0,
) -> Timeline:
    """Time a pipeline schedule with given operation durations (no network model).

    Parameters
    ----------
    schedule : {"1f1b", "gpipe"}
    pp, m : int
        Stages and micro-batches.
    forward, backward : sequences of shape (pp, m)
        Seconds of ``F(i)`` and ``B(i)`` on each stage.
    send_forward, send_backward : float
        Seconds between the end of an operation and the start of the one depending on
        it on the next (previous) stage: the activation (gradient) transfer.

    Returns
    -------
    Timeline
        Each operation starts as soon as its stage is free and its dependency has
        arrived.

    Raises
    ------
    SimulationError
        If the schedule deadlocks (it cannot with the bundled schedules).
    """
    ops = [stage_ops(schedule, pp, m, p) for p in range(pp)]
    start: dict = {}
    end: dict = {}
    cursor = [0] * pp
    free = [0.0] * pp
    remaining = sum(len(o) for o in ops)
    while remaining:
        progressed = False
        for p in range(pp):
            while cursor[p] < len(ops[p]):
                kind, i = ops[p][cursor[p]]
                ready = free[p]
                source = dependency(kind, p, pp)
                if source is not None:
                    done = end.get((source, kind, i))
                    if done is None:
                        break
                    ready = max(ready, done + (send_forward if kind == "F" else send_backward))
                duration = (forward if kind == "F" else backward)[p][i]
                start[(p, kind, i)] = ready
                end[(p, kind, i)] = free[p] = ready + duration
                cursor[p] += 1
                remaining -= 1
                progressed = True
        if not progressed:
            raise SimulationError(f"pipeline schedule {schedule!r} deadlocks with pp = {pp}, m = {m}")
    return Timeline(start, end, max(end.values()) if end else 0.0)


def bubble_fraction(pp: int, m: int) -> float:
    """Idle share of a uniform pipeline with free communication: ``(pp − 1)/(m + pp − 1)``."""
    return (pp - 1) / (m + pp - 1)
