"""Binomial-tree allreduce (reduce to rank 0 + broadcast): exact sums, times, pipelining."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import get_algorithm, simulate_collective
from netsim.topology import star
from tests.collectives.helpers import ALPHA, BETA, LENGTHS, PS, SIZES, B, L, full_mesh, lg, vectors


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("chunks", [1, 4])
def test_every_rank_gets_the_exact_sum(p, length, chunks):
    data = vectors(p, length, seed=p * 100 + length)
    run = simulate_collective(star(p, B, L), "binomial_tree", data, chunks=chunks)
    expected = np.sum(data, axis=0)
    for out in run.outputs:
        assert out.shape == (length,)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert run.comm.pending_messages() == 0


def test_every_rank_gets_the_same_bits():
    data = vectors(7, 33, seed=3)
    run = simulate_collective(star(7, B, L), "tree", data, chunks=2)
    for out in run.outputs[1:]:
        np.testing.assert_array_equal(out, run.outputs[0])


def test_inputs_are_not_modified_and_outputs_are_independent():
    data = vectors(5, 20)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(5, B, L), "binomial_tree", data, chunks=3)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for i, a in enumerate(run.outputs):
        assert not any(np.shares_memory(a, d) for d in data)
        assert not any(np.shares_memory(a, b) for b in run.outputs[i + 1 :])


@settings(max_examples=40, deadline=None)
@given(
    p=st.integers(1, 12),
    length=st.integers(0, 40),
    chunks=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_sum_property(p, length, chunks, seed):
    data = vectors(p, length, seed)
    run = simulate_collective(star(p, B, L), "binomial_tree", data, chunks=chunks)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(data, axis=0), rtol=1e-12, atol=1e-12)


def test_size_only_returns_none_with_the_same_message_pattern():
    p, length = 6, 48
    real = simulate_collective(star(p, B, L), "binomial_tree", vectors(p, length), chunks=4)
    sizes = simulate_collective(star(p, B, L), "binomial_tree", nbytes=length * 8.0, chunks=4)
    assert sizes.outputs == [None] * p
    assert sizes.comm.messages == real.comm.messages
    assert sizes.comm.bytes_sent == pytest.approx(real.comm.bytes_sent, rel=1e-12)
    assert sizes.time == pytest.approx(real.time, rel=1e-12)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "binomial_tree", nbytes=n)
    assert run.time == pytest.approx(2 * lg(p) * (ALPHA + n * BETA), rel=1e-9)
    assert run.time == pytest.approx(get_algorithm("tree").predict(p, n, ALPHA, BETA), rel=1e-9)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 12])
def test_time_not_a_power_of_two_is_at_most_the_formula(p):
    n = 1e6
    run = simulate_collective(star(p, B, L), "binomial_tree", nbytes=n)
    assert 2 * lg(p) * n * BETA < run.time <= 2 * lg(p) * (ALPHA + n * BETA) * (1 + 1e-12)


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_real_arrays_take_the_closed_form_time(model):
    p, length = 8, 4096
    run = simulate_collective(star(p, B, L), "binomial_tree", vectors(p, length), model=model)
    assert run.time == pytest.approx(2 * lg(p) * (ALPHA + length * 8 * BETA), rel=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("chunks", [1, 2, 5, 16])
def test_pipelined_time_on_a_full_mesh(p, chunks):
    # the broadcast of chunk i starts at rank 0 as soon as its sum is complete
    for n in (1e4, 1e8):
        run = simulate_collective(full_mesh(p), "binomial_tree", nbytes=n, chunks=chunks)
        assert run.time == pytest.approx(
            (2 * lg(p) + chunks - 1) * (L + n / chunks * BETA), rel=1e-9
        )


def test_pipelining_on_a_star_overlaps_the_two_phases():
    p, n = 8, 1e8
    one = simulate_collective(star(p, B, L), "binomial_tree", nbytes=n, chunks=1).time
    many = simulate_collective(star(p, B, L), "binomial_tree", nbytes=n, chunks=16).time
    assert many < 0.65 * one
    # the root's downlink still carries lg p full vectors during the reduction
    assert many > lg(p) * n * BETA


def test_bad_chunks_are_rejected():
    with pytest.raises(ValueError):
        simulate_collective(star(3, B, L), "binomial_tree", nbytes=1e3, chunks=0)
