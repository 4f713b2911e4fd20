"""Behaviour of the compressors: rounding, selection, votes, error feedback, DGC, protocol."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from netsim.training import compression
from netsim.training.compression import (
    BF16,
    DGC,
    FP16,
    QSGD,
    ErrorFeedback,
    NoCompression,
    OneBitQuantizer,
    PowerSGD,
    RandomK,
    ScaledSign,
    SignSGD,
    TernGrad,
    Threshold,
    TopK,
    base,
    bf16_round,
    compression_units,
    compressor_names,
    driver,
    exchange_locally,
    feedback,
    lowrank,
    make_compressor,
    quantize,
    registry,
    sign,
    sparsify,
    top_k_indices,
    worker_rngs,
)

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def _encode_decode(compressor, grad, rng=None):
    payload = compressor.encode(
        np.asarray(grad, dtype=float), compressor.init_state(len(grad)), rng
    )
    return payload, compressor.decode(payload)


# --- fp16 / bf16 rounding ------------------------------------------------------------------


def test_fp16_rounding_exact_values():
    values = [
        0.1,
        1 + 2**-11,
        1 + 3 * 2**-11,
        65504.0,
        65519.0,
        65520.0,
        -70000.0,
        2**-24,
        2**-25,
        3 * 2**-26,
        -0.0,
    ]
    expected = [
        1638 / 16384,
        1.0,
        1 + 2**-9,
        65504.0,
        65504.0,
        np.inf,
        -np.inf,
        2**-24,
        0.0,
        2**-24,
        -0.0,
    ]
    _, out = _encode_decode(FP16(), values)
    np.testing.assert_array_equal(out, expected)
    assert np.signbit(out[-1])


def test_bf16_rounding_exact_values():
    values = [
        1 + 2**-8,
        1 + 3 * 2**-8,
        1 + 2**-8 + 2**-20,
        3.0,
        0.1,
        -1.5,
        65504.0,
        3.4028234663852886e38,
        np.nan,
    ]
    expected = [1.0, 1 + 2**-6, 1 + 2**-7, 3.0, 0.10009765625, -1.5, 65536.0, np.inf, np.nan]
    _, out = _encode_decode(BF16(), values)
    np.testing.assert_array_equal(out, expected)
    assert not np.any(bf16_round(np.array(values)).view(np.uint32) & 0xFFFF)


def _round_significand(x: float, bits: int) -> float:
    """Independent reference: round to ``bits`` significant bits, ties to even (normal numbers)."""
    mantissa, exponent = np.frexp(x)
    return float(np.ldexp(np.rint(mantissa * 2.0**bits), exponent - bits))


@given(
    st.floats(width=32, min_value=2.0**-100, max_value=2.0**100)
    | st.floats(width=32, min_value=-(2.0**100), max_value=-(2.0**-100))
)
def test_bf16_matches_reference(x):
    assert float(bf16_round(np.array([x]))[0]) == _round_significand(x, 8)


@given(
    st.floats(min_value=2.0**-14, max_value=60000.0)
    | st.floats(min_value=-60000.0, max_value=-(2.0**-14))
)
def test_fp16_matches_reference(x):
    _, out = _encode_decode(FP16(), [x])
    assert out[0] == _round_significand(x, 11)


def test_fp16_sum_happens_in_fp16():
    # the allreduce adds float16 arrays: 2048 + 1 = 2049 rounds to 2048 (ulp 2), + 1 -> 2048
    c = FP16()
    grads = [np.array([2048.0, 60000.0]), np.array([1.0, 60000.0]), np.array([1.0, 0.0])]
    out = exchange_locally(c, grads, [c.init_state(2) for _ in grads])
    assert out.rounds[0][0].data.dtype == np.float16
    np.testing.assert_array_equal(out.outputs[0], [2048.0 / 3, np.inf])


def test_bf16_sum_is_rounded_back_to_bf16():
    c = BF16()
    grads = [np.array([1.0, 1.0]), np.array([2**-8, 2**-8]), np.array([0.0, 2**-8])]
    out = exchange_locally(c, grads, [c.init_state(2) for _ in grads])
    assert out.rounds[0][0].data.dtype == np.float32
    # float32 sums 1 + 2^-8 (a tie: bf16 rounds it to 1) and 1 + 2^-7 (a bf16 value); then / 3
    np.testing.assert_array_equal(out.outputs[0], [1 / 3, (1 + 2**-7) / 3])


def test_none_is_exact_mean():
    c = NoCompression()
    grads = [np.array([0.1, 0.2]), np.array([0.3, -0.4])]
    out = exchange_locally(c, grads, [c.init_state(2) for _ in grads])
    np.testing.assert_array_equal(out.outputs[1], (grads[0] + grads[1]) / 2)


# --- sparsification -----------------------------------------------------------------------


@given(arrays(np.float64, st.integers(1, 60), elements=FINITE), st.floats(0.001, 1.0))
def test_topk_keeps_exactly_the_k_largest(grad, ratio):
    c = TopK(ratio)
    payload, dense = _encode_decode(c, grad)
    k = compression.count_for_ratio(ratio, grad.size)
    kept = payload.parts["indices"]
    assert kept.size == k and np.all(np.diff(kept) > 0)
    np.testing.assert_array_equal(payload.parts["values"], grad[kept])
    dropped = np.setdiff1d(np.arange(grad.size), kept)
    if dropped.size:
        assert np.abs(grad[kept]).min() >= np.abs(grad[dropped]).max()
        # ties at the k-th magnitude go to the lower indices
        kth = np.abs(grad[kept]).min()
        tied_dropped = dropped[np.abs(grad[dropped]) == kth]
        tied_kept = kept[np.abs(grad[kept]) == kth]
        if tied_dropped.size:
            assert tied_kept.max() < tied_dropped.min()
    np.testing.assert_array_equal(dense[kept], grad[kept])
    assert np.count_nonzero(dense[dropped]) == 0


def test_topk_hand_case_and_global_scope():
    assert top_k_indices(np.array([1.0, -5.0, 3.0, 5.0, 5.0]), 2).tolist() == [1, 3]
    grad = np.array([9.0, 8.0, 0.1, 0.2, 0.3, 0.4])
    layer = TopK(0.5)  # units [0:2] and [2:6], k = 1 and 2
    pieces = [
        layer.decode(layer.encode(grad[a:b], layer.init_state(b - a))) for a, b in [(0, 2), (2, 6)]
    ]
    np.testing.assert_array_equal(np.concatenate(pieces), [9.0, 0, 0, 0, 0.3, 0.4])
    glob = TopK(0.5, scope="global")
    units = compression_units(glob, [(0, 2), (2, 6)], 6)
    assert units == [(0, 6)]
    out = glob.decode(glob.encode(grad, glob.init_state(6)))
    np.testing.assert_array_equal(out, [9.0, 8.0, 0, 0, 0, 0.4])  # k = 3 of 6
    assert compression_units(layer, [(2, 6), (0, 2)], 6) == [(2, 6), (0, 2)]


def test_threshold_keeps_strictly_above():
    payload, dense = _encode_decode(Threshold(1.0), [0.5, -1.0, 1.5, -2.0])
    np.testing.assert_array_equal(dense, [0, 0, 1.5, -2.0])


def test_randomk_shared_seed_indices_and_summation():
    c = RandomK(0.3)
    grads = [np.arange(10.0) * (w + 1) for w in range(3)]
    rngs = worker_rngs(c, 42, 3)
    out = exchange_locally(c, grads, [c.init_state(10) for _ in grads], rngs)
    request = out.rounds[0][0]
    assert request.op == "allreduce" and request.data.size == 3 and request.wire_bytes == 12
    indices = np.sort(np.random.default_rng(42).choice(10, size=3, replace=False))
    expected = np.zeros(10)
    expected[indices] = (np.arange(10.0) * 6 / 3)[indices] * 10 / 3
    np.testing.assert_allclose(out.outputs[2], expected, rtol=1e-15)
    # unscaled: the plain kept values
    plain = RandomK(0.3, scaled=False)
    payload, dense = _encode_decode(plain, np.arange(10.0), np.random.default_rng(42))
    np.testing.assert_array_equal(dense[indices], np.arange(10.0)[indices])


def test_randomk_payloads_from_different_seeds_cannot_be_summed():
    c = RandomK(0.3)
    payloads = [c.encode(np.ones(10), c.init_state(10), np.random.default_rng(s)) for s in (1, 2)]
    with pytest.raises(ValueError, match="different seeds"):
        c.aggregate(payloads)


# --- signs ---------------------------------------------------------------------------------


def _vote(grads):
    c = SignSGD()
    return c.aggregate([c.encode(np.array(g, dtype=float), c.init_state(len(g))) for g in grads])


def test_signsgd_majority_vote_hand_cases():
    # three workers: plain majority per coordinate
    np.testing.assert_array_equal(
        _vote([[1, -1, 2, -3], [2, -2, -1, -1], [-5, 3, 1, 4]]), [1, -1, 1, -1]
    )
    # two workers disagreeing: a tie votes 0 (no step); agreeing: their sign
    np.testing.assert_array_equal(_vote([[1, -1, 1], [-1, 1, 2]]), [0, 0, 1])
    # four workers: 2-2 tie gives 0, 3-1 gives the majority
    np.testing.assert_array_equal(_vote([[1, 1], [1, 1], [-1, 1], [-1, -1]]), [0, 1])
    # zero is sent as +1 (one bit cannot carry 0)
    np.testing.assert_array_equal(_vote([[0.0, -0.0], [-1, -1], [0.0, 0.0]]), [1, 1])
    # a single worker: its sign
    np.testing.assert_array_equal(_vote([[3, -0.5]]), [1, -1])


def test_signsgd_exchange_returns_vote():
    c = make_compressor("signsgd")
    grads = [np.array([1.0, -1.0]), np.array([-1.0, -1.0])]
    out = exchange_locally(c, grads, [c.init_state(2) for _ in grads])
    assert c.aggregation == "majority_vote"
    np.testing.assert_array_equal(out.outputs[0], [0.0, -1.0])


def test_scaled_sign_and_onebit_hand_cases():
    _, dense = _encode_decode(ScaledSign(), [1.0, -2.0, 3.0, 0.0])
    np.testing.assert_array_equal(dense, [1.5, -1.5, 1.5, 1.5])  # ‖p‖₁/d = 6/4
    payload, dense = _encode_decode(OneBitQuantizer(), [1.0, -2.0, 3.0, -4.0, 0.0])
    np.testing.assert_array_equal(payload.parts["means"], [4 / 3, -3.0])
    np.testing.assert_array_equal(dense, [4 / 3, -3.0, 4 / 3, -3.0, 4 / 3])
    _, dense = _encode_decode(OneBitQuantizer(), [1.0, 3.0])
    np.testing.assert_array_equal(dense, [2.0, 2.0])


def test_registered_feedback_methods_are_wrapped():
    assert isinstance(make_compressor("ef_signsgd").inner, ScaledSign)
    assert isinstance(make_compressor("onebit").inner, OneBitQuantizer)
    assert make_compressor("onebit").name == "onebit"


# --- error feedback ------------------------------------------------------------------------

# Contractive compressors (E‖C(x) − x‖² < ‖x‖²): with rescaled unbiased ones (random-k
# scaled by d/k, QSGD with few levels) the residual grows geometrically.
INNERS = {
    "topk": lambda: TopK(0.1),
    "randomk_unscaled": lambda: RandomK(0.2, scaled=False),
    "threshold": lambda: Threshold(0.8),
    "qsgd": lambda: QSGD(16),
    "terngrad": lambda: TernGrad(),
    "signsgd": lambda: SignSGD(),
    "scaled_sign": lambda: ScaledSign(),
    "onebit": lambda: OneBitQuantizer(),
    "fp16": lambda: FP16(),
    "bf16": lambda: BF16(),
}


@pytest.mark.parametrize("lr", [None, 0.05])
@pytest.mark.parametrize("inner", sorted(INNERS))
def test_error_feedback_conserves_the_sum(inner, lr):
    ef = ErrorFeedback(INNERS[inner](), lr=lr)
    d, steps = 50, 200
    state = ef.init_state(d)
    rng, data = np.random.default_rng(7), np.random.default_rng(8)
    sent, fed = np.zeros(d), np.zeros(d)
    for _ in range(steps):
        grad = data.standard_normal(d)
        fed += grad if lr is None else lr * grad
        sent += ef.decode(ef.encode(grad, state, rng))
    scale = np.abs(fed).max()
    np.testing.assert_allclose(sent + ef.residual(state), fed, rtol=0, atol=1e-12 * steps * scale)
    assert ef.update_units is (lr is not None)
    assert state.state_bytes() == 8 * d and state.inner.step == steps


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (5, 12), elements=FINITE), st.floats(0.05, 1.0))
def test_error_feedback_conservation_property(grads, ratio):
    ef = ErrorFeedback(TopK(ratio))
    state = ef.init_state(12)
    sent = sum(ef.decode(ef.encode(g, state)) for g in grads)
    np.testing.assert_allclose(sent + ef.residual(state), grads.sum(axis=0), rtol=1e-12, atol=1e-6)


def test_error_feedback_aggregates_like_inner():
    ef = make_compressor("topk", ratio=0.5, error_feedback=True)
    grads = [np.array([3.0, 1.0]), np.array([1.0, 2.0])]
    states = [ef.init_state(2) for _ in grads]
    first = exchange_locally(ef, grads, states)
    np.testing.assert_array_equal(first.outputs[0], [1.5, 1.0])
    # residuals [0, 1] and [1, 0] fed back: p = [3, 2] sends 3; p = [2, 2] is a tie, sends index 0
    second = exchange_locally(ef, grads, states)
    np.testing.assert_array_equal(second.outputs[0], [2.5, 0.0])
    np.testing.assert_array_equal(ef.residual(states[0]), [0.0, 2.0])


def test_error_feedback_rejects_builtin_and_two_round_methods():
    for inner in (PowerSGD(), DGC(), ErrorFeedback(TopK()), make_compressor("onebit")):
        with pytest.raises(TypeError):
            ErrorFeedback(inner)


# --- DGC ------------------------------------------------------------------------------------


def test_dgc_momentum_correction_and_masking_hand_case():
    c = DGC(sparsity=0.75, momentum=0.5)  # d = 4: k = 1
    state = c.init_state(4)
    first = c.decode(c.encode(np.array([1.0, 2.0, 3.0, 4.0]), state))
    np.testing.assert_array_equal(first, [0, 0, 0, 4.0])
    np.testing.assert_array_equal(state.buffers["accumulation"], [1.0, 2.0, 3.0, 0.0])
    np.testing.assert_array_equal(state.buffers["velocity"], [1.0, 2.0, 3.0, 0.0])  # masked
    # u = 0.5 u + g = [1.5, 2, 2.5, 1]; v = v + u = [2.5, 4, 5.5, 1]: send 5.5
    second = c.decode(c.encode(np.ones(4), state))
    np.testing.assert_array_equal(second, [0, 0, 5.5, 0])
    np.testing.assert_array_equal(state.buffers["accumulation"], [2.5, 4.0, 0.0, 1.0])
    np.testing.assert_array_equal(state.buffers["velocity"], [1.5, 2.0, 0.0, 1.0])
    assert state.state_bytes() == 2 * 8 * 4


def test_dgc_warmup_schedule():
    c = DGC(warmup_steps=2)
    schedule = [c.sparsity_at(t) for t in range(11)]
    assert schedule == [
        0.75,
        0.75,
        0.9375,
        0.9375,
        0.984375,
        0.984375,
        0.996,
        0.996,
        0.999,
        0.999,
        0.999,
    ]
    assert [DGC().sparsity_at(t) for t in (0, 100)] == [0.999, 0.999]  # warm-up off by default
    custom = DGC(sparsity=0.9, warmup=[0.5], warmup_steps=3)
    assert [custom.sparsity_at(t) for t in range(5)] == [0.5, 0.5, 0.5, 0.9, 0.9]
    # the realised payloads follow it: d = 64 gives k = 16, 16, 4, 4, 1, 1, 1, 1, 1
    state = c.init_state(64)
    rng = np.random.default_rng(0)
    sizes = [c.encode(rng.standard_normal(64), state).parts["indices"].size for _ in range(9)]
    assert sizes == [16, 16, 4, 4, 1, 1, 1, 1, 1]


def test_dgc_local_clipping():
    c = DGC(sparsity=0.5, momentum=0.0, clip_norm=1.0)
    state = c.init_state(2)
    np.testing.assert_allclose(c.decode(c.encode(np.array([3.0, 4.0]), state)), [0.0, 0.8])
    np.testing.assert_allclose(state.buffers["accumulation"], [0.6, 0.0])


def test_dgc_without_momentum_is_topk_with_error_feedback():
    dgc, ef = DGC(sparsity=0.9, momentum=0.0), ErrorFeedback(TopK(0.1))
    s1, s2 = dgc.init_state(30), ef.init_state(30)
    rng = np.random.default_rng(5)
    for _ in range(20):
        grad = rng.standard_normal(30)
        np.testing.assert_array_equal(
            dgc.decode(dgc.encode(grad, s1)), ef.decode(ef.encode(grad, s2))
        )


# --- protocol, determinism, state ------------------------------------------------------------


def _params(name):
    return {"threshold": 0.5} if name == "threshold" else {}


@pytest.mark.parametrize("name", compressor_names())
def test_determinism_given_the_generator(name):
    c = make_compressor(name, **_params(name))
    shapes, workers = [(6, 5), (5,)], 3
    grads = [np.random.default_rng(w).standard_normal(35) for w in range(workers)]

    def run(seed):
        states = [c.init_state(shapes) for _ in range(workers)]
        rngs = worker_rngs(c, seed, workers)
        return [exchange_locally(c, grads, states, rngs).outputs for _ in range(3)]

    first, again, other = run(11), run(11), run(12)
    for a, b in zip(first, again, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    for outputs in first:  # every worker ends with the same aggregate
        for out in outputs[1:]:
            np.testing.assert_array_equal(out, outputs[0])
    if c.needs_rng and name != "powersgd":  # PowerSGD only draws its first Q
        assert any(not np.array_equal(x[0], y[0]) for x, y in zip(first, other, strict=True))


@pytest.mark.parametrize("name", compressor_names())
def test_protocol_flags_match_rounds(name):
    c = make_compressor(name, **_params(name))
    grads = [np.linspace(-1, 1, 35) * (w + 1) for w in range(2)]
    out = exchange_locally(c, grads, [c.init_state([(7, 5)]) for _ in grads], worker_rngs(c, 0, 2))
    assert len(out.rounds) == c.rounds
    assert {r[0].op for r in out.rounds} == {"allreduce" if c.summable else "all_gather"}
    for rounds in out.rounds:
        if rounds[0].op == "allreduce":
            assert rounds[0].data.ndim == 1
    assert out.outputs[0].shape == (35,)


def test_stochastic_methods_need_a_generator():
    for c in (QSGD(), TernGrad(), RandomK()):
        with pytest.raises(TypeError, match="Generator"):
            c.encode(np.ones(4), c.init_state(4), None)
    with pytest.raises(ValueError, match="1-D vector of 4"):
        TopK().encode(np.ones(5), TopK().init_state(4))


def test_aggregate_and_exchange_errors():
    c = TopK(0.5)
    with pytest.raises(ValueError, match="at least one"):
        c.aggregate([])
    with pytest.raises(ValueError, match="different sizes"):
        c.aggregate([c.encode(np.ones(2), c.init_state(2)), c.encode(np.ones(4), c.init_state(4))])
    session = c.exchange(np.ones(2), c.init_state(2), None, 3)
    request = next(session)
    with pytest.raises(ValueError, match="expected 3 gathered"):
        session.send([request.data])
    with pytest.raises(TypeError, match="not summable"):
        c.decode_sum(np.ones(2), request.data, 2)


def test_worker_rngs_shared_or_independent():
    shared = worker_rngs(RandomK(), 3, 2)
    assert shared[0].random() == shared[1].random()
    own = worker_rngs(QSGD(), 3, 2)
    assert own[0].random() != own[1].random()


def test_repr_and_state_bytes():
    assert repr(TopK(0.1)) == "TopK(ratio=0.1, index_bytes=4, value_bytes=4, scope='layerwise')"
    assert TopK().init_state([(3, 4), 2]).size == 14 and TopK().init_state(5).state_bytes() == 0
    with pytest.raises(ValueError):
        TopK().init_state(0)


@pytest.mark.parametrize(
    "module",
    [compression, base, driver, quantize, sign, sparsify, lowrank, feedback, registry],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --- end to end: data-parallel gradient descent through the exchange -------------------------

CONVERGENCE_PARAMS = {
    "threshold": {"threshold": 0.05, "error_feedback": True},
    "topk": {"ratio": 0.1, "error_feedback": True},
    "randomk": {"ratio": 0.2, "scaled": False, "error_feedback": True},
    "dgc": {"sparsity": 0.9, "momentum": 0.0},
}


@pytest.mark.parametrize("name", compressor_names())
def test_data_parallel_least_squares_converges(name):
    """Four workers, full-batch gradients of their least-squares shards, 400 steps."""
    rng = np.random.default_rng(0)
    workers, d = 4, 35
    A = [rng.standard_normal((40, d)) for _ in range(workers)]
    truth = rng.standard_normal(d)
    b = [a @ truth + 0.1 * rng.standard_normal(40) for a in A]
    stacked, target = np.vstack(A), np.concatenate(b)
    optimum = np.linalg.lstsq(stacked, target, rcond=None)[0]

    def loss(x):
        return 0.5 * np.mean((stacked @ x - target) ** 2)

    c = make_compressor(name, **CONVERGENCE_PARAMS.get(name, {}))
    states, rngs = [c.init_state([(7, 5)]) for _ in range(workers)], worker_rngs(c, 1, workers)
    x, exact = np.zeros(d), np.zeros(d)
    lr = 0.01 if name == "signsgd" else 0.05
    for _ in range(400):
        grads = [a.T @ (a @ x - t) / 40 for a, t in zip(A, b, strict=True)]
        x = x - lr * exchange_locally(c, grads, states, rngs).outputs[0]
        if name == "none":
            exact_grads = [a.T @ (a @ exact - t) / 40 for a, t in zip(A, b, strict=True)]
            exact = (
                exact
                - lr * (((exact_grads[0] + exact_grads[1]) + exact_grads[2]) + exact_grads[3]) / 4
            )
    gap = (loss(x) - loss(optimum)) / (loss(np.zeros(d)) - loss(optimum))
    assert gap < 1e-3
    if name == "none":  # no compression: bit-identical to plain large-batch gradient descent
        np.testing.assert_array_equal(x, exact)
