"""Read results back from disk as pandas DataFrames.

Three kinds of directory are understood:

* a **run directory** (``netsim run`` output, or ``<sweep>/runs/<id>``): it holds
  ``summary.json``, written last, so its presence means the run is complete;
* a **sweep directory** (``netsim sweep`` output): it holds ``results.csv`` (and
  ``results.parquet``), one row per run, and ``runs/<id>/``;
* a **folder of run directories** (such as ``runs/``): its complete runs.

Only complete runs are read: a run directory without ``summary.json`` is skipped (or,
given directly, refused).

Examples
--------
>>> steps = load_results("runs/quickstart")          # doctest: +SKIP
>>> table = load_results("runs/sweeps/quickstart")   # doctest: +SKIP
>>> curves = load_steps("runs/sweeps/quickstart")    # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from netsim.exceptions import NetsimError
from netsim.results import Result

__all__ = [
    "load_results",
    "load_steps",
    "load_run",
    "is_run_dir",
    "is_sweep_dir",
    "swept_keys",
    "ResultsError",
]

_SUMMARY = "summary.json"
_TABLE_CSV = "results.csv"
_TABLE_PARQUET = "results.parquet"
_SWEEP_JSON = "sweep.json"
_RUNS = "runs"


class ResultsError(NetsimError, ValueError):
    """A results path does not hold what was asked for (missing, incomplete, unknown layout)."""


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a complete run directory (holds ``summary.json``)."""
    return (Path(path) / _SUMMARY).is_file()


def is_sweep_dir(path: str | Path) -> bool:
    """Whether ``path`` is a sweep directory (holds ``results.csv``)."""
    return (Path(path) / _TABLE_CSV).is_file()


def load_results(path: str | Path) -> pd.DataFrame:
    """Load a run, a sweep or a folder of runs.

    Parameters
    ----------
    path : str or Path
        A run directory, a sweep directory, or a folder of run directories.

    Returns
    -------
    pandas.DataFrame
        * run directory: its per-step records (``steps.csv``: ``step, start_s, end_s,
          duration_s, compute_s, comm_s, ...``, seconds) with a first column ``run``
          (the directory's name); ``attrs["summary"]`` and ``attrs["scenario"]`` hold
          ``summary.json``;
        * sweep directory: the results table (``run``, the swept keys, ``repeat``,
          ``status``, ``error``, summary metrics), failed runs included (filter on
          ``status == "ok"``); read from ``results.parquet`` when pyarrow imports;
          ``attrs["keys"]`` lists the swept keys;
        * folder of runs: one row per complete run: ``run`` and its summary metrics.

    Raises
    ------
    ResultsError
        If ``path`` does not exist, is an incomplete run, or holds no results.
    """
    path = _existing(path)
    if is_run_dir(path):
        return _run_steps(path)
    if is_sweep_dir(path):
        return _sweep_table(path)
    runs = sorted(p for p in path.iterdir() if is_run_dir(p)) if path.is_dir() else []
    if runs:
        rows = [{"run": p.name, **_summary(p)["summary"]} for p in runs]
        return pd.DataFrame(rows)
    raise ResultsError(_nothing_here(path))


def load_steps(path: str | Path) -> pd.DataFrame:
    """Per-step records of every complete run of a sweep, with the swept values.

    Parameters
    ----------
    path : str or Path
        A sweep directory (or a single run directory: same as :func:`load_results`).

    Returns
    -------
    pandas.DataFrame
        Columns ``run``, the swept keys, ``repeat``, then ``steps.csv``'s (``step``,
        ``start_s``, ``end_s``, ... in seconds; ``test_loss``, ``test_accuracy``), in
        the table's run order. Failed and unfinished runs are left out.
        ``attrs["keys"]`` lists the swept keys.

    Raises
    ------
    ResultsError
        If ``path`` is neither a sweep nor a run directory.
    """
    path = _existing(path)
    if is_run_dir(path):
        return _run_steps(path)
    if not is_sweep_dir(path):
        raise ResultsError(_nothing_here(path))
    table = _sweep_table(path)
    keys = table.attrs["keys"]
    frames = []
    for _, row in table.iterrows():
        run_dir = path / _RUNS / str(row["run"])
        if row["status"] != "ok" or not is_run_dir(run_dir):
            continue
        steps = pd.read_csv(run_dir / "steps.csv")
        front = pd.DataFrame({name: [row[name]] * len(steps) for name in ["run", *keys, "repeat"]})
        frames.append(pd.concat([front, steps], axis=1))
    columns = ["run", *keys, "repeat"]
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    result.attrs["keys"] = keys
    return result


