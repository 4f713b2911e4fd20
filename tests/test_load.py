"""load_results / load_steps / load_run: runs, sweeps and folders of runs, read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import netsim
from netsim.load import (
    ResultsError,
    is_run_dir,
    is_sweep_dir,
    load_results,
    load_run,
    load_steps,
    swept_keys,
)
from netsim.sweep import run_sweep

TINY = """
name = "tiny"
seed = 1

[topology]
kind = "star"
hosts = 4
bandwidth = "10Gbps"
latency = "5us"

[training]
samples = 256
features = 8
classes = 2
batch_size = 8
steps = 3

[compute]
flops_per_second = "1GFLOPS"
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def sweep(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "s"
    table = run_sweep(tiny, grid=["topology.bandwidth=1Gbps,10Gbps", "training.batch_size=8,1000"], repeat=2, out=out, jobs=1)
    return out, table


def test_run_directory_gives_its_steps(tiny, tmp_path):
    result = netsim.simulate(tiny)
    result.write(tmp_path / "run")
    steps = load_results(tmp_path / "run")
    assert list(steps.columns[:2]) == ["run", "step"]
    assert (steps["run"] == "run").all()
    pd.testing.assert_frame_equal(steps.drop(columns="run"), result.steps, check_dtype=False)
    assert steps.attrs["summary"] == result.deterministic_summary()
    assert steps.attrs["scenario"]["topology"]["hosts"] == 4
    assert is_run_dir(tmp_path / "run") and not is_sweep_dir(tmp_path / "run")


def test_load_run_round_trip(tiny, tmp_path):
    result = netsim.simulate(tiny)
    result.write(tmp_path / "run")
    back = load_run(tmp_path / "run")
    assert back.summary == result.deterministic_summary()
    assert back.scenario == result.scenario
    for name in ("steps", "workers", "links"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name), check_dtype=False)


def test_sweep_directory_gives_the_results_table(sweep):
    out, table = sweep
    loaded = load_results(out)
    pd.testing.assert_frame_equal(loaded, table)
    assert loaded.attrs["keys"] == ["topology.bandwidth", "training.batch_size"]
    assert set(loaded["status"]) == {"ok", "failed"}


def test_csv_is_read_when_there_is_no_parquet(sweep, tmp_path):
    out, table = sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "results.parquet").unlink()
    (copy / "sweep.json").unlink()
    loaded = load_results(copy)
    pd.testing.assert_frame_equal(loaded, table)
    assert swept_keys(loaded) == ["topology.bandwidth", "training.batch_size"]
    assert (loaded.loc[loaded["status"] == "ok", "error"] == "").all()


def test_load_steps_concatenates_complete_runs_with_swept_values(sweep, tmp_path):
    out, table = sweep
    steps = load_steps(out)
    ok = table[table["status"] == "ok"]
    assert list(steps.columns[:4]) == ["run", "topology.bandwidth", "training.batch_size", "repeat"]
    assert "test_loss" in steps.columns and "end_s" in steps.columns
    assert len(steps) == 3 * len(ok)
    assert list(dict.fromkeys(steps["run"])) == list(ok["run"])
    assert set(steps["training.batch_size"]) == {8}
    assert steps.attrs["keys"] == ["topology.bandwidth", "training.batch_size"]

    # an incomplete run (no summary.json) is not read
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "runs" / ok["run"].iloc[0] / "summary.json").unlink()
    assert len(load_steps(copy)) == 3 * (len(ok) - 1)


def test_folder_of_runs(tiny, tmp_path):
    for bw in ("1Gbps", "10Gbps"):
        netsim.simulate(tiny, overrides=[f"topology.bandwidth={bw}"]).write(tmp_path / "runs" / bw)
    (tmp_path / "runs" / "incomplete").mkdir()
    table = load_results(tmp_path / "runs")
    assert list(table["run"]) == ["10Gbps", "1Gbps"]
    assert "sim_time_s" in table.columns


def test_errors(tmp_path, sweep):
    with pytest.raises(ResultsError, match="does not exist"):
        load_results(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match="no results in"):
        load_results(tmp_path / "empty")
    half = tmp_path / "half"
    half.mkdir()
    (half / "steps.csv").write_text("step\n0\n")
    with pytest.raises(ResultsError, match="not a complete run directory"):
        load_results(half)
    with pytest.raises(ResultsError, match="not a complete run directory"):
        load_run(half)
    started = tmp_path / "started"
    (started / "runs").mkdir(parents=True)
    with pytest.raises(ResultsError, match="has not finished a run yet"):
        load_steps(started)
    out, _ = sweep
    with pytest.raises(ResultsError):
        load_run(out)
