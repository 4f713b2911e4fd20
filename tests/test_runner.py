"""simulate(): summary keys, determinism, seeds, and consistency of the records."""

import numpy as np
import pandas as pd
import pytest

from netsim.runner import simulate
from netsim.scenario import scenario_from_dict

DOC = {
    "seed": 5,
    "topology": {"kind": "star", "hosts": 4, "bandwidth": "10Gbps", "latency": "2us"},
    "training": {"steps": 8, "samples": 1024, "features": 8, "classes": 3, "batch_size": 16},
    "compute": {"step_time": "1ms"},
}

KEYS = ["sim_time_s", "steps", "mean_step_time_s", "mean_compute_time_s", "mean_comm_time_s", "bytes_sent", "model_bytes", "final_loss", "final_accuracy", "seed", "wall_time_s"]


def test_summary_has_the_documented_keys():
    result = simulate(scenario_from_dict(DOC))
    for key in KEYS:
        assert key in result.summary
    assert result.summary["steps"] == 8
    assert result.summary["mean_compute_time_s"] == pytest.approx(1e-3)
    assert isinstance(result.steps, pd.DataFrame) and len(result.steps) == 8
    assert len(result.workers) == 8 * 4
    assert set(result.links.columns) >= {"src", "dst", "bytes", "busy_time", "utilisation"}


def test_same_seed_identical_results():
    a = simulate(scenario_from_dict(DOC))
    b = simulate(scenario_from_dict(DOC))
    assert a.deterministic_summary() == b.deterministic_summary()
    pd.testing.assert_frame_equal(a.steps, b.steps, check_exact=True)
    pd.testing.assert_frame_equal(a.workers, b.workers, check_exact=True)
    pd.testing.assert_frame_equal(a.links, b.links, check_exact=True)


def test_different_seed_different_data():
    a = simulate(scenario_from_dict(DOC))
    b = simulate(scenario_from_dict({**DOC, "seed": 6}))
    assert not np.array_equal(a.steps["train_loss"].to_numpy(), b.steps["train_loss"].to_numpy())


def test_bytes_on_the_wire_match_the_algorithm():
    result = simulate(scenario_from_dict(DOC))
    p, n = 4, result.summary["model_bytes"]
    assert result.summary["bytes_sent"] == pytest.approx(8 * p * 2 * (p - 1) / p * n)
    assert result.steps["bytes_sent"].sum() == pytest.approx(result.summary["bytes_sent"])
    # every byte crosses two links on a star
    assert result.links["bytes"].sum() == pytest.approx(2 * result.summary["bytes_sent"])


def test_parameter_server_and_ring_train_identically():
    ring = simulate(scenario_from_dict({**DOC, "topology": {**DOC["topology"], "hosts": 5}, "training": {**DOC["training"], "workers": 4}}))
    ps = simulate(scenario_from_dict({**DOC, "topology": {**DOC["topology"], "hosts": 5}, "communication": {"algorithm": "ps"}}))
    assert ps.summary["workers"] == ring.summary["workers"] == 4
    np.testing.assert_allclose(ps.steps["test_loss"], ring.steps["test_loss"], rtol=1e-9)
    assert ps.summary["sim_time_s"] != ring.summary["sim_time_s"]


def test_time_is_compute_plus_closed_form_communication():
    p, n = 4, None
    result = simulate(scenario_from_dict(DOC))
    n = result.summary["model_bytes"]
    alpha, beta = 2 * 2e-6, 1 / 1.25e9
    comm = 2 * (p - 1) * alpha + 2 * (p - 1) / p * n * beta
    # uneven chunks make ranks differ by a little; the mean is within a chunk's transfer time
    assert result.summary["mean_comm_time_s"] == pytest.approx(comm, rel=1e-3)
    assert result.summary["sim_time_s"] == pytest.approx(result.steps["end_s"].iloc[-1])


def test_eval_every():
    result = simulate(scenario_from_dict({**DOC, "training": {**DOC["training"], "eval_every": 3}}))
    evaluated = result.steps.dropna(subset=["test_loss"])["step"].tolist()
    assert evaluated == [2, 5, 7]


@pytest.mark.parametrize(
    "communication",
    [
        {"algorithm": "sharded_ps", "servers": 2},
        {"algorithm": "sharded_ps", "servers": 4, "colocated": True},
        {"algorithm": "ps", "bucket_size": 64, "first_bucket_size": 64},
        {"algorithm": "ring", "bucket_size": 64, "first_bucket_size": 64, "overlap": True},
    ],
)
def test_every_aggregation_trains_like_the_ring(communication):
    hosts = {"sharded_ps": 6 if communication.get("servers") == 2 else 4, "ps": 5}.get(communication["algorithm"], 4)
    base = {**DOC, "topology": {**DOC["topology"], "hosts": hosts}, "training": {**DOC["training"], "workers": 4}}
    ring = simulate(scenario_from_dict(base))
    other = simulate(scenario_from_dict({**base, "communication": communication}))
    assert other.summary["workers"] == 4
    np.testing.assert_allclose(other.steps["test_loss"], ring.steps["test_loss"], rtol=1e-9)
    if "bucket_size" in communication:
        assert other.summary["buckets"] > 1


def test_sharded_ps_options_are_validated():
    from netsim.exceptions import ScenarioError

    with pytest.raises(ScenarioError, match="communication.servers does not apply to algorithm 'ring_allreduce'"):
        scenario_from_dict({**DOC, "communication": {"servers": 2}})
    with pytest.raises(ScenarioError, match="leaves no worker"):
        scenario_from_dict({**DOC, "communication": {"algorithm": "sharded_ps", "servers": 4}})
