"""Results of a simulation: summary metrics, per-step records, link statistics, files.

A run directory holds ``summary.json`` (deterministic: same scenario ⇒ same bytes),
``steps.csv`` (one row per step), ``workers.csv`` (one row per step and worker),
``links.csv`` (one row per directed link), ``shards.csv`` (label histogram per worker),
``faults.csv`` (one row per fault occurrence, with ``[[faults]]``) and ``run.json`` (wall time and versions, which
naturally differ between runs). Every file is written atomically (temporary file in the
same directory, then rename), and ``summary.json`` is written last, so a directory with a
``summary.json`` is complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Result", "atomic_write_text", "NONDETERMINISTIC_KEYS"]

NONDETERMINISTIC_KEYS = ("wall_time_s",)
"""Summary keys that measure the host, not the simulation (kept out of ``summary.json``)."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Result:
    """Outcome of :func:`netsim.simulate`.

    Attributes
    ----------
    scenario : dict
        The resolved scenario (quantities in SI base units).
    summary : dict
        Headline metrics: ``sim_time_s``, ``steps``, ``mean_step_time_s``,
        ``mean_compute_time_s``, ``mean_comm_time_s`` (seconds), ``bytes_sent``,
        ``model_bytes`` (bytes), ``final_loss``, ``final_accuracy``, ``seed``,
        ``wall_time_s`` and descriptive keys (topology, algorithm, hosts, workers...).
    steps : pandas.DataFrame
        One row per step: ``step, start_s, end_s, duration_s, compute_s, comm_s,
        train_loss, test_loss, test_accuracy, bytes_sent``.
    workers : pandas.DataFrame
        One row per (step, worker): ``step, worker, start_s, compute_s, comm_s, end_s,
        train_loss, bytes_sent``.
    links : pandas.DataFrame
        One row per directed link: ``src, dst, bandwidth, latency, bytes, busy_time,
        flows, utilisation`` (bytes/s, s, bytes, s, count, fraction of the run).
    shards : pandas.DataFrame
        Label histogram of each worker's training shard (``worker, class_0, class_1,
        ...``; empty for regression).
    flows : pandas.DataFrame or None
        With ``simulate(..., record=True)``: one row per flow (``id, src, dst, bytes,
        start_s, end_s, links``; ``end_s`` = last byte sent).
    link_timeline : pandas.DataFrame or None
        With ``record=True``: ``time_s, link, rate`` each time a directed link's total
        rate (bytes/s) changes; ``link`` indexes the rows of :attr:`links`.
    faults : pandas.DataFrame or None
        With ``[[faults]]``: one row per fault occurrence (:data:`netsim.faults.FAULT_COLUMNS`:
        ``fault, kind, target, start_s, end_s, ...``), written to ``faults.csv``.
    final_params : numpy.ndarray or None
        The trained parameters (shape ``(num_params,)``) where the scheme records them
        (BSP: rank 0's replica after the last step); not written to files.
    """

    scenario: dict
    summary: dict
    steps: pd.DataFrame
    workers: pd.DataFrame
    links: pd.DataFrame
    shards: pd.DataFrame = field(default_factory=pd.DataFrame)
    flows: pd.DataFrame | None = None
    link_timeline: pd.DataFrame | None = None
    faults: pd.DataFrame | None = None
    final_params: object = None

    def deterministic_summary(self) -> dict:
        """The summary without host-dependent keys (what ``summary.json`` holds)."""
        return {k: v for k, v in self.summary.items() if k not in NONDETERMINISTIC_KEYS}

    def write(self, out_dir: str | Path) -> Path:
        """Write the run's files into ``out_dir`` (created if needed) and return it."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        # Invalidate first: a run killed while rewriting this directory must not leave the
        # previous run's summary.json next to some of the new files (nor its shards.csv).
        (out / "summary.json").unlink(missing_ok=True)
        if not len(self.shards):
            (out / "shards.csv").unlink(missing_ok=True)
        if self.faults is None or not len(self.faults):
            (out / "faults.csv").unlink(missing_ok=True)
        atomic_write_text(out / "steps.csv", self.steps.to_csv(index=False, float_format="%.17g"))
        atomic_write_text(out / "workers.csv", self.workers.to_csv(index=False, float_format="%.17g"))
        atomic_write_text(out / "links.csv", self.links.to_csv(index=False, float_format="%.17g"))
        if len(self.shards):
            atomic_write_text(out / "shards.csv", self.shards.to_csv(index=False))
        if self.faults is not None and len(self.faults):
            atomic_write_text(out / "faults.csv", self.faults.to_csv(index=False, float_format="%.17g"))
        info = {k: self.summary[k] for k in NONDETERMINISTIC_KEYS if k in self.summary}
        info["netsim_version"] = self.summary.get("netsim_version")
        atomic_write_text(out / "run.json", json.dumps(info, indent=2) + "\n")
        document = {"summary": self.deterministic_summary(), "scenario": self.scenario}
        atomic_write_text(out / "summary.json", json.dumps(document, indent=2, sort_keys=False) + "\n")
        return out
