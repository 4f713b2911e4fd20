"""Binomial broadcast: exact copies, any root, closed-form times, pipelining."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.broadcast import binomial_children, binomial_parent
from netsim.topology import star
from tests.collectives.helpers import ALPHA, BETA, LENGTHS, PS, SIZES, B, L, full_mesh, lg


def broadcast_inputs(p, length, root, seed=0):
    vector = np.random.default_rng(seed).standard_normal(length)
    return vector, [vector if r == root else None for r in range(p)]


def roots(p):
    return sorted({0, p // 2, p - 1})


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("chunks", [1, 3])
def test_every_rank_gets_the_roots_vector(p, length, chunks):
    for root in roots(p):
        vector, data = broadcast_inputs(p, length, root, seed=p * 100 + length)
        run = simulate_collective(
            star(p, B, L), "binomial_broadcast", data, root=root, chunks=chunks
        )
        for out in run.outputs:
            assert out.shape == (length,)
            np.testing.assert_array_equal(out, vector)
            assert not np.shares_memory(out, vector)
        assert run.comm.pending_messages() == 0


def test_input_is_not_modified_and_outputs_are_independent():
    vector, data = broadcast_inputs(8, 100, 5)
    before = vector.copy()
    run = simulate_collective(star(8, B, L), "binomial", data, root=5, chunks=4)
    np.testing.assert_array_equal(vector, before)
    run.outputs[0][:] = 0.0
    np.testing.assert_array_equal(run.outputs[1], before)
    np.testing.assert_array_equal(vector, before)


@settings(max_examples=40, deadline=None)
@given(
    p=st.integers(1, 12),
    length=st.integers(0, 40),
    root_frac=st.floats(0, 1, exclude_max=True),
    chunks=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_broadcast_property(p, length, root_frac, chunks, seed):
    root = int(root_frac * p)
    vector, data = broadcast_inputs(p, length, root, seed)
    run = simulate_collective(star(p, B, L), "binomial_broadcast", data, root=root, chunks=chunks)
    for out in run.outputs:
        np.testing.assert_array_equal(out, vector)


def test_size_only_returns_none_with_the_same_message_pattern():
    p, length, root, chunks = 7, 60, 2, 3
    vector, data = broadcast_inputs(p, length, root)
    real = simulate_collective(star(p, B, L), "binomial_broadcast", data, root=root, chunks=chunks)
    sizes = simulate_collective(
        star(p, B, L), "binomial_broadcast", nbytes=vector.nbytes, root=root, chunks=chunks
    )
    assert sizes.outputs == [None] * p
    assert sizes.comm.messages == real.comm.messages
    assert sizes.comm.bytes_sent == pytest.approx(real.comm.bytes_sent, rel=1e-12)
    assert sizes.time == pytest.approx(real.time, rel=1e-12)
    # every non-root rank receives the vector exactly once
    assert sum(sizes.comm.bytes_sent) == pytest.approx((p - 1) * vector.nbytes, rel=1e-12)


def test_tree_shape():
    assert binomial_children(0, 16) == [8, 4, 2, 1]
    assert binomial_children(8, 16) == [12, 10, 9]
    assert binomial_children(0, 6) == [4, 2, 1]
    assert binomial_children(4, 6) == [5]
    for p in range(1, 40):
        seen = {0}
        for v in range(p):
            for child in binomial_children(v, p):
                assert binomial_parent(child, p) == v
                seen.add(child)
        assert seen == set(range(p))
        assert len(binomial_children(0, p)) == lg(p)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star(p, n):
    algo = get_algorithm("binomial_broadcast")
    for root in (0, p - 1):
        run = simulate_collective(star(p, B, L), "binomial_broadcast", nbytes=n, root=root)
        assert run.time == pytest.approx(lg(p) * (ALPHA + n * BETA), rel=1e-9)
        assert run.time == pytest.approx(algo.predict(p, n, ALPHA, BETA), rel=1e-9)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 12])
def test_time_on_a_star_not_a_power_of_two(p):
    n = 1e6
    run = simulate_collective(star(p, B, L), "binomial_broadcast", nbytes=n, root=p - 2)
    assert run.time == pytest.approx(lg(p) * (ALPHA + n * BETA), rel=1e-9)


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_real_arrays_take_the_closed_form_time(model):
    p, length = 8, 4096
    _, data = broadcast_inputs(p, length, 3)
    run = simulate_collective(star(p, B, L), "binomial_broadcast", data, root=3, model=model)
    assert run.time == pytest.approx(lg(p) * (ALPHA + length * 8 * BETA), rel=1e-9)


def star_chunked_time(p, n, c):
    """Exact time of the pipelined binomial broadcast on a star (see the module docstring)."""
    return (lg(p) + c - 1) * ALPHA + lg(p) * n * BETA


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("chunks", [1, 2, 3, 4, 8, 16])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_pipelined_time_on_a_star(p, chunks, n):
    run = simulate_collective(
        star(p, B, L), "binomial_broadcast", nbytes=n, root=p - 1, chunks=chunks
    )
    expected = star_chunked_time(p, n, chunks)
    if chunks == 1 or chunks >= p.bit_length() - 2:  # c = 1 or c >= floor(lg p) - 1
        assert run.time == pytest.approx(expected, rel=1e-9)
    else:  # p = 16, c = 2: the deepest subtree lags behind the shared root uplink
        assert expected * (1 - 1e-9) <= run.time < 1.13 * expected
        if n >= 1e6:
            assert run.time > 1.1 * expected


@pytest.mark.parametrize("p", [2, 4, 8, 16])
def test_chunked_real_arrays_on_a_star(p):
    chunks, length = 4, 4096
    _, data = broadcast_inputs(p, length, 1)
    run = simulate_collective(star(p, B, L), "binomial_broadcast", data, root=1, chunks=chunks)
    assert run.time == pytest.approx(star_chunked_time(p, length * 8, chunks), rel=1e-9)


def pipelined_formula(p, n, c, alpha=L, beta=BETA):
    return (lg(p) + c - 1) * (alpha + n / c * beta)


@pytest.mark.parametrize("p", [2, 3, 4, 5, 8, 16])
@pytest.mark.parametrize("chunks", [1, 2, 5, 16])
def test_pipelined_time_on_a_full_mesh_is_the_references_formula(p, chunks):
    for n in (1e4, 1e8):
        run = simulate_collective(
            full_mesh(p), "binomial_broadcast", nbytes=n, root=p // 2, chunks=chunks
        )
        assert run.time == pytest.approx(pipelined_formula(p, n, chunks), rel=1e-9)


def test_time_falls_with_chunks_until_latency_dominates():
    p, n = 8, 1e6  # optimum near c = sqrt((lg p - 1) n beta / alpha) ~ 23
    times = {
        c: simulate_collective(full_mesh(p), "binomial_broadcast", nbytes=n, chunks=c).time
        for c in (1, 2, 4, 8, 16, 64, 128, 256)
    }
    assert times[1] > times[2] > times[4] > times[8] > times[16]
    assert times[16] < times[64] < times[128] < times[256]
    assert times[16] < 0.45 * times[1]
    for c, t in times.items():
        assert t == pytest.approx(pipelined_formula(p, n, c), rel=1e-9)


def test_chunking_does_not_beat_the_root_uplink_on_a_star():
    p, n = 8, 1e8
    for c in (1, 4, 32):
        run = simulate_collective(star(p, B, L), "binomial_broadcast", nbytes=n, chunks=c)
        assert run.time >= lg(p) * n * BETA


def test_single_rank_costs_nothing():
    run = simulate_collective(star(1, B, L), "binomial_broadcast", [np.arange(3.0)], chunks=2)
    assert run.time == 0.0
    np.testing.assert_array_equal(run.outputs[0], np.arange(3.0))


@pytest.mark.parametrize(
    "bad", [{"root": 4}, {"root": -1}, {"root": 1.5}, {"chunks": 0}, {"chunks": 2.0}]
)
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValueError):
        simulate_collective(star(4, B, L), "binomial_broadcast", nbytes=1e3, **bad)


def test_registry_entry():
    algo = get_algorithm("binomial")
    assert algo.name == "binomial_broadcast" and algo.operation == "broadcast"
    assert set(algo.options) == {"root", "chunks"}
