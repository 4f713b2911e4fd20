"""Rabenseifner's allreduce: exact sums, closed-form times, the fold for other p."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.collectives.rabenseifner as module
from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.rabenseifner import predict_time
from netsim.topology import ring, star, tree
from tests.collectives.helpers import vectors

B = 1.25e9  # 10 Gbps in bytes/s
L = 3e-6  # seconds per hop
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]



def lg(p):
    return p.bit_length() - 1


def rabenseifner_time(p, n):
    return 2 * lg(p) * ALPHA + 2 * (p - 1) / p * n * BETA


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("length", [0, 1, 3, 6, 15, 17, 1001])
def test_every_rank_gets_the_exact_sum(p, length):
    data = vectors(p, length, seed=p * 1000 + length)
    run = simulate_collective(star(p, B, L), "rabenseifner", data)
    expected = np.sum(data, axis=0)
    for out in run.outputs:
        assert out.shape == (length,)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert run.comm.pending_messages() == 0


@settings(max_examples=40, deadline=None)
@given(p=st.integers(1, 12), length=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_sum_property(p, length, seed):
    data = vectors(p, length, seed)
    run = simulate_collective(ring(p, B, L), "halving_doubling", data)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(data, axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [1, 3, 4, 6])
def test_inputs_untouched_and_outputs_owned(p):
    data = vectors(p, 11, seed=p)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(p, B, L), "rabenseifner", data)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for i, out in enumerate(run.outputs):
        assert not any(np.shares_memory(out, d) for d in data)
        assert not any(np.shares_memory(out, o) for j, o in enumerate(run.outputs) if j != i)


def test_size_only_returns_none():
    run = simulate_collective(star(5, B, L), "rabenseifner", nbytes=1e6)
    assert run.outputs == [None] * 5
    assert run.comm.pending_messages() == 0


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "rabenseifner", nbytes=n)
    assert run.time == pytest.approx(rabenseifner_time(p, n), rel=1e-9)
    assert predict_time(p, n, ALPHA, BETA) == pytest.approx(rabenseifner_time(p, n), rel=1e-12)


@pytest.mark.parametrize("model", ["flow", "analytic"])
@pytest.mark.parametrize("p", [2, 4, 8, 16])
def test_real_arrays_take_the_closed_form_time(model, p):
    length = 4096
    run = simulate_collective(star(p, B, L), "rabenseifner", vectors(p, length), model=model)
    assert run.time == pytest.approx(rabenseifner_time(p, 8 * length), rel=1e-9)


def test_bytes_sent_per_rank_match_the_ring():
    p, n = 8, 8e6
    run = simulate_collective(star(p, B, L), "rabenseifner", nbytes=n)
    for sent in run.comm.bytes_sent:
        assert sent == pytest.approx(2 * (p - 1) / p * n, rel=1e-12)


def test_one_port_figure_adds_fold_and_unfold():
    n = 1e6
    for p in (3, 5, 6, 7, 12):
        q = 1 << lg(p)
        expected = rabenseifner_time(q, n) + 2 * (ALPHA + n * BETA)
        assert predict_time(p, n, ALPHA, BETA) == pytest.approx(expected)


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_three_ranks_on_a_star_by_hand(n):
    # Rank 1 folds n into rank 0 while rank 2 sends its half (n/2) to rank 0: sharing rank
    # 0's link, the half is in at α + nβ, the fold at α + 1.5nβ. Rank 0 then sends rank 2
    # its half-sum and its gathered half at once (2 × n/2 on one link): in at
    # 2α + 2.5nβ, when rank 2 sends its half back (3α + 3nβ) and rank 0 unfolds the
    # whole vector to rank 1: 4α + 4nβ (one-port figure 4α + 3nβ).
    run = simulate_collective(star(3, B, L), "rabenseifner", nbytes=n)
    assert run.time == pytest.approx(4 * ALPHA + 4 * n * BETA, rel=1e-9)
    assert predict_time(3, n, ALPHA, BETA) == pytest.approx(4 * ALPHA + 3 * n * BETA)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 11, 12])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_other_p_is_bounded(p, n):
    # Contention-free: at most the one-port figure, at least fold + unfold + the
    # power-of-two part's bandwidth; with shared links never faster than contention-free.
    analytic = simulate_collective(star(p, B, L), "rabenseifner", nbytes=n, model="analytic").time
    flow = simulate_collective(star(p, B, L), "rabenseifner", nbytes=n).time
    assert analytic <= predict_time(p, n, ALPHA, BETA) * (1 + 1e-12)
    assert analytic >= 2 * (ALPHA + n * BETA) * (1 - 1e-12)
    assert flow >= analytic * (1 - 1e-12)


def test_contended_tree_is_never_faster_than_the_formula():
    # Oversubscribed leaves: the halving partners of the first step live on other leaves.
    graph = tree(16, B, L, fanout=4, oversubscription=4)
    n = 1e8
    run = simulate_collective(graph, "rabenseifner", nbytes=n)
    assert run.time >= predict_time(16, n, 2 * L, 1 / B)


def test_beats_recursive_doubling_on_large_vectors():
    p, n = 8, 1e8
    fast = simulate_collective(star(p, B, L), "rabenseifner", nbytes=n).time
    slow = simulate_collective(star(p, B, L), "recursive_doubling", nbytes=n).time
    ratio = lg(p) * (ALPHA + n * BETA) / rabenseifner_time(p, n)  # about lg p / (2 (p-1)/p)
    assert slow / fast == pytest.approx(ratio, rel=1e-9)
    assert ratio > 1.7


def test_registry_entry():
    algorithm = get_algorithm("halving_doubling", operation="allreduce")
    assert algorithm.name == "rabenseifner" and algorithm.predict is predict_time


def test_doctests():
    assert doctest.testmod(module).failed == 0
