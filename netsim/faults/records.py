"""What the faults did: one record per occurrence, the summary, and the step annotations.

A :class:`FaultRecord` is one occurrence of one ``[[faults]]`` table on one target (a
scheduled link fails several times: several records). Its ``start_s``/``end_s`` span
the occurrence (a crash: from the crash to the moment training resumed; ``end_s`` is
``None`` for one still active when the run ended) and it carries what it cost:
``bytes_lost`` (in flight on a failed link, or sent by flows a crash cut off),
``bytes_resent`` (sent again by reliable transports), ``flows_moved`` (flows crossing
a failed link when it failed: re-routed or stalled), ``flows_stalled`` (flows still
waiting on it when it was repaired), ``steps_lost`` (completed steps redone after a restart from a checkpoint)
and ``recovery_s`` (crash to resumed training).

:class:`FaultLog` turns the records into the run's ``faults`` table (``faults.csv``),
the summary keys (:meth:`FaultLog.summary`) and the ``faults`` column of the per-step
records (:meth:`FaultLog.annotate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["FaultRecord", "FaultLog", "FAULT_COLUMNS"]

FAULT_COLUMNS = (
    "fault",
    "kind",
    "target",
    "start_s",
    "end_s",
    "effect",
    "bytes_lost",
    "bytes_resent",
    "flows_moved",
    "flows_stalled",
    "steps_lost",
    "recovery_s",
    "detail",
)
"""Columns of the faults table (``faults.csv``), in order."""


@dataclass(eq=False)
class FaultRecord:
    """One occurrence of fault ``faults[fault]`` (times in s, sizes in bytes)."""

    fault: int
    kind: str
    target: str
    start_s: float
    end_s: float | None = None
    effect: bool = True
    bytes_lost: float = 0.0
    bytes_resent: float = 0.0
    flows_moved: int = 0
    flows_stalled: int = 0
    steps_lost: int = 0
    recovery_s: float = 0.0
    detail: str = ""
    handled: bool = field(default=False, repr=False)

    @property
    def label(self) -> str:
        """``faults[2] link_down s0-s4``: how the record is named in messages and step rows."""
        return f"faults[{self.fault}] {self.kind} {self.target}"

    def row(self) -> dict:
        """The record as a row of the faults table (``end_s`` NaN when still active at the end)."""
        row = {name: getattr(self, name) for name in FAULT_COLUMNS}
        row["end_s"] = math.nan if self.end_s is None else self.end_s
        return row


class FaultLog:
    """The records of a run, in the order the occurrences started."""

    def __init__(self) -> None:
        self.records: list[FaultRecord] = []
        self.checkpoints = 0
        self.checkpoint_time = 0.0
        self.final_workers: int | None = None

    def add(self, record: FaultRecord) -> FaultRecord:
        """Append ``record`` and return it."""
        self.records.append(record)
        return record

    def frame(self) -> pd.DataFrame:
        """The faults table: one row per occurrence (:data:`FAULT_COLUMNS`)."""
        return pd.DataFrame([r.row() for r in self.records], columns=list(FAULT_COLUMNS))

    def summary(self, checkpointing: bool = False) -> dict:
        """Summary keys of a run with faults.

        ``faults_injected`` (occurrences that took effect; a ``link_up`` is a repair and
        does not count), ``bytes_lost``, ``bytes_resent`` (bytes), ``steps_lost``,
        ``recovery_time_s`` (time with training stopped by crashes: the union of the
        crash-to-resume intervals, s); with crashes or checkpoints also ``final_workers``,
        ``checkpoints`` and ``checkpoint_time_s`` (time the writer spent writing, s).
        """
        injected = [r for r in self.records if r.effect and r.kind != "link_up"]
        out = {
            "faults_injected": len(injected),
            "bytes_lost": float(sum(r.bytes_lost for r in self.records)),
            "bytes_resent": float(sum(r.bytes_resent for r in self.records)),
            "steps_lost": int(sum(r.steps_lost for r in self.records)),
            "recovery_time_s": _union([(r.start_s, r.start_s + r.recovery_s) for r in self.records if r.recovery_s > 0]),
        }
        if checkpointing or self.final_workers is not None:
            out["final_workers"] = self.final_workers
            out["checkpoints"] = self.checkpoints
            out["checkpoint_time_s"] = float(self.checkpoint_time)
        return out

    def annotate(self, steps: pd.DataFrame, attempts: dict[int, int] | None = None) -> pd.DataFrame:
        """``steps`` with a ``faults`` column (and ``attempt`` when steps were redone).

        Step ``k`` owns the time after the end of step ``k − 1`` up to and including its
        own end (the first step: everything up to its end); it lists, separated by ``"; "``, the label of every
        occurrence active at some moment of that time. ``attempt`` counts how many
        times the step's work was thrown away before the kept run of it.
        """
        steps = steps.copy()
        labels = [[] for _ in range(len(steps))]
        ends = steps["end_s"].to_numpy()  # increasing: steps end in order
        for record in self.records:
            a = record.start_s
            b = record.end_s if record.end_s is not None else math.inf
            first = int(np.searchsorted(ends, a, side="left"))  # first step ending at or after a
            last = min(int(np.searchsorted(ends, b, side="left")), len(ends) - 1)  # ... whose start is before b
            for i in range(first, last + 1):
                labels[i].append(record.label)
        steps["faults"] = ["; ".join(dict.fromkeys(found)) for found in labels]
        if attempts:
            steps["attempt"] = [int(attempts.get(int(step), 0)) for step in steps["step"]]
        return steps


def _union(intervals: list[tuple[float, float]]) -> float:
    """Total length of the union of ``[a, b]`` intervals."""
    total, reach = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b <= reach:
            continue
        total += b - max(a, reach)
        reach = b
    return float(total)
