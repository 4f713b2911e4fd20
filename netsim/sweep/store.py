"""The on-disk result store of a sweep: run directories and the results table.

Layout of a sweep directory::

    <out>/sweep.json          what was swept: source file, axes, repeat, run count
    <out>/results.csv         one row per finished run (see :func:`results_table`)
    <out>/results.parquet     the same table, when pyarrow is installed
    <out>/runs/<run id>/      the run's files (summary.json, steps.csv, ...; see
                              :meth:`netsim.results.Result.write`), or error.txt

A run directory holding ``summary.json`` is complete (it is written last, atomically)
and is never computed again. Every file is replaced atomically, so an interrupted
sweep leaves complete runs and a consistent (possibly shorter) table.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from netsim.results import atomic_write_text
from netsim.sweep.spec import Sweep, SweepRun
from netsim.sweep.worker import ERROR_FILE

__all__ = [
    "RUNS_DIR",
    "TABLE_CSV",
    "TABLE_PARQUET",
    "SWEEP_JSON",
    "ERROR_FILE",
    "read_summary",
    "results_table",
    "write_table",
    "write_sweep_info",
    "write_error",
    "clear_error",
]

RUNS_DIR = "runs"
TABLE_CSV = "results.csv"
TABLE_PARQUET = "results.parquet"
SWEEP_JSON = "sweep.json"


def read_summary(run_dir: str | Path) -> dict | None:
    """The summary of a complete run directory, or ``None`` if it is not complete."""
    path = Path(run_dir) / "summary.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    summary = document.get("summary") if isinstance(document, dict) else None
    return summary if isinstance(summary, dict) else None


def results_table(runs: list[SweepRun], keys: list[str], outcomes: dict[str, tuple[str, Any]]) -> pd.DataFrame:
    """Build the results table: one row per finished run, in expansion order.

    Parameters
    ----------
    runs : list of SweepRun
    keys : list of str
        The swept keys (columns after ``run``).
    outcomes : dict
        Run id -> ``("ok", summary dict)`` or ``("failed", one-line message)``; runs
        without an outcome are left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``run``, the swept keys (values as given; lists as JSON text),
        ``repeat``, ``status`` (``"ok"`` or ``"failed"``), ``error`` (empty when ok)
        and the summary metrics (seconds, bytes, ...; see :class:`netsim.results.Result`).
    """
    fixed = ["run", *keys, "repeat", "status", "error"]
    metrics: list[str] = []
    rows = []
    for run in runs:
        outcome = outcomes.get(run.run_id)
        if outcome is None:
            continue
        status, payload = outcome
        row: dict[str, Any] = {"run": run.run_id}
        row.update({k: _cell(v) for k, v in run.params.items()})
        row["status"], row["error"] = status, "" if status == "ok" else str(payload)
        if status == "ok":
            for name, value in payload.items():
                if name not in fixed:
                    if name not in metrics:
                        metrics.append(name)
                    row[name] = value
        rows.append(row)
    return pd.DataFrame(rows, columns=fixed + metrics)


def write_table(out_dir: str | Path, table: pd.DataFrame) -> None:
    """Write ``results.csv`` (and ``results.parquet`` if pyarrow imports), atomically."""
    out = Path(out_dir)
    atomic_write_text(out / TABLE_CSV, table.to_csv(index=False, float_format="%.17g"))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{TABLE_PARQUET}.", suffix=".tmp", dir=out)
    os.close(fd)
    try:
        _for_parquet(table).to_parquet(tmp, index=False)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, out / TABLE_PARQUET)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_sweep_info(out_dir: str | Path, sweep: Sweep, runs: int) -> None:
    """Write ``sweep.json``: the source file, swept keys, axes, repeat and run count."""
    info = {
        "name": sweep.name,
        "source": sweep.source,
        "keys": sweep.keys,
        "grid": {k: list(v) for k, v in sweep.grid.items()},
        "zip": {k: list(v) for k, v in sweep.zip.items()},
        "repeat": sweep.repeat,
        "runs": runs,
    }
    atomic_write_text(Path(out_dir) / SWEEP_JSON, json.dumps(info, indent=2, default=str) + "\n")


def write_error(run_dir: str | Path, message: str) -> None:
    """Record a failed run's one-line error in ``error.txt``."""
    atomic_write_text(Path(run_dir) / ERROR_FILE, message + "\n")


def clear_error(run_dir: str | Path) -> None:
    """Remove a stale ``error.txt`` after the run has succeeded."""
    (Path(run_dir) / ERROR_FILE).unlink(missing_ok=True)


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict | tuple):
        return json.dumps(value)
    return value


def _for_parquet(table: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python types (e.g. 4 and "x") become text; Arrow needs one type."""
    table = table.copy()
    for name in table.columns:
        column = table[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            kinds = {type(v) for v in column if v is not None and not (isinstance(v, float) and pd.isna(v))}
            if len(kinds) > 1:
                table[name] = column.map(lambda v: v if v is None else str(v))
    return table
