"""Run a sweep: in process, on a local process pool, or on a Dask cluster; resumable.

Every run is simulated by :func:`netsim.sweep.worker.execute`. Local workers write
their run directory themselves (atomically, ``summary.json`` last) and return the
summary; Dask workers return the :class:`~netsim.results.Result` and this process
writes it, so a cluster needs no shared filesystem. Failures come back as one line.
The results table is rewritten as runs finish (at most once a second) and at the end,
also when interrupted.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from netsim.exceptions import NetsimError
from netsim.results import Result
from netsim.sweep.spec import SweepRun, as_sweep, expand
from netsim.sweep.store import (
    RUNS_DIR,
    clear_error,
    read_summary,
    results_table,
    write_error,
    write_sweep_info,
    write_table,
)
from netsim.sweep.worker import execute, ignore_sigint, one_line

__all__ = ["run_sweep", "default_out_dir", "SweepError"]

_TABLE_INTERVAL = 1.0  # seconds between rewrites of the results table during a sweep
_DASK_CONNECT_TIMEOUT = "10s"  # how long to try reaching a Dask scheduler given by address


class SweepError(NetsimError):
    """A sweep cannot run (its output directory, or the Dask cluster, is unusable)."""


def default_out_dir(name: str) -> Path:
    """``runs/sweeps/<name>``: where a sweep writes when no ``out`` is given."""
    return Path("runs") / "sweeps" / name


def run_sweep(
    scenario,
    *,
    grid=None,
    zip=None,
    repeat: int | None = None,
    overrides=None,
    out: str | Path | None = None,
    jobs: int | None = None,
    dask=None,
    resume: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Expand, run and tabulate a sweep.

    Parameters
    ----------
    scenario : Sweep, str, Path or dict
        What to sweep (see :func:`netsim.sweep.expand`).
    grid, zip, repeat, overrides
        Axes, repeats and ``--set`` values (see :func:`netsim.sweep.load_sweep`).
    out : str or Path, optional
        Sweep directory; default ``runs/sweeps/<scenario name>``.
    jobs : int, optional
        Local worker processes; default every core. ``1`` runs in this process.
    dask : str or distributed.Client, optional
        Scheduler address (``"tcp://host:8786"``) or client: run on Dask instead.
    resume : bool, default True
        Skip runs whose directory already holds a complete ``summary.json``.
    progress : bool, default False
        Show a progress bar (done/total, failures, elapsed time, ETA) on stderr, when
        stderr is a terminal.

    Returns
    -------
    pandas.DataFrame
        The results table (see :func:`netsim.sweep.store.results_table`), one row per
        run in expansion order, also written to ``<out>/results.csv``. ``attrs`` holds
        ``keys`` (swept keys), ``out`` (the directory), ``executed`` and ``resumed``
        (run counts).

    Raises
    ------
    ScenarioError
        If an axis or an expanded scenario is invalid (nothing has run then).
    SweepError
        If the output directory cannot be created or Dask is unavailable.
    KeyboardInterrupt
        Propagated after the finished runs and the table are written.

    A run that fails does not stop the others: its row has ``status = "failed"`` and
    the error on one line, and it is tried again by the next sweep.
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a whole number >= 1, got {jobs!r}")
    sweep = as_sweep(scenario, grid=grid, zip=zip, repeat=repeat, overrides=overrides)
    runs = expand(sweep)
    out_dir = Path(out) if out is not None else default_out_dir(sweep.name)
    try:
        (out_dir / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        write_sweep_info(out_dir, sweep, len(runs))
    except OSError as exc:
        raise SweepError(f"cannot write to sweep directory {str(out_dir)!r}: {exc.strerror or exc}") from None

    unique: dict[str, SweepRun] = {}
    for run in runs:
        unique.setdefault(run.run_id, run)
    outcomes: dict[str, tuple] = {}
    if resume:
        for rid in unique:
            summary = read_summary(out_dir / RUNS_DIR / rid)
            if summary is not None:
                outcomes[rid] = ("ok", summary)
    resumed = len(outcomes)
    pending = [run for rid, run in unique.items() if rid not in outcomes]

    bar = _Bar(sweep.name, len(unique), resumed, progress)
    last_write = time.monotonic()
    try:
        with contextlib.closing(_execute_all(pending, sweep.name, out_dir / RUNS_DIR, jobs, dask)) as finished:
            for run, status, payload in finished:
                run_dir = out_dir / RUNS_DIR / run.run_id
                if status == "ok" and isinstance(payload, Result):  # from a worker without our filesystem
                    payload.write(run_dir)
                    clear_error(run_dir)
                    payload = payload.deterministic_summary()
                if status == "ok":
                    outcomes[run.run_id] = ("ok", payload)
                else:
                    write_error(run_dir, payload)
                    outcomes[run.run_id] = ("failed", payload)
                bar.advance(failed=status != "ok")
                if time.monotonic() - last_write >= _TABLE_INTERVAL:
                    write_table(out_dir, results_table(runs, sweep.keys, outcomes))
                    last_write = time.monotonic()
    finally:
        bar.stop()
        table = results_table(runs, sweep.keys, outcomes)
        write_table(out_dir, table)
    table.attrs.update(keys=sweep.keys, out=str(out_dir), executed=len(pending), resumed=resumed)
    return table


def _execute_all(pending: list[SweepRun], name: str, runs_dir: Path, jobs: int | None, dask) -> Iterator[tuple]:
    """Yield ``(run, status, payload)`` as runs finish, with the chosen executor.

    Local workers write their run directories themselves (payload: the summary);
    Dask workers return the result for this process to write.
    """
    if not pending:
        return
    if dask is not None:
        yield from _on_dask(pending, name, dask)
        return
    workers = min(jobs or os.cpu_count() or 1, len(pending))
    if workers == 1:
        for run in pending:
            yield (run, *execute(run.document, run.base_dir, name, str(runs_dir / run.run_id)))
        return
    yield from _on_pool(pending, name, runs_dir, workers)


def _on_pool(pending: list[SweepRun], name: str, runs_dir: Path, workers: int) -> Iterator[tuple]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["netsim.sweep.worker"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=ignore_sigint)
    completed = False
    try:
        futures = {pool.submit(execute, run.document, run.base_dir, name, str(runs_dir / run.run_id)): run for run in pending}
        for future in as_completed(futures):
            try:
                status, payload = future.result()
            except Exception as exc:  # the worker process died (BrokenProcessPool, ...)
                status, payload = "failed", one_line(exc)
            yield futures[future], status, payload
        completed = True
    finally:
        pool.shutdown(wait=completed, cancel_futures=True)


def _on_dask(pending: list[SweepRun], name: str, dask) -> Iterator[tuple]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise SweepError("--dask needs the 'distributed' package: pip install 'dask[distributed]'") from None
    own = not isinstance(dask, Client)
    if own:
        try:
            client = Client(dask, timeout=_DASK_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SweepError(f"cannot connect to the Dask scheduler at {dask!r}: {one_line(exc)}") from None
    else:
        client = dask
    futures = []
    try:
        futures = [client.submit(execute, run.document, run.base_dir, name, pure=False) for run in pending]
        by_key = {future.key: run for future, run in zip(futures, pending, strict=True)}
        for future in dask_completed(futures):
            try:
                status, payload = future.result()
            except Exception as exc:  # a worker died or the task could not run
                status, payload = "failed", one_line(exc)
            yield by_key[future.key], status, payload
    finally:
        client.cancel(futures)
        if own:
            client.close()


class _Bar:
    """A rich progress bar on stderr: done/total, failures, elapsed time and ETA."""

    def __init__(self, name: str, total: int, done: int, enabled: bool):
        self._progress = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        if not console.is_terminal:  # a log or a pipe gets no bar, only the results
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
        )
        label = f"sweep {name}" + (f" ({done} resumed)" if done else "")
        self._progress.start()
        self._task = self._progress.add_task(label, total=total, completed=done, failed=0)
        self._failed = 0

    def advance(self, failed: bool) -> None:
        if self._progress is not None:
            self._failed += int(failed)
            self._progress.update(self._task, advance=1, failed=self._failed)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
