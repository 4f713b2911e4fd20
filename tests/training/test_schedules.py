"""Tests of netsim.training.schedules: warm-up, decay shapes and the scheduled optimizer."""

import math

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.training.optimizers import SGD, Adam, AdamW
from netsim.training.schedules import SCHEDULES, Schedule, ScheduledOptimizer, make_schedule


@pytest.mark.parametrize(
    ("args", "kwargs", "points"),
    [
        (("constant", 0.1), {}, {0: 0.1, 1: 0.1, 1000: 0.1}),
        (("constant", 0.1, 4), {}, {0: 0.025, 1: 0.05, 3: 0.1, 4: 0.1, 99: 0.1}),
        (
            ("cosine", 0.1, 2, 10),
            {},
            {0: 0.05, 1: 0.1, 2: 0.1, 4: 0.05 * (1 + math.cos(math.pi / 4)), 6: 0.05, 10: 0.0, 50: 0.0},
        ),
        (("cosine", 1.0, 0, 4), {"min_lr": 0.2}, {0: 1.0, 2: 0.6, 4: 0.2, 9: 0.2}),
        (("linear", 1.0, 4, 8), {}, {0: 0.25, 3: 1.0, 4: 1.0, 5: 0.75, 7: 0.25, 8: 0.0, 20: 0.0}),
        (("linear", 2.0, 0, 10), {"min_lr": 1.0}, {0: 2.0, 5: 1.5, 10: 1.0}),
        (("step", 1.0), {"decay_every": 3, "decay_factor": 0.5}, {0: 1.0, 2: 1.0, 3: 0.5, 5: 0.5, 6: 0.25, 9: 0.125}),
        (("step", 0.1, 2), {"decay_every": 10}, {0: 0.05, 1: 0.1, 11: 0.1, 12: 0.01, 22: 0.001}),
    ],
)
def test_values_at_chosen_steps(args, kwargs, points):
    schedule = make_schedule(*args, **kwargs)
    for step, lr in points.items():
        assert schedule(step) == pytest.approx(lr, rel=1e-12, abs=1e-15), step


def test_warmup_is_linear_and_never_zero():
    schedule = make_schedule("cosine", 0.4, warmup_steps=8, total_steps=100)
    warm = np.array([schedule(t) for t in range(8)])
    np.testing.assert_allclose(warm, 0.4 * np.arange(1, 9) / 8, rtol=1e-15)
    assert warm[0] > 0 and np.all(np.diff(warm) > 0)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_decays_are_monotone_and_bounded(name):
    schedule = make_schedule(name, 1.0, warmup_steps=5, total_steps=50, min_lr=0.1)
    values = np.array([schedule(t) for t in range(5, 60)])
    assert np.all(np.diff(values) <= 1e-15)
    assert values.max() == 1.0 and values.min() == pytest.approx(0.1)


def test_schedule_is_a_frozen_value():
    s = make_schedule("step", 1.0, decay_every=2)
    assert s == Schedule("step", 1.0, 0, None, 0.0, 2, 0.1)
    with pytest.raises(AttributeError):
        s.base_lr = 2.0  # type: ignore[misc]
    assert SCHEDULES == ("constant", "linear", "cosine", "step")
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        s(-1)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("exp", 0.1), {}, r"^training\.lr_schedule: unknown schedule 'exp'; accepted: constant, linear, cosine, step$"),
        (("constant", 0.0), {}, r"^training\.lr: must be positive"),
        (("constant", float("inf")), {}, r"^training\.lr: "),
        (("constant", 0.1, -1), {}, r"^training\.warmup_steps: "),
        (("constant", 0.1, 1.5), {}, r"^training\.warmup_steps: "),
        (("cosine", 0.1), {}, r"^training\.steps: lr_schedule 'cosine' needs the total step count$"),
        (("linear", 0.1, 0, 0), {}, r"^training\.steps: must be an integer >= 1"),
        (("cosine", 0.1, 10, 10), {}, r"^training\.warmup_steps: 10 warm-up steps leave no room"),
        (("cosine", 0.1, 0, 10), {"min_lr": 0.2}, r"^training\.min_lr: must lie in \[0, training\.lr = 0\.1\]"),
        (("linear", 0.1, 0, 10), {"min_lr": -0.1}, r"^training\.min_lr: "),
        (("step", 0.1), {}, r"^training\.decay_every: required by lr_schedule 'step'$"),
        (("step", 0.1), {"decay_every": 0}, r"^training\.decay_every: "),
        (("step", 0.1), {"decay_every": 2, "decay_factor": 0.0}, r"^training\.decay_factor: must lie in \(0, 1\]"),
        (("step", 0.1), {"decay_every": 2, "decay_factor": 1.5}, r"^training\.decay_factor: "),
        (("cosine", 0.1, 0, 10), {"decay_every": 2}, r"^training\.decay_every: does not apply to lr_schedule 'cosine' \(it uses: min_lr\)$"),
        (("constant", 0.1), {"min_lr": 0.0}, r"^training\.min_lr: does not apply to lr_schedule 'constant'$"),
    ],
)
def test_errors_name_the_field(args, kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        make_schedule(*args, **kwargs)


def test_scheduled_optimizer_steps_with_the_schedule():
    schedule = make_schedule("linear", 1.0, warmup_steps=2, total_steps=6)
    opt = ScheduledOptimizer(SGD(lr=123.0), schedule)
    assert opt.lr == 0.5 and opt.steps == 0
    params = np.zeros(1)
    moves = []
    for _ in range(6):
        new = opt.step(params, np.ones(1))
        moves.append(float(params[0] - new[0]))
        params = new
    np.testing.assert_allclose(moves, [schedule(t) for t in range(6)], rtol=1e-15)
    assert opt.steps == 6 and opt.state_bytes() == 0
    # an explicit lr wins for that step, and still counts as a step
    before = opt.step(params, np.ones(1), lr=0.0)
    np.testing.assert_array_equal(before, params)
    assert opt.steps == 7


def test_scheduled_adamw_matches_explicit_lrs():
    schedule = make_schedule("cosine", 0.01, warmup_steps=3, total_steps=10)
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(5) for _ in range(10)]
    p0 = rng.standard_normal(5)
    wrapped, plain = ScheduledOptimizer(AdamW(lr=0.01), schedule), AdamW(lr=0.01)
    a, b = p0, p0
    for t, g in enumerate(grads):
        a = wrapped.step(a, g)
        b = plain.step(b, g, lr=schedule(t))
    np.testing.assert_array_equal(a, b)
    adam = ScheduledOptimizer(Adam(lr=1.0), schedule)
    adam.step(np.zeros(4), np.ones(4))
    assert adam.state_bytes() == 64
