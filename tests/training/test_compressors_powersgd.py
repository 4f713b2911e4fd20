"""PowerSGD: exact low-rank reconstruction, warm start, error feedback, rounds and phases."""

import numpy as np
import pytest

from netsim.training.compression import PowerSGD, exchange_locally, orthogonalize, worker_rngs

N_ROWS, N_COLS = 64, 33


def _run(compressor, grads, states, rngs):
    return exchange_locally(compressor, [g.ravel() for g in grads], states, rngs)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_rank_r_mean_is_reconstructed_exactly_in_one_exchange(rank):
    """If Σ_w M_w has rank <= r, P = M Q spans its columns, so P Pᵀ M = M from a random Q."""
    rng = np.random.default_rng(rank)
    right = rng.standard_normal((N_COLS, rank))
    grads = [rng.standard_normal((N_ROWS, rank)) @ right.T for _ in range(3)]  # Σ has rank r
    c = PowerSGD(rank)
    states = [c.init_state([(N_ROWS, N_COLS)]) for _ in grads]
    out = _run(c, grads, states, worker_rngs(c, 0, 3))
    mean = sum(grads) / 3
    np.testing.assert_allclose(
        out.outputs[0].reshape(N_ROWS, N_COLS), mean, rtol=0, atol=1e-12 * np.abs(mean).max()
    )
    # the residuals use the aggregated result: each is M_w − mean, and they sum to 0
    errors = [s.buffers["error"].reshape(N_ROWS, N_COLS) for s in states]
    np.testing.assert_allclose(errors[0], grads[0] - mean, atol=1e-12 * np.abs(mean).max())
    np.testing.assert_allclose(sum(errors), 0, atol=1e-11 * np.abs(mean).max())
    # wire: 4r(m + n) in two rounds
    assert [r[0].label for r in out.rounds] == ["P", "Q"]
    assert out.wire_bytes() == [4 * rank * (N_ROWS + N_COLS)] * 3


def test_full_rank_matrix_is_not_reconstructed():
    grad = np.random.default_rng(0).standard_normal((N_ROWS, N_COLS))
    c = PowerSGD(1, error_feedback=False)
    out = _run(c, [grad], [c.init_state([(N_ROWS, N_COLS)])], worker_rngs(c, 0, 1))
    assert np.linalg.norm(out.outputs[0] - grad.ravel()) > 0.5 * np.linalg.norm(grad)


def _matrix_with_spectrum(values, seed=0):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((N_ROWS, len(values))))
    v, _ = np.linalg.qr(rng.standard_normal((N_COLS, len(values))))
    return (u * np.asarray(values)) @ v.T


def test_warm_start_converges_to_the_best_rank_r_approximation():
    """Same matrix every step, no error feedback: warm start is a power iteration."""
    sigma = [10.0, 3.0, 1.0, 0.5]
    grad = _matrix_with_spectrum(sigma)
    best = np.sqrt(sum(s**2 for s in sigma[1:]))  # Eckart–Young, rank 1
    errors = {}
    for warm in (True, False):
        c = PowerSGD(1, warm_start=warm, error_feedback=False)
        state, rng = c.init_state([(N_ROWS, N_COLS)]), np.random.default_rng(4)
        errors[warm] = [
            np.linalg.norm(
                _run(c, [grad], [state], [rng]).outputs[0].reshape(N_ROWS, N_COLS) - grad
            )
            for _ in range(25)
        ]
    assert errors[True][-1] == pytest.approx(best, rel=1e-9)
    assert errors[True][0] > best * 1.01  # it does start from a random Q
    assert min(errors[False]) > best * 1.001  # a fresh random Q every step never gets there


def test_error_feedback_conserves_the_mean_over_steps():
    """Σ_t output_t + (1/p) Σ_w e_w = (1/p) Σ_t Σ_w g_w,t (PyTorch's residuals)."""
    workers, steps = 3, 30
    c = PowerSGD(2)
    shapes = [(16, 12), (12,), (3, 4, 5)]
    states = [c.init_state(shapes) for _ in range(workers)]
    rngs = worker_rngs(c, 5, workers)
    data = np.random.default_rng(6)
    applied, fed = np.zeros(16 * 12 + 12 + 60), np.zeros(16 * 12 + 12 + 60)
    for _ in range(steps):
        grads = [data.standard_normal(fed.size) for _ in range(workers)]
        fed += sum(grads) / workers
        applied += exchange_locally(c, grads, states, rngs).outputs[0]
    residual = sum(s.buffers["error"] for s in states) / workers
    np.testing.assert_allclose(applied + residual, fed, atol=1e-10)


