"""Tests of Adam and AdamW against hand-computed steps and PyTorch's documented algorithm."""

import math

import numpy as np
import pytest

from netsim.exceptions import ScenarioError
from netsim.training.optimizers import SGD, Adam, AdamW, make_optimizer

P0 = np.array([1.0, -2.0])
GRADS = [np.array([0.5, 1.0]), np.array([-1.0, 2.0]), np.array([2.0, 0.0])]


def _run(optimizer, grads=GRADS, params=P0, lrs=None):
    out = []
    for t, grad in enumerate(grads):
        params = optimizer.step(params, grad) if lrs is None else optimizer.step(params, grad, lr=lrs[t])
        out.append(params)
    return np.array(out)


# Hand computation with lr = 0.1, beta1 = beta2 = 0.5 (bias corrections 1/2, 3/4, 7/8):
# element 0, g = 0.5, -1, 2:
#   t1: m = .25,   v = .125    -> m̂ = .5,       v̂ = .25       -> u = .1 · .5 / .5
#   t2: m = -.375, v = .5625   -> m̂ = -.5,      v̂ = .75       -> u = .1 · -.5 / √.75
#   t3: m = .8125, v = 2.28125 -> m̂ = .8125/.875, v̂ = 2.28125/.875
# element 1, g = 1, 2, 0:
#   t1: m = .5,    v = .5      -> m̂ = 1,        v̂ = 1         -> u = .1
#   t2: m = 1.25,  v = 2.25    -> m̂ = 5/3,      v̂ = 3         -> u = .1 · (5/3) / √3
#   t3: m = .625,  v = 1.125   -> m̂ = 5/7,      v̂ = 9/7       -> u = .1 · (5/7) / √(9/7)
U = np.array(
    [
        [0.1, 0.1],
        [0.1 * -0.5 / math.sqrt(0.75), 0.1 * (5 / 3) / math.sqrt(3.0)],
        [0.1 * (0.8125 / 0.875) / math.sqrt(2.28125 / 0.875), 0.1 * (5 / 7) / math.sqrt(9 / 7)],
    ]
)


def test_adam_three_steps_by_hand():
    expected = P0 - np.cumsum(U, axis=0)
    got = _run(Adam(lr=0.1, beta1=0.5, beta2=0.5, eps=1e-12))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11)


def test_adamw_three_steps_by_hand():
    # decoupled decay first: p <- p (1 - lr·wd) = 0.95 p, then the same Adam updates U
    p, expected = P0, []
    for u in U:
        p = 0.95 * p - u
        expected.append(p)
    got = _run(AdamW(lr=0.1, beta1=0.5, beta2=0.5, eps=1e-12, weight_decay=0.5))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11)


def _pytorch_reference(params, grads, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, lrs=None):
    """The algorithm box of the torch.optim.Adam / AdamW documentation, one scalar at a time."""
    out = []
    p = [float(x) for x in params]
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    v_max = [0.0] * len(p)
    for t, grad in enumerate(grads, start=1):
        gamma = lr if lrs is None else lrs[t - 1]
        for i, g in enumerate(grad):
            g = float(g)
            if decoupled:
                p[i] = p[i] - gamma * weight_decay * p[i]
            elif weight_decay:
                g = g + weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            m_hat = m[i] / (1 - beta1**t)
            if amsgrad:
                v_max[i] = max(v_max[i], v[i])
                v_hat = v_max[i] / (1 - beta2**t)
            else:
                v_hat = v[i] / (1 - beta2**t)
            p[i] = p[i] - gamma * m_hat / (math.sqrt(v_hat) + eps)
        out.append(list(p))
    return np.array(out)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_matches_the_documented_algorithm(decoupled, amsgrad, weight_decay):
    rng = np.random.default_rng(0)
    params = rng.standard_normal(6)
    grads = [rng.standard_normal(6) * s for s in (1.0, 0.1, 3.0, 0.5, 2.0)]
    lrs = [0.01, 0.02, 0.05, 0.03, 0.001]
    cls = AdamW if decoupled else Adam
    optimizer = cls(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=weight_decay, amsgrad=amsgrad)
    got = _run(optimizer, grads, params, lrs=lrs)
    expected = _pytorch_reference(params, grads, 0.05, 0.8, 0.99, 1e-6, weight_decay, decoupled, amsgrad, lrs)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_amsgrad_uses_the_running_maximum():
    # a large then small gradient: plain Adam's v shrinks, AMSGrad's denominator does not
    grads = [np.array([10.0]), np.array([0.1]), np.array([0.1])]
    plain = _run(Adam(lr=0.1, beta2=0.5), grads, np.zeros(1))
    ams = _run(Adam(lr=0.1, beta2=0.5, amsgrad=True), grads, np.zeros(1))
    np.testing.assert_array_equal(plain[0], ams[0])
    assert abs(ams[2, 0] - ams[1, 0]) < abs(plain[2, 0] - plain[1, 0])


