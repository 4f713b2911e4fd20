"""Tests of netsim.training.optimizers against hand-computed update sequences."""

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.training.optimizers import OPTIMIZERS, SGD, Adam, AdamW, Optimizer, make_optimizer

P0 = np.array([1.0, -2.0])
GRADS = [np.array([0.5, 1.0]), np.array([-1.0, 2.0]), np.array([2.0, 0.0])]


def _run(optimizer: Optimizer, grads=GRADS, params=P0) -> list[np.ndarray]:
    out = []
    for grad in grads:
        params = optimizer.step(params, grad)
        out.append(params)
    return out


def test_plain_sgd_three_steps():
    # p -= 0.1 g
    expected = [[0.95, -2.1], [1.05, -2.3], [0.85, -2.3]]
    np.testing.assert_allclose(_run(SGD(lr=0.1)), expected, rtol=0, atol=1e-15)


def test_momentum_three_steps():
    # mu = 0.9: v1 = g1 = [.5, 1]; v2 = .9 v1 + g2 = [-.55, 2.9]; v3 = .9 v2 + g3 = [1.505, 2.61]
    expected = [
        [1.0 - 0.05, -2.0 - 0.1],
        [0.95 + 0.055, -2.1 - 0.29],
        [1.005 - 0.1505, -2.39 - 0.261],
    ]
    np.testing.assert_allclose(_run(SGD(lr=0.1, momentum=0.9)), expected, rtol=0, atol=1e-14)


def test_nesterov_three_steps():
    # update = g + mu v with the v above: u1 = [.95, 1.9]; u2 = [-1.495, 4.61]; u3 = [3.3545, 2.349]
    expected = [
        [1.0 - 0.095, -2.0 - 0.19],
        [0.905 + 0.1495, -2.19 - 0.461],
        [1.0545 - 0.33545, -2.651 - 0.2349],
    ]
    opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(_run(opt), expected, rtol=0, atol=1e-14)


def test_weight_decay_with_momentum_three_steps():
    # wd = 0.5, mu = 0.5, lr = 0.1; d = g + 0.5 p
    # step 1: d = [1.0, 0.0], v = [1.0, 0.0], p = [0.9, -2.0]
    # step 2: d = [-0.55, 1.0], v = [-0.05, 1.0], p = [0.905, -2.1]
    # step 3: d = [2.4525, -1.05], v = [2.4275, -0.55], p = [0.66225, -2.045]
    expected = [[0.9, -2.0], [0.905, -2.1], [0.66225, -2.045]]
    opt = SGD(lr=0.1, momentum=0.5, weight_decay=0.5)
    np.testing.assert_allclose(_run(opt), expected, rtol=0, atol=1e-14)


def test_nesterov_without_momentum_is_plain_sgd():
    expected = _run(SGD(lr=0.1, weight_decay=0.5))
    np.testing.assert_array_equal(_run(SGD(lr=0.1, weight_decay=0.5, nesterov=True)), expected)


def test_weight_decay_without_momentum():
    # p -= 0.1 (g + 0.5 p): step 1 d = [1, 0] -> [0.9, -2.0]
    np.testing.assert_allclose(
        _run(SGD(lr=0.1, weight_decay=0.5), GRADS[:1]), [[0.9, -2.0]], atol=1e-15
    )


def test_step_returns_new_array_and_leaves_inputs_alone():
    params, grad = P0.copy(), GRADS[0].copy()
    opt = SGD(lr=0.1, momentum=0.9)
    new = opt.step(params, grad)
    assert new is not params
    np.testing.assert_array_equal(params, P0)
    np.testing.assert_array_equal(grad, GRADS[0])
    grad[:] = 100.0  # the momentum buffer must not alias the caller's gradient
    np.testing.assert_allclose(opt.step(new, GRADS[1]), [0.95 + 0.055, -2.1 - 0.29], atol=1e-14)


def test_state_bytes():
    plain = SGD(lr=0.1)
    _run(plain)
    assert plain.state_bytes() == 0
    heavy = SGD(lr=0.1, momentum=0.9)
    assert heavy.state_bytes() == 0
    heavy.step(np.zeros(1000), np.ones(1000))
    assert heavy.state_bytes() == 8000


def test_shape_mismatches_raise():
    opt = SGD(lr=0.1, momentum=0.5)
    with pytest.raises(ValueError):
        opt.step(np.zeros(3), np.zeros(2))
    opt.step(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="momentum buffer"):
        opt.step(np.zeros(4), np.zeros(4))


def test_registry_and_factory():
    assert dict(OPTIMIZERS) == {"sgd": SGD, "adam": Adam, "adamw": AdamW}
    opt = make_optimizer("sgd", lr=0.3, momentum=0.5, nesterov=True, weight_decay=1e-4)
    assert isinstance(opt, SGD)
    assert (opt.lr, opt.momentum, opt.nesterov, opt.weight_decay) == (0.3, 0.5, True, 1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 0.0}, r"^training\.lr: "),
        ({"lr": -1.0}, r"^training\.lr: "),
        ({"lr": float("inf")}, r"^training\.lr: "),
        ({"lr": float("nan")}, r"^training\.lr: "),
        ({"lr": "0.1"}, r"^training\.lr: "),
        ({"lr": True}, r"^training\.lr: "),
        ({"lr": 0.1, "momentum": 1.0}, r"^training\.momentum: "),
        ({"lr": 0.1, "momentum": -0.1}, r"^training\.momentum: "),
        ({"lr": 0.1, "weight_decay": -1e-4}, r"^training\.weight_decay: "),
        ({"lr": 0.1, "weight_decay": float("inf")}, r"^training\.weight_decay: "),
        ({"lr": 0.1, "nesterov": "yes", "momentum": 0.9}, r"^training\.nesterov: "),
        ({}, r"^training\.lr: required by optimizer 'sgd'$"),
        (
            {"lr": 0.1, "beta1": 0.9},
            r"^training\.beta1: not an option of optimizer 'sgd'; accepted: lr, momentum",
        ),
    ],
)
def test_bad_values_name_the_field(kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        make_optimizer("sgd", **kwargs)


def test_unknown_optimizer():
    with pytest.raises(ScenarioError) as info:
        make_optimizer("lamb", lr=0.1)
    assert str(info.value) == "training.optimizer: unknown optimizer 'lamb'; accepted: adam, adamw, sgd"
