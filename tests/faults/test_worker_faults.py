"""Worker crashes (checkpoint restart, elastic continuation), checkpoints and straggler windows, end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsim.collectives import get_algorithm
from netsim.runner import simulate
from netsim.scenario import scenario_from_dict
from tests.faults.helpers import L, ring_step, training

B = 1e9  # the training star: 1 GB/s, 1 µs links
STEP_TIME = 100e-6


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def run(**overrides):
    return simulate(scenario_from_dict(training(**overrides)))


@pytest.fixture(scope="module")
def baseline():
    """20 steps, a checkpoint every 5 steps, no crash."""
    return run(training__checkpoint_every=5)


def model_bytes(result) -> float:
    return float(result.summary["model_bytes"])


def test_checkpointing_costs_one_write_per_checkpoint(baseline):
    n = model_bytes(baseline)  # SGD without momentum: the checkpoint is the parameters
    write = n / B + 2 * L  # rank 0 -> the storage host h4, everybody waits for it
    assert baseline.summary["checkpoints"] == 3  # after steps 5, 10, 15 (none after the last)
    assert close(baseline.summary["sim_time_s"], 20 * ring_step(4, n) + 3 * write)
    assert close(baseline.summary["checkpoint_time_s"], 3 * write)
    assert baseline.summary["faults_injected"] == 0 and baseline.summary["steps_lost"] == 0


def test_crash_and_restart_from_checkpoint_redoes_the_math_exactly(baseline):
    n = model_bytes(baseline)
    step, write = ring_step(4, n), n / B + 2 * L
    crash = float(baseline.steps["start_s"][12]) + STEP_TIME / 2  # during step 12's compute
    detection, restart = 1e-3, 2e-3
    fault = {"kind": "worker_crash", "worker": 2, "time": crash, "detection": detection, "restart_delay": restart, "recovery": "checkpoint"}
    result = run(training__checkpoint_every=5, faults=[fault])
    # same parameters, bit for bit, as the run that never crashed
    assert np.array_equal(result.final_params, baseline.final_params)
    assert result.summary["final_loss"] == baseline.summary["final_loss"]
    # four workers read the checkpoint from h4 at once: they share its link
    read = 4 * n / B + 2 * L
    assert close(result.summary["recovery_time_s"], detection + restart + read)
    assert result.summary["steps_lost"] == 2  # steps 10 and 11 are redone
    # then steps 10..19 again, with the checkpoint after step 15
    assert close(result.summary["sim_time_s"], crash + detection + restart + read + 10 * step + write)
    # the time cost: detection + restart + checkpoint read + the work redone (steps 10, 11 and half of 12)
    redone = crash - float(baseline.steps["start_s"][10])
    assert close(result.summary["sim_time_s"] - baseline.summary["sim_time_s"], detection + restart + read + redone)
    assert result.steps["attempt"].tolist() == [0] * 10 + [1, 1] + [0] * 8
    assert "faults[0] worker_crash worker 2" in result.steps["faults"][10]
    assert len(result.workers) == 4 * 20  # the discarded rows are gone


def test_crash_before_the_first_checkpoint_restarts_from_scratch(baseline):
    crash = float(baseline.steps["start_s"][3]) + STEP_TIME / 2
    fault = {"kind": "worker_crash", "worker": 0, "time": crash, "recovery": "checkpoint"}
    result = run(training__checkpoint_every=5, faults=[fault])
    assert np.array_equal(result.final_params, baseline.final_params)
    assert result.summary["steps_lost"] == 3 and result.summary["recovery_time_s"] == 0.0  # nothing to read, no delays
    assert close(result.summary["sim_time_s"], baseline.summary["sim_time_s"] + crash)


def test_a_crash_while_the_checkpoint_is_written_loses_it(baseline):
    written_from = float(baseline.steps["end_s"][9])
    crash = written_from + 0.2e-6  # rank 0 is sending the checkpoint of step 10 to h4
    fault = {"kind": "worker_crash", "worker": 0, "time": crash, "recovery": "checkpoint"}
    result = run(training__checkpoint_every=5, faults=[fault])
    assert np.array_equal(result.final_params, baseline.final_params)
    assert result.summary["steps_lost"] == 5  # back to the checkpoint of step 5
    assert result.faults["detail"][0] == "restart from the checkpoint of step 5 (5 steps redone)"
    assert close(result.summary["bytes_lost"], B * 0.2e-6)  # what it had sent of the checkpoint


def test_two_crashes_before_detection_restart_once(baseline):
    start = float(baseline.steps["start_s"][12])
    crashes = [
        {"kind": "worker_crash", "worker": w, "time": start + t, "detection": "1ms", "recovery": "checkpoint"}
        for w, t in ((1, 1e-5), (3, 2e-5))
    ]
    result = run(training__checkpoint_every=5, faults=crashes)
    assert np.array_equal(result.final_params, baseline.final_params)
    assert result.summary["faults_injected"] == 2 and result.summary["steps_lost"] == 2
    read = 4 * model_bytes(baseline) / B + 2 * L
    assert close(result.summary["recovery_time_s"], 1e-3 + read)  # from the first crash to the resumed training


def test_a_crash_after_training_ended_never_happens(baseline):
    fault = {"kind": "worker_crash", "worker": 1, "time": "1s", "recovery": "checkpoint"}
    result = run(training__checkpoint_every=5, faults=[fault])
    assert result.summary["sim_time_s"] == baseline.summary["sim_time_s"]  # nor does it stretch the run
    assert result.summary["faults_injected"] == 0 and len(result.faults) == 0


def test_elastic_continuation_shrinks_the_ring_and_converges():
    clean = run(training__steps=60)
    crash = float(clean.steps["start_s"][20]) + STEP_TIME / 2
    fault = {"kind": "worker_crash", "worker": 1, "time": crash, "detection": "1ms", "restart_delay": "500us", "recovery": "elastic"}
    result = run(training__steps=60, faults=[fault])
    workers = result.workers.groupby("step")["worker"].apply(list)
    assert workers[19] == [0, 1, 2, 3] and workers[20] == [0, 2, 3] and workers[59] == [0, 2, 3]
    assert result.summary["final_workers"] == 3 and result.summary["steps_lost"] == 0
    n = model_bytes(result)
    # the survivors broadcast worker 0's state (binomial, 3 ranks on the star), then ring steps over 3
    broadcast = get_algorithm("binomial_broadcast", "broadcast").predict(3, n, 2 * L, 1 / B)
    assert close(result.summary["recovery_time_s"], 1e-3 + 500e-6 + broadcast)
    # (the survivors resume as the broadcast reaches them, so the ring runs a little skewed after it)
    after = result.steps[result.steps["step"] > 20]["duration_s"]
    assert (after >= ring_step(3, n) * (1 - 1e-12)).all() and (after < 1.1 * ring_step(3, n)).all()
    assert close(float(result.steps["bytes_sent"].iloc[-1]), 3 * 2 * 2 * n / 3)  # each of 3 ranks sends 2(p-1) chunks of n/3
    # still training: the held-out loss keeps falling after the crash, to about the crash-free level
    loss = result.steps["test_loss"]
    assert loss.iloc[-1] < loss.iloc[19] < loss.iloc[0]
    assert abs(result.summary["final_accuracy"] - clean.summary["final_accuracy"]) < 0.05


def test_every_worker_crashing_under_elastic_recovery_is_an_error():
    from netsim.exceptions import SimulationError

    faults = [{"kind": "worker_crash", "worker": w, "time": "50us", "recovery": "elastic"} for w in range(4)]
    with pytest.raises(SimulationError, match="every worker crashed by t = 50 us: elastic training has nobody left"):
        run(faults=faults)


@pytest.fixture(scope="module")
def short():
    return run(training__steps=6)


def test_straggler_window_stretches_compute_exactly(short):
    # worker 3 is 4x slower from 50 us into step 2's compute, for 200 us
    start = float(short.steps["start_s"][2]) + 50e-6
    fault = {"kind": "straggler", "worker": 3, "time": start, "duration": "200us", "factor": 4}
    result = run(training__steps=6, faults=[fault])
    # 50 us of work at speed, the other 50 us at 1/4 speed: 200 us, ending with the window
    rows = result.workers.set_index(["step", "worker"])
    assert close(float(rows.loc[(2, 3), "compute_s"]), 50e-6 + 200e-6)
    assert close(float(rows.loc[(2, 0), "compute_s"]), STEP_TIME)
    assert close(float(rows.loc[(3, 3), "compute_s"]), STEP_TIME)  # over before step 3
    assert result.steps["faults"].tolist()[2] == "faults[0] straggler worker 3"
    assert result.summary["sim_time_s"] >= short.summary["sim_time_s"] + 150e-6
    assert result.summary["faults_injected"] == 1


def test_straggler_windows_on_every_worker_delay_the_run_by_the_stretch(short):
    # every worker 3x slower over a window covering step 1's compute and 20 us of step 2's
    start, end = float(short.steps["start_s"][1]), float(short.steps["start_s"][1]) + 320e-6
    faults = [{"kind": "straggler", "worker": w, "time": start, "end": end, "factor": 3} for w in range(4)]
    result = run(training__steps=6, faults=faults)
    step = ring_step(4, model_bytes(short))
    # step 1: 300 us; step 2 starts at start + 300 us + (step - 100 us) inside the window
    in_window = end - (start + 300e-6 + step - STEP_TIME)
    extra = 200e-6 + in_window * (1 - 1 / 3)
    assert close(result.summary["sim_time_s"], short.summary["sim_time_s"] + extra)