def test_adam_weight_decay_is_coupled_and_adamw_is_not():
    zero = [np.zeros(1)] * 3
    assert np.all(_run(Adam(lr=0.1), zero, np.ones(1)) == 1.0)  # no gradient, no decay
    # with a zero gradient Adam's L2 penalty is the whole gradient, and Adam normalises it:
    # steps of about lr, whatever the decay coefficient
    coupled = _run(Adam(lr=0.1, weight_decay=0.01), zero, np.ones(1))
    np.testing.assert_allclose(np.diff(coupled[:, 0], prepend=1.0), -0.1, atol=2e-3)
    decoupled = _run(AdamW(lr=0.1, weight_decay=0.01), zero, np.ones(1))
    np.testing.assert_allclose(decoupled[:, 0], 0.999 ** np.arange(1, 4), rtol=1e-12)


def test_per_step_lr_overrides_and_defaults():
    a = Adam(lr=0.1)
    b = Adam(lr=123.0)
    np.testing.assert_array_equal(_run(a), _run(b, lrs=[0.1] * 3))
    sgd = SGD(lr=0.1, momentum=0.9)
    out = _run(sgd, lrs=[0.1, 0.2, 0.0])
    np.testing.assert_allclose(out[1], out[0] - 0.2 * np.array([-0.55, 2.9]), atol=1e-14)
    np.testing.assert_array_equal(out[2], out[1])  # lr 0: no move (momentum still updated)
    with pytest.raises(ValueError, match="learning rate"):
        Adam(lr=0.1).step(P0, GRADS[0], lr=-1.0)
    with pytest.raises(ValueError, match="learning rate"):
        SGD(lr=0.1).step(P0, GRADS[0], lr=float("nan"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(lr=0.1),
        lambda: SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda: Adam(lr=0.01, weight_decay=0.1),
        lambda: AdamW(lr=0.01, amsgrad=True),
    ],
)
def test_element_wise_optimizers_decompose_over_slices(make):
    """One optimizer per bucket (as the parameter server does) equals one on the whole vector."""
    rng = np.random.default_rng(1)
    params = rng.standard_normal(10)
    grads = [rng.standard_normal(10) for _ in range(4)]
    whole = _run(make(), grads, params, lrs=[0.01, 0.02, 0.03, 0.04])
    slices = [slice(0, 3), slice(3, 4), slice(4, 10)]
    parts = [make() for _ in slices]
    p = params.copy()
    for t, grad in enumerate(grads):
        p = np.concatenate([opt.step(p[s], grad[s], lr=0.01 * (t + 1)) for opt, s in zip(parts, slices, strict=True)])
        np.testing.assert_allclose(p, whole[t], rtol=0, atol=1e-15)


def test_state_bytes_and_inputs_untouched():
    opt = Adam(lr=0.1)
    assert opt.state_bytes() == 0
    params, grad = np.zeros(1000), np.ones(1000)
    opt.step(params, grad)
    assert opt.state_bytes() == 16_000 and opt.steps == 1
    assert np.all(params == 0) and np.all(grad == 1)
    ams = AdamW(lr=0.1, amsgrad=True)
    ams.step(np.zeros(10), np.ones(10))
    assert ams.state_bytes() == 240
    with pytest.raises(ValueError, match="moment buffers"):
        opt.step(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="1-D of equal shape"):
        Adam(lr=0.1).step(np.zeros(3), np.zeros(2))


def test_factory_and_defaults():
    adam = make_optimizer("adam", lr=0.001)
    assert (adam.beta1, adam.beta2, adam.eps, adam.weight_decay, adam.amsgrad) == (0.9, 0.999, 1e-8, 0.0, False)
    adamw = make_optimizer("adamw", lr=0.001, beta1=0.8, amsgrad=True)
    assert isinstance(adamw, AdamW) and adamw.weight_decay == 0.01 and adamw.beta1 == 0.8


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("adam", {}, r"^training\.lr: required by optimizer 'adam'$"),
        ("adam", {"lr": 0.0}, r"^training\.lr: "),
        ("adam", {"lr": 0.1, "beta1": 1.0}, r"^training\.beta1: "),
        ("adamw", {"lr": 0.1, "beta2": -0.1}, r"^training\.beta2: "),
        ("adam", {"lr": 0.1, "eps": 0.0}, r"^training\.eps: "),
        ("adamw", {"lr": 0.1, "weight_decay": -1.0}, r"^training\.weight_decay: "),
        ("adam", {"lr": 0.1, "amsgrad": 1}, r"^training\.amsgrad: must be true or false"),
        ("adamw", {"lr": 0.1, "momentum": 0.9}, r"^training\.momentum: not an option of optimizer 'adamw'; accepted: lr, beta1"),
    ],
)
def test_bad_values_name_the_field(name, kwargs, message):
    with pytest.raises(ScenarioError, match=message):
        make_optimizer(name, **kwargs)
