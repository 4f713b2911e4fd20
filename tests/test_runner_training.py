"""Training options end to end through simulate(): models, datasets, optimizers, clipping,
schedules, heterogeneous and straggling workers, time to target, label histograms."""

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.runner import simulate, time_to_target
from netsim.scenario import scenario_from_dict

BASE = {
    "seed": 1,
    "topology": {"kind": "star", "hosts": 4, "bandwidth": "10Gbps", "latency": "2us"},
    "training": {"steps": 30, "samples": 2048, "features": 8, "classes": 3, "batch_size": 16, "lr": 0.2},
    "compute": {"step_time": "1ms"},
}


def run(**training):
    doc = {**BASE, "training": {**BASE["training"], **training}}
    return simulate(scenario_from_dict(doc))


def improves(result):
    steps = result.steps.dropna(subset=["test_loss"])
    return steps["test_loss"].iloc[-1] < steps["test_loss"].iloc[0]


@pytest.mark.parametrize(
    "options",
    [
        {"model": "mlp", "hidden": [16], "activation": "tanh"},
        {"dataset": "iris", "batch_size": 8, "lr": 0.3},
        {"dataset": "text", "model": "lm", "context": 4, "embedding_dim": 8, "hidden": [32], "lr": 0.5},
        {"optimizer": "adam", "lr": 0.05},
        {"optimizer": "adamw", "lr": 0.05, "weight_decay": 0.01},
        {"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.05},
        {"lr_schedule": "cosine", "warmup_steps": 5},
        {"sharding": "hash"},
        {"sharding": "replicated"},
        {"sharding": "dirichlet", "dirichlet_alpha": 0.5},
        {"clip_grad_norm": 0.5},
        {"clip_weights": 1.0},
    ],
)
def test_each_option_trains(options):
    result = run(**options)
    assert improves(result), options
    assert np.isfinite(result.summary["final_loss"])


def test_iris_uses_its_own_shape():
    result = run(dataset="iris", batch_size=8)
    assert result.summary["model_bytes"] == (4 * 3 + 3) * 8
    assert len(result.shards) == 4 and result.shards.iloc[:, 1:].to_numpy().sum() == 120


def test_replicated_shards_see_everything():
    result = run(sharding="replicated")
    counts = result.shards.iloc[:, 1:].to_numpy()
    assert (counts == counts[0]).all()


def test_clip_grad_norm_bounds_the_update():
    clipped = run(clip_grad_norm=1e-3, lr=1.0)
    free = run(lr=1.0)
    assert clipped.summary["final_loss"] > free.summary["final_loss"]


def test_clip_grad_norm_with_a_parameter_server_is_refused():
    doc = {**BASE, "topology": {**BASE["topology"], "hosts": 5}, "communication": {"algorithm": "ps"}}
    doc["training"] = {**BASE["training"], "clip_grad_norm": 1.0}
    with pytest.raises(ScenarioError, match="training.clip_grad_norm needs the whole averaged gradient"):
        simulate(scenario_from_dict(doc))


def test_straggler_and_slow_worker_change_compute_times():
    doc = {**BASE, "compute": {"step_time": "1ms", "slowdown": {"2": 3.0}}}
    result = simulate(scenario_from_dict(doc))
    slow = result.workers[result.workers["worker"] == 2]["compute_s"]
    fast = result.workers[result.workers["worker"] == 0]["compute_s"]
    assert np.allclose(slow, 3e-3) and np.allclose(fast, 1e-3)
    # BSP: everyone waits for the slow worker
    assert result.summary["mean_step_time_s"] > 3e-3
    noisy = simulate(scenario_from_dict({**BASE, "compute": {"step_time": "1ms", "straggler": {"distribution": "lognormal", "sigma": 0.5}}}))
    times = noisy.workers["compute_s"].to_numpy()
    assert times.std() > 0
    again = simulate(scenario_from_dict({**BASE, "compute": {"step_time": "1ms", "straggler": {"distribution": "lognormal", "sigma": 0.5}}}))
    np.testing.assert_array_equal(times, again.workers["compute_s"].to_numpy())


def test_heterogeneous_worker_rates():
    doc = {**BASE, "compute": {"worker_rates": ["1GFLOPS", "1GFLOPS", "1GFLOPS", "0.5GFLOPS"]}}
    result = simulate(scenario_from_dict(doc))
    by_worker = result.workers.groupby("worker")["compute_s"].mean()
    assert by_worker[3] == pytest.approx(2 * by_worker[0])


def test_time_to_target():
    result = run(target_accuracy=0.5, target_loss=0.9)
    s = result.summary
    steps = result.steps
    first = steps[steps["test_accuracy"] >= 0.5].iloc[0]
    assert s["time_to_accuracy_s"] == first["end_s"]
    assert s["steps_to_accuracy"] == first["step"] + 1
    unreachable = run(target_accuracy=1.0)
    assert unreachable.summary["time_to_accuracy_s"] is None
    assert unreachable.summary["steps_to_accuracy"] is None


def test_time_to_target_function_skips_unevaluated_steps():
    import pandas as pd

    steps = pd.DataFrame(
        {"step": [0, 1, 2], "end_s": [1.0, 2.0, 3.0], "test_loss": [np.nan, 0.5, 0.4], "test_accuracy": [np.nan, 0.7, 0.9]}
    )
    out = time_to_target(steps, 0.8, 0.6)
    assert out == {
        "target_accuracy": 0.8,
        "time_to_accuracy_s": 3.0,
        "steps_to_accuracy": 3,
        "target_loss": 0.6,
        "time_to_loss_s": 2.0,
        "steps_to_loss": 2,
    }