def test_uncompressed_tensors_and_plan():
    c = PowerSGD(1)
    plan = c.plan([(4, 4), (5, 5), (7,), (2, 3, 5), ()])
    # (4+4)·1·2 = 16 is not < 16; (5+5)·2 = 20 < 25; a vector is d × 1; (2, 3, 5) is 2 × 15
    assert [(p.rows, p.cols, p.compressed) for p in plan] == [
        (4, 4, False),
        (5, 5, True),
        (7, 1, False),
        (2, 15, False),
        (1, 1, False),
    ]
    assert [p.start for p in plan] == [0, 16, 41, 48, 78]
    assert PowerSGD(1, min_compression_rate=0).plan([(4, 4)])[0].compressed
    # with nothing compressed the exchange is one exact allreduce
    grads = [np.arange(23.0), -np.ones(23)]
    only = PowerSGD(1)
    out = exchange_locally(
        only, grads, [only.init_state([(4, 4), (7,)]) for _ in grads], worker_rngs(only, 0, 2)
    )
    assert len(out.rounds) == 1 and out.rounds[0][0].wire_bytes == 4 * 23
    np.testing.assert_allclose(out.outputs[0], (grads[0] + grads[1]) / 2)


def test_rank_is_capped_by_the_matrix():
    c = PowerSGD(8, min_compression_rate=0)
    assert [(p.rank) for p in c.plan([(64, 3), (3, 64)])] == [3, 3]


def test_start_step_sends_dense_then_compresses():
    c = PowerSGD(1, start_step=2)
    grads = [np.random.default_rng(w).standard_normal(N_ROWS * N_COLS) for w in range(2)]
    states = [c.init_state([(N_ROWS, N_COLS)]) for _ in grads]
    rngs = worker_rngs(c, 0, 2)
    labels = []
    for step in range(4):
        out = exchange_locally(c, grads, states, rngs)
        labels.append([r[0].label for r in out.rounds])
        if step < 2:
            np.testing.assert_allclose(out.outputs[0], (grads[0] + grads[1]) / 2)
            assert not states[0].buffers["error"].any()
    assert labels == [["dense"], ["dense"], ["P", "Q"], ["P", "Q"]]
    assert states[0].step == 4


def test_phases_equal_the_generator_and_state_bytes():
    shapes = [(N_ROWS, N_COLS), (N_COLS,)]
    grads = [np.random.default_rng(w).standard_normal(N_ROWS * N_COLS + N_COLS) for w in range(2)]
    c = PowerSGD(2)
    via_generator = exchange_locally(
        c, grads, [c.init_state(shapes) for _ in grads], worker_rngs(c, 1, 2)
    )
    states = [c.init_state(shapes) for _ in grads]
    rngs = worker_rngs(c, 1, 2)
    first = [c.encode_p(g, s, r) for g, s, r in zip(grads, states, rngs, strict=True)]
    assert first[0].wire_bytes == 4 * (N_COLS + 2 * N_ROWS)
    p_sum = first[0].data + first[1].data
    second = [c.encode_q(p_sum, s) for s in states]
    assert second[0].wire_bytes == 4 * 2 * N_COLS
    q_sum = second[0].data + second[1].data
    outputs = [c.decode_q(q_sum, s, 2) for s in states]
    np.testing.assert_array_equal(outputs[0], via_generator.outputs[0])
    # memory: the residual (8 bytes per element) and the warm-start Q (8 per element of Q)
    assert states[0].state_bytes() == 8 * (N_ROWS * N_COLS + N_COLS) + 8 * 2 * N_COLS
    assert PowerSGD(1, error_feedback=False, warm_start=False).init_state(shapes).state_bytes() == 0


def test_shared_generator_is_required():
    c = PowerSGD(1)
    with pytest.raises(TypeError, match="Generator"):
        next(c.exchange(np.ones(N_ROWS * N_COLS), c.init_state([(N_ROWS, N_COLS)]), None, 1))
    # workers with different seeds draw different Qs: their P's cannot be summed meaningfully
    grads = [np.ones(N_ROWS * N_COLS)] * 2
    states = [c.init_state([(N_ROWS, N_COLS)]) for _ in grads]
    requests = [
        next(c.exchange(g, s, np.random.default_rng(i), 2))
        for i, (g, s) in enumerate(zip(grads, states, strict=True))
    ]
    assert not np.allclose(requests[0].data, requests[1].data)


def test_orthogonalize():
    matrix = np.random.default_rng(0).standard_normal((10, 3))
    q = orthogonalize(matrix.copy())
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    zero = orthogonalize(np.zeros((4, 2)))
    assert not zero.any()  # no division by zero
