"""Binomial reduce: the exact sum at any root, closed-form times, pipelining."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import get_algorithm, simulate_collective
from netsim.topology import star
from tests.collectives.helpers import ALPHA, BETA, LENGTHS, PS, SIZES, B, L, full_mesh, lg, vectors


def check_reduce(run, data, root):
    expected = np.sum(data, axis=0)
    for rank, out in enumerate(run.outputs):
        if rank == root:
            assert out.shape == expected.shape
            np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
        else:
            assert out is None


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("chunks", [1, 3])
def test_the_root_gets_the_exact_sum(p, length, chunks):
    for root in sorted({0, p // 2, p - 1}):
        data = vectors(p, length, seed=p * 100 + length)
        run = simulate_collective(star(p, B, L), "binomial_reduce", data, root=root, chunks=chunks)
        check_reduce(run, data, root)
        assert run.comm.pending_messages() == 0


def test_reduction_order_is_the_trees():
    # p = 4, root 0: rank 2 adds rank 3's vector to its own, rank 0 adds rank 1's then rank 2's.
    x = [
        np.array([1e16, 1.0, -3.5]),
        np.array([1.0, 1e-3, 2.0]),
        np.array([-1e16, 7.0, 1e-9]),
        np.array([3.0, 1e16, 0.25]),
    ]
    run = simulate_collective(star(4, B, L), "binomial_reduce", x)
    expected = (x[3] + x[2]) + (x[1] + x[0])
    np.testing.assert_array_equal(run.outputs[0], expected)


def test_inputs_are_not_modified():
    data = vectors(6, 50)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(6, B, L), "binomial_reduce", data, root=4, chunks=3)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    assert not any(np.shares_memory(run.outputs[4], d) for d in data)


def test_a_single_rank_gets_a_copy():
    data = vectors(1, 5)
    run = simulate_collective(star(1, B, L), "binomial_reduce", data, chunks=2)
    np.testing.assert_array_equal(run.outputs[0], data[0])
    assert not np.shares_memory(run.outputs[0], data[0])
    assert run.time == 0.0


@settings(max_examples=40, deadline=None)
@given(
    p=st.integers(1, 12),
    length=st.integers(0, 40),
    root_frac=st.floats(0, 1, exclude_max=True),
    chunks=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_reduce_property(p, length, root_frac, chunks, seed):
    root = int(root_frac * p)
    data = vectors(p, length, seed)
    run = simulate_collective(star(p, B, L), "binomial_reduce", data, root=root, chunks=chunks)
    check_reduce(run, data, root)


def test_size_only_returns_none_with_the_same_message_pattern():
    p, length = 6, 60
    data = vectors(p, length)
    real = simulate_collective(star(p, B, L), "binomial_reduce", data, root=5, chunks=3)
    sizes = simulate_collective(
        star(p, B, L), "binomial_reduce", nbytes=length * 8.0, root=5, chunks=3
    )
    assert sizes.outputs == [None] * p
    assert sizes.comm.messages == real.comm.messages
    assert sizes.comm.bytes_sent == pytest.approx(real.comm.bytes_sent, rel=1e-12)
    assert sizes.time == pytest.approx(real.time, rel=1e-12)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star(p, n):
    algo = get_algorithm("binomial_reduce")
    for root in (0, p - 1):
        run = simulate_collective(star(p, B, L), "binomial_reduce", nbytes=n, root=root)
        assert run.time == pytest.approx(lg(p) * (ALPHA + n * BETA), rel=1e-9)
        assert run.time == pytest.approx(algo.predict(p, n, ALPHA, BETA), rel=1e-9)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 12])
def test_time_on_a_star_not_a_power_of_two_is_at_most_the_formula(p):
    for n in (1e3, 1e6):
        run = simulate_collective(star(p, B, L), "binomial_reduce", nbytes=n, root=1)
        assert lg(p) * n * BETA < run.time <= lg(p) * (ALPHA + n * BETA) * (1 + 1e-12)


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_real_arrays_take_the_closed_form_time(model):
    p, length = 8, 4096
    run = simulate_collective(
        star(p, B, L), "binomial_reduce", vectors(p, length), root=6, model=model
    )
    assert run.time == pytest.approx(lg(p) * (ALPHA + length * 8 * BETA), rel=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("chunks", [1, 2, 3, 8, 16])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_pipelined_time_on_a_star(p, chunks, n):
    run = simulate_collective(
        star(p, B, L), "binomial_reduce", nbytes=n, root=p // 2, chunks=chunks
    )
    assert run.time == pytest.approx((lg(p) + chunks - 1) * ALPHA + lg(p) * n * BETA, rel=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("chunks", [1, 2, 5, 16])
def test_pipelined_time_on_a_full_mesh_is_the_references_formula(p, chunks):
    for n in (1e4, 1e8):
        run = simulate_collective(full_mesh(p), "binomial_reduce", nbytes=n, root=1, chunks=chunks)
        assert run.time == pytest.approx((lg(p) + chunks - 1) * (L + n / chunks * BETA), rel=1e-9)


def test_time_falls_with_chunks_until_latency_dominates():
    p, n = 8, 1e6
    times = [
        simulate_collective(full_mesh(p), "binomial_reduce", nbytes=n, chunks=c).time
        for c in (1, 2, 4, 8, 16, 64, 256)
    ]
    assert times[0] > times[1] > times[2] > times[3] > times[4]
    assert times[4] < times[5] < times[6]


@pytest.mark.parametrize("bad", [{"root": 3}, {"chunks": 0}])
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValueError):
        simulate_collective(star(3, B, L), "binomial_reduce", nbytes=1e3, **bad)


def test_registry_entry():
    algo = get_algorithm("binomial_reduce", operation="reduce")
    assert set(algo.options) == {"root", "chunks"}
