"""Tests of netsim.training.compute."""

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.training.compute import ComputeModel, Straggler
from netsim.training.models import LogisticRegression


def test_time_from_flops():
    model = ComputeModel(flops_per_second=2e9)
    assert model.compute_time(100, 3e6) == pytest.approx(0.15, rel=1e-15)
    assert model.compute_time(0, 3e6) == 0.0
    assert model.compute_time(200, 3e6) == pytest.approx(2 * model.compute_time(100, 3e6))


def test_time_from_model_flops():
    net = LogisticRegression(100, 10)  # 1010 params -> 6060 FLOPs per sample
    assert ComputeModel(flops_per_second=6060.0).compute_time(
        32, net.flops_per_sample()
    ) == pytest.approx(32.0)


def test_fixed_step_time_ignores_batch():
    model = ComputeModel(step_time=0.25)
    assert model.compute_time(1, 1e9) == 0.25
    assert model.compute_time(1000, 0.0) == 0.25


def test_values_are_floats_and_model_is_frozen():
    model = ComputeModel(flops_per_second=np.int64(5))
    assert type(model.flops_per_second) is float and model.step_time is None
    with pytest.raises(AttributeError):
        model.step_time = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"^compute\.flops_per_second / compute\.step_time: give exactly one, got neither$"),
        ({"flops_per_second": 1e9, "step_time": 0.1}, r"give exactly one, got both$"),
        ({"flops_per_second": 0.0}, r"^compute\.flops_per_second: .*FLOP/s"),
        ({"flops_per_second": -1e9}, r"^compute\.flops_per_second: "),
        ({"flops_per_second": float("inf")}, r"^compute\.flops_per_second: "),
        ({"flops_per_second": "1e9"}, r"^compute\.flops_per_second: "),
        ({"step_time": 0}, r"^compute\.step_time: .*seconds"),
        ({"step_time": float("nan")}, r"^compute\.step_time: "),
        ({"step_time": True}, r"^compute\.step_time: "),
    ],
)
def test_invalid_configuration_names_the_field(kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        ComputeModel(**kwargs)


@pytest.mark.parametrize(("n", "flops"), [(-1, 1.0), (1, -1.0), (1, float("nan"))])
def test_invalid_arguments(n, flops):
    with pytest.raises(ValueError):
        ComputeModel(step_time=1.0).compute_time(n, flops)


# ------------------------------------------------- heterogeneous workers and stragglers


def test_keyword_call_and_worker_zero_default():
    model = ComputeModel(flops_per_second=1e9)
    assert model.compute_time(10, 1e6) == model.compute_time(10, 1e6, worker=0, rng=None) == 0.01
    assert model.compute_time(10, 1e6, worker=7) == 0.01  # homogeneous: every worker alike
    assert model.rate(3) == 1e9


def test_heterogeneous_worker_rates():
    model = ComputeModel(worker_rates=[1e9, 2e9, 5e8])
    assert model.worker_rates == (1e9, 2e9, 5e8)
    assert [model.compute_time(100, 1e6, worker=w) for w in range(3)] == [0.1, 0.05, 0.2]
    model.check_workers(3)
    with pytest.raises(ScenarioError, match=r"^compute\.worker_rates: 3 rates given for 4 workers$"):
        model.check_workers(4)
    with pytest.raises(ValueError, match="worker 3 has no rate"):
        model.compute_time(1, 1.0, worker=3)


def test_deterministic_slowdown_mapping_and_list():
    model = ComputeModel(step_time=0.1, slowdown={"2": 3.0, 0: 0.5})
    assert model.slowdown == ((0, 0.5), (2, 3.0))
    assert [model.compute_time(8, 1.0, worker=w) for w in range(4)] == pytest.approx([0.05, 0.1, 0.3, 0.1])
    model.check_workers(3)
    with pytest.raises(ScenarioError, match=r"^compute\.slowdown: worker 2 does not exist \(2 workers: 0 to 1\)$"):
        model.check_workers(2)
    listed = ComputeModel(flops_per_second=1e9, slowdown=[1.0, 2.0])
    assert listed.compute_time(10, 1e8, worker=1) == pytest.approx(2.0)
    listed.check_workers(2)
    with pytest.raises(ScenarioError, match=r"^compute\.slowdown: 2 factors given for 3 workers$"):
        listed.check_workers(3)


def test_rates_slowdown_and_straggler_compose():
    model = ComputeModel(
        worker_rates=[1e9, 1e9], slowdown={1: 2.0}, straggler={"distribution": "bernoulli", "probability": 1.0, "factor": 3.0}
    )
    assert model.compute_time(10, 1e8, worker=1, rng=np.random.default_rng(0)) == pytest.approx(6.0)


def _draws(spec, n, seed=0, worker=0):
    model = ComputeModel(step_time=1.0, straggler=spec)
    rng = np.random.default_rng(seed)
    return np.array([model.compute_time(1, 1.0, worker=worker, rng=rng) for _ in range(n)])


@pytest.mark.parametrize(
    "spec",
    [
        {"distribution": "lognormal", "sigma": 0.3},
        {"distribution": "exponential", "mean": 0.5},
        {"distribution": "bernoulli", "probability": 0.2, "factor": 4.0},
    ],
)
def test_stragglers_are_deterministic_given_the_generator(spec):
    np.testing.assert_array_equal(_draws(spec, 50, seed=1), _draws(spec, 50, seed=1))
    assert not np.array_equal(_draws(spec, 50, seed=1), _draws(spec, 50, seed=2))


def test_straggler_draws_one_variate_per_call():
    draws = _draws({"distribution": "lognormal", "sigma": 0.3}, 20, seed=5)
    np.testing.assert_allclose(draws, np.exp(0.3 * np.random.default_rng(5).standard_normal(20)), rtol=1e-15)
    draws = _draws({"distribution": "exponential", "mean": 0.5}, 20, seed=5)
    np.testing.assert_allclose(draws, 1.0 + np.random.default_rng(5).exponential(0.5, 20), rtol=1e-15)


def test_lognormal_straggler_distribution_monte_carlo():
    n = 20_000
    logs = np.log(_draws({"distribution": "lognormal", "sigma": 0.3}, n))
    assert abs(logs.mean()) < 4 * 0.3 / np.sqrt(n)  # median 1
    assert logs.std() == pytest.approx(0.3, rel=4 / np.sqrt(2 * n))
    spec = Straggler.from_spec({"distribution": "lognormal", "sigma": 0.3})
    assert spec.mean() == pytest.approx(np.exp(0.045))


def test_exponential_straggler_distribution_monte_carlo():
    n = 20_000
    extra = _draws({"distribution": "exponential", "mean": 0.5}, n) - 1.0
    assert extra.min() >= 0.0
    assert extra.mean() == pytest.approx(0.5, abs=4 * 0.5 / np.sqrt(n))
    assert extra.std() == pytest.approx(0.5, rel=0.05)


def test_bernoulli_straggler_distribution_monte_carlo():
    n = 20_000
    draws = _draws({"distribution": "bernoulli", "probability": 0.1, "factor": 4.0}, n)
    assert set(np.unique(draws)) == {1.0, 4.0}
    assert np.mean(draws == 4.0) == pytest.approx(0.1, abs=4 * np.sqrt(0.09 / n))
    assert draws.mean() == pytest.approx(Straggler("bernoulli", probability=0.1, factor=4.0).mean(), rel=0.02)


def test_per_worker_generators_are_independent_of_interleaving():
    """Per-worker generators from SeedSequence.spawn: a worker's times ignore the others."""
    model = ComputeModel(flops_per_second=1e9, straggler={"distribution": "lognormal", "sigma": 0.5})

    def times(order):
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(42).spawn(3)]
        out = {w: [] for w in range(3)}
        for w in order:
            out[w].append(model.compute_time(10, 1e6, worker=w, rng=rngs[w]))
        return out

    a = times([0, 1, 2] * 4)
    b = times([2, 2, 2, 2, 0, 1, 1, 0, 1, 0, 0, 1])
    assert a == b
    assert a[0] != a[1]


