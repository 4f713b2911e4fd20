"""Every fault shows in the step records, the faults table, the trace and the plot; the summary counts them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from netsim.load import load_run
from netsim.plots import plot
from netsim.runner import simulate
from netsim.scenario import scenario_from_dict
from netsim.trace import build_trace, validate_trace
from tests.faults.helpers import training

FAULTS = [
    {"kind": "link_down", "link": ["s0", "h1"], "time": "300us", "duration": "200us"},
    {"kind": "link_degrade", "link": ["s0", "h2"], "time": "800us", "duration": "300us", "bandwidth_factor": 0.1},
    {"kind": "loss_rate", "link": ["s0", "h3"], "time": "1.3ms", "duration": "300us", "rate": 0.05},
    {"kind": "straggler", "worker": 0, "time": "1.7ms", "duration": "200us", "factor": 3},
    {"kind": "worker_crash", "worker": 3, "time": "2.05ms", "detection": "100us", "restart_delay": "100us", "recovery": "checkpoint"},
    {"kind": "link_down", "link": ["s0", "h2"], "time": "2.7ms"},
    {"kind": "link_up", "link": ["s0", "h2"], "time": "2.9ms"},
]


@pytest.fixture(scope="module")
def result():
    return simulate(scenario_from_dict(training(training__steps=30, training__checkpoint_every=4, faults=FAULTS)))


def test_every_fault_has_a_record(result):
    faults = result.faults
    assert faults["fault"].tolist() == list(range(len(FAULTS)))
    assert faults["kind"].tolist() == [f["kind"] for f in FAULTS]
    assert faults["effect"].all()
    assert math.isclose(faults["end_s"][0], 500e-6) and math.isclose(faults["end_s"][5], 2.9e-3)
    assert faults["bytes_resent"][2] > 0 and faults["recovery_s"][4] > 200e-6
    assert (faults["end_s"] >= faults["start_s"]).all()


def test_every_fault_appears_in_the_step_records(result):
    named = "; ".join(result.steps["faults"])
    for i, fault in enumerate(FAULTS):
        assert f"faults[{i}] {fault['kind']}" in named
    # a step lists the faults active while it ran
    steps = result.steps
    row = steps[steps["faults"].str.contains("faults[0]", regex=False)].iloc[0]
    assert row["start_s"] <= 300e-6 + 1e-12 and row["end_s"] >= 300e-6


def test_summary_counts_what_the_faults_cost(result):
    s = result.summary
    assert s["faults_injected"] == len(FAULTS) - 1  # link_up is a repair
    assert s["bytes_resent"] == pytest.approx(result.faults["bytes_resent"].sum())
    assert s["bytes_lost"] == pytest.approx(result.faults["bytes_lost"].sum())
    assert s["steps_lost"] == result.faults["steps_lost"].sum() >= 1
    assert s["recovery_time_s"] == pytest.approx(result.faults["recovery_s"][4], rel=1e-12)
    assert s["steps"] == 30 and s["final_workers"] == 4


def test_every_fault_appears_in_the_trace(result):
    document = build_trace(result)
    validate_trace(document)
    spans = [e for e in document["traceEvents"] if e.get("cat") == "fault"]
    assert len(spans) == len(FAULTS)
    assert sorted(e["args"]["fault"] for e in spans) == sorted(f"faults[{i}]" for i in range(len(FAULTS)))
    crash = next(e for e in spans if e["name"] == "worker_crash")
    assert crash["dur"] == pytest.approx(result.faults["recovery_s"][4] * 1e6)


def test_files_and_plot_markers(result, tmp_path):
    out = result.write(tmp_path / "run")
    table = pd.read_csv(out / "faults.csv")
    assert table["kind"].tolist() == [f["kind"] for f in FAULTS]
    assert "faults" in pd.read_csv(out / "steps.csv").columns
    figure = plot(out, "convergence")
    legend = figure.legends[-1]
    assert legend.get_title().get_text() == "faults"
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["link down", "link degraded", "packet loss", "straggler", "worker crash", "recovering"]
    assert load_run(out).faults["kind"].tolist() == table["kind"].tolist()
    # rewriting the directory with a run without faults removes the stale table
    clean = simulate(scenario_from_dict(training(training__steps=2)))
    clean.write(out)
    assert not (out / "faults.csv").exists()
    assert load_run(out).faults is None


def test_random_schedules_are_deterministic_per_seed():
    flaky = [{"kind": "link_down", "link": ["s0", "h1"], "mtbf": "400us", "mttr": "50us"}]

    def records(seed):
        r = simulate(scenario_from_dict(training(seed=seed, training__steps=15, faults=flaky)))
        return r.faults[["start_s", "end_s", "bytes_lost"]].to_dict("list"), r.summary["sim_time_s"]

    first = records(1)
    assert first == records(1)
    assert first != records(2)
    assert len(first[0]["start_s"]) >= 2


def test_cli_summary_shows_the_fault_rows(tmp_path, capsys):
    from netsim.cli import main

    scenario = tmp_path / "faulty.toml"
    scenario.write_text(
        'seed = 3\n[topology]\nkind = "star"\nhosts = 5\nbandwidth = "1GB/s"\nlatency = "1us"\n'
        '[training]\nsteps = 6\nworkers = 4\nsamples = 1024\ncheckpoint_every = 2\n'
        '[compute]\nstep_time = "100us"\n'
        '[[faults]]\nkind = "worker_crash"\nworker = 1\ntime = "500us"\nrecovery = "checkpoint"\n'
    )
    main(["run", str(scenario), "--out", str(tmp_path / "run")])  # returns normally on success
    out = capsys.readouterr().out
    for row in ("faults injected", "steps lost", "time recovering", "checkpoints", "workers at the end"):
        assert row in out
