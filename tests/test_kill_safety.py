"""Result safety: ``netsim run`` and ``netsim sweep`` killed (SIGKILL) at random points.

A helper script runs the real CLI in a subprocess with slowed writes (``os.fsync`` sleeps,
so every file takes a while between its temporary write and its rename) and prints
``WRITING`` when a run starts writing its directory. The test kills it with SIGKILL at
seeded delays: some before writing, most while the files are being written. Afterwards a
directory holding ``summary.json`` must be complete and consistent (every file parses,
``steps.csv`` has the summary's step count, ``workers.csv`` one row per step and
worker), and a directory without it must be refused by :func:`netsim.load_results`.
Each run directory starts with a complete *older* run of a different scenario, so a
stale ``summary.json`` next to new files would be caught. A re-run, or a resumed sweep,
then completes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from netsim.cli import main
from netsim.load import ResultsError, is_run_dir, load_results, load_run
from netsim.runner import simulate

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """
name = "victim"
seed = 7
[topology]
kind = "star"
hosts = 4
[training]
steps = {steps}
samples = 512
features = 4
classes = 3
batch_size = 8
[compute]
step_time = "1ms"
"""

HELPER = """
import os, sys, time
import netsim.results as results

_fsync = os.fsync

def slow_fsync(fd):
    time.sleep(float(os.environ["NETSIM_SLOW_FSYNC"]))
    _fsync(fd)

os.fsync = slow_fsync
_write = results.Result.write

def write(self, out_dir):
    print("WRITING", flush=True)
    return _write(self, out_dir)

results.Result.write = write
from netsim.cli import main
main(sys.argv[1:])
"""

SLOW_FSYNC = 0.04  # seconds per file: about 0.25 s to write a run directory
SEED = 20240611


def _helper(tmp_path: Path) -> Path:
    path = tmp_path / "slow_cli.py"
    path.write_text(HELPER)
    return path


def _start(helper: Path, args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "NETSIM_SLOW_FSYNC": str(SLOW_FSYNC), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(helper), *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)


def _kill_later(proc: subprocess.Popen, *, after_marker: int | None, delay: float) -> threading.Thread:
    """SIGKILL ``proc`` ``delay`` s after its ``after_marker``-th WRITING line (or after start)."""

    def watch():
        if after_marker is not None:
            seen = 0
            for line in proc.stdout:
                seen += line.strip() == "WRITING"
                if seen >= after_marker:
                    break
            else:
                return  # finished before the marker
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _finish(proc: subprocess.Popen, thread: threading.Thread) -> int:
    thread.join(timeout=60)
    if proc.stdout is not None:
        proc.stdout.read()
    return proc.wait(timeout=60)


def check_run_dir(run_dir: Path) -> bool:
    """The safety property of one run directory; returns whether it is complete."""
    for path in run_dir.iterdir():  # every visible file is whole (temporary files start with '.')
        if path.name.startswith("."):
            assert path.name.endswith(".tmp"), path
        elif path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
    if not is_run_dir(run_dir):
        with pytest.raises(ResultsError, match="not a complete run directory"):
            load_results(run_dir)
        return False
    result = load_run(run_dir)
    steps = load_results(run_dir)
    summary = result.summary
    assert len(steps) == summary["steps"] == result.scenario["training"]["steps"]
    assert len(result.workers) == summary["steps"] * summary["workers"]
    assert list(result.steps["step"]) == list(range(summary["steps"]))
    assert set(result.shards["worker"]) == set(range(summary["workers"]))
    json.loads((run_dir / "run.json").read_text())
    return True


def test_killed_runs_leave_complete_or_refused_directories(tmp_path):
    helper = _helper(tmp_path)
    older, newer = tmp_path / "older.toml", tmp_path / "newer.toml"
    older.write_text(SCENARIO.format(steps=3))
    newer.write_text(SCENARIO.format(steps=5))
    template = tmp_path / "template"
    simulate(older).write(template)
    reference = simulate(newer).deterministic_summary()

    rng = random.Random(SEED)
    cases = [(None, rng.uniform(0.0, 1.0)) for _ in range(2)]  # during start-up or simulation
    cases += [(1, rng.uniform(0.0, 6 * SLOW_FSYNC)) for _ in range(6)]  # while writing
    running = []
    for index, (marker, delay) in enumerate(cases):
        out = tmp_path / f"run{index}"
        shutil.copytree(template, out)
        proc = _start(helper, ["run", str(newer), "--out", str(out), "--quiet"])
        running.append((out, proc, _kill_later(proc, after_marker=marker, delay=delay)))

    killed = complete = 0
    for out, proc, thread in running:
        code = _finish(proc, thread)
        killed += code == -signal.SIGKILL
        complete += check_run_dir(out)
    assert killed >= 5, "the kills should mostly land before the run finished"
    assert complete < len(cases)

    for out, *_ in running:  # a re-run completes every directory
        main(["run", str(newer), "--out", str(out), "--quiet"])
        assert check_run_dir(out)
        assert json.loads((out / "summary.json").read_text())["summary"] == reference
        assert not [p for p in out.iterdir() if p.name.startswith(".") and not p.name.endswith(".tmp")]


def test_killed_sweep_resumes(tmp_path):
    helper = _helper(tmp_path)
    path = tmp_path / "sweep.toml"
    path.write_text(SCENARIO.format(steps=2))
    out = tmp_path / "sweep"
    args = ["sweep", str(path), "--grid", "training.steps=1,2,3,4", "-j", "1", "--out", str(out), "--quiet"]
    proc = _start(helper, args)
    code = _finish(proc, _kill_later(proc, after_marker=3, delay=random.Random(SEED).uniform(0, 3 * SLOW_FSYNC)))
    assert code == -signal.SIGKILL
    runs = sorted((out / "runs").iterdir())
    done = [check_run_dir(run) for run in runs]
    assert 2 <= sum(done) <= 3
    if (out / "results.csv").exists():
        pd.read_csv(out / "results.csv")

    main(args)  # resume: the complete runs are not run again
    table = load_results(out)
    assert list(table["status"]) == ["ok"] * 4
    assert sorted(table["steps"]) == [1, 2, 3, 4]
    assert all(check_run_dir(run) for run in sorted((out / "runs").iterdir()))