def load_run(path: str | Path) -> Result:
    """Read a complete run directory back into a :class:`~netsim.results.Result`.

    ``summary`` is ``summary.json``'s (without ``wall_time_s``, which is in
    ``run.json``); a frame whose CSV file is missing (``links.csv``, ``shards.csv``)
    is empty, and ``faults`` (``faults.csv``) is None for a run without faults.

    Raises
    ------
    ResultsError
        If ``path`` is not a complete run directory.
    """
    path = _existing(path)
    if not is_run_dir(path):
        raise ResultsError(_not_a_run(path))
    document = _summary(path)
    frames = {}
    names = [n for n in ("steps", "workers", "links", "shards", "faults") if n in Result.__dataclass_fields__]
    for name in names:
        file = path / f"{name}.csv"
        if file.is_file():
            frames[name] = pd.read_csv(file)
        elif name != "faults":  # a run without [[faults]] has no faults.csv: Result.faults is None
            frames[name] = pd.DataFrame()
    return Result(document.get("scenario", {}), document["summary"], **frames)


def swept_keys(table: pd.DataFrame) -> list[str]:
    """The swept keys of a results table or :func:`load_steps` frame.

    ``attrs["keys"]`` when present, else the columns between ``run`` and ``repeat``.
    """
    keys = table.attrs.get("keys")
    if keys is not None:
        return list(keys)
    columns = list(table.columns)
    if "run" in columns and "repeat" in columns:
        return columns[columns.index("run") + 1 : columns.index("repeat")]
    return []


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"results path {str(path)!r} does not exist")
    return path


def _summary(run_dir: Path) -> dict:
    try:
        document = json.loads((run_dir / _SUMMARY).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{str(run_dir / _SUMMARY)!r} is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("summary"), dict):
        raise ResultsError(f"{str(run_dir / _SUMMARY)!r} has no 'summary' table")
    return document


def _run_steps(run_dir: Path) -> pd.DataFrame:
    document = _summary(run_dir)
    file = run_dir / "steps.csv"
    if not file.is_file():
        raise ResultsError(f"run {str(run_dir)!r} has no steps.csv")
    steps = pd.read_csv(file)
    steps.insert(0, "run", run_dir.name)
    steps.attrs.update(summary=document["summary"], scenario=document.get("scenario", {}))
    return steps


def _sweep_table(sweep_dir: Path) -> pd.DataFrame:
    table = None
    if (sweep_dir / _TABLE_PARQUET).is_file():
        try:
            table = pd.read_parquet(sweep_dir / _TABLE_PARQUET)
        except ImportError:
            table = None
    if table is None:
        table = pd.read_csv(sweep_dir / _TABLE_CSV, keep_default_na=False, na_values=[""])
    if "error" in table.columns:
        table["error"] = table["error"].fillna("").astype(str)
    keys = None
    info = sweep_dir / _SWEEP_JSON
    if info.is_file():
        try:
            keys = json.loads(info.read_text(encoding="utf-8")).get("keys")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            keys = None
    if not isinstance(keys, list) or not all(k in table.columns for k in keys):
        keys = swept_keys(table)
    table.attrs["keys"] = keys
    return table


def _nothing_here(path: Path) -> str:
    if (path / _RUNS).is_dir() or (path / _SWEEP_JSON).is_file():
        return f"{str(path)!r} is a sweep that has not finished a run yet (no results.csv)"
    if path.is_dir() and any(p.suffix == ".csv" for p in path.iterdir()):
        return _not_a_run(path)
    return (
        f"no results in {str(path)!r}: expected a run directory (summary.json), a sweep "
        "directory (results.csv) or a folder of run directories"
    )


def _not_a_run(path: Path) -> str:
    return f"{str(path)!r} is not a complete run directory (no summary.json; the run may have been interrupted)"
