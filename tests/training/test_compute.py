"""Tests of netsim.training.compute."""

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.training.compute import ComputeModel
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