def test_straggler_needs_the_generator():
    model = ComputeModel(step_time=1.0, straggler={"distribution": "lognormal", "sigma": 0.1})
    with pytest.raises(ValueError, match="pass the worker's numpy Generator"):
        model.compute_time(1, 1.0)
    assert model.straggler == Straggler("lognormal", sigma=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"worker_rates": [1e9], "flops_per_second": 1e9}, r"^compute\.worker_rates: give compute\.flops_per_second or compute\.worker_rates, not both$"),
        ({"worker_rates": [1e9], "step_time": 1.0}, r"^compute\.worker_rates: per-worker FLOP rates cannot be combined with compute\.step_time"),
        ({"worker_rates": []}, r"^compute\.worker_rates: must be a non-empty list"),
        ({"worker_rates": "1e9"}, r"^compute\.worker_rates: must be a non-empty list"),
        ({"worker_rates": [1e9, 0.0]}, r"^compute\.worker_rates: must be a positive finite number of FLOP/s"),
        ({"step_time": 1.0, "slowdown": {"a": 2.0}}, r"^compute\.slowdown: worker keys must be integers >= 0, got 'a'$"),
        ({"step_time": 1.0, "slowdown": {-1: 2.0}}, r"^compute\.slowdown: worker keys"),
        ({"step_time": 1.0, "slowdown": {1: 0.0}}, r"^compute\.slowdown: the factor of worker 1 must be a positive"),
        ({"step_time": 1.0, "slowdown": {1: 2.0, "1": 3.0}}, r"^compute\.slowdown: worker 1 is given twice$"),
        ({"step_time": 1.0, "slowdown": 3.0}, r"^compute\.slowdown: must be a table"),
        ({"step_time": 1.0, "straggler": {"sigma": 0.3}}, r"^compute\.straggler: must be a table with a 'distribution' key"),
        ({"step_time": 1.0, "straggler": {"distribution": "weibull"}}, r"^compute\.straggler\.distribution: unknown distribution 'weibull'; accepted: lognormal, exponential, bernoulli$"),
        ({"step_time": 1.0, "straggler": {"distribution": "lognormal"}}, r"^compute\.straggler\.sigma: required by the 'lognormal' distribution$"),
        ({"step_time": 1.0, "straggler": {"distribution": "lognormal", "sigma": -0.1}}, r"^compute\.straggler\.sigma: must be a finite number >= 0"),
        ({"step_time": 1.0, "straggler": {"distribution": "lognormal", "sigma": 0.3, "mean": 1.0}}, r"^compute\.straggler\.mean: not a parameter of the 'lognormal' distribution; accepted: sigma$"),
        ({"step_time": 1.0, "straggler": {"distribution": "exponential", "mean": float("inf")}}, r"^compute\.straggler\.mean: "),
        ({"step_time": 1.0, "straggler": {"distribution": "bernoulli", "probability": 1.5, "factor": 2.0}}, r"^compute\.straggler\.probability: must be a number in \[0, 1\]"),
        ({"step_time": 1.0, "straggler": {"distribution": "bernoulli", "probability": 0.5}}, r"^compute\.straggler\.factor: required"),
        ({"step_time": 1.0, "straggler": {"distribution": "bernoulli", "probability": 0.5, "factor": 0}}, r"^compute\.straggler\.factor: must be a positive finite number"),
    ],
)
def test_heterogeneity_errors_name_the_field(kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        ComputeModel(**kwargs)


def test_bad_worker_argument():
    with pytest.raises(ValueError, match="worker must be an integer >= 0"):
        ComputeModel(step_time=1.0).compute_time(1, 1.0, worker=-1)
    with pytest.raises(ValueError, match="no FLOP rate"):
        ComputeModel(step_time=1.0).rate()
