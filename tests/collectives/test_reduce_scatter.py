"""Reduce-scatter (ring, recursive halving): exact blocks of the sum and the closed-form times."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.collectives.reduce_scatter as module
from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.reduce_scatter import block_bounds, predict_recursive_halving
from netsim.topology import star
from tests.collectives.helpers import vectors

B = 1.25e9  # 10 Gbps in bytes/s
L = 3e-6  # seconds per hop
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
ALGORITHMS = ["ring_reduce_scatter", "recursive_halving"]
SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]



def lg(p):
    return p.bit_length() - 1


def check_blocks(run, data):
    p = len(data)
    expected = np.array_split(np.sum(data, axis=0), p)
    for rank, out in enumerate(run.outputs):
        assert out.shape == expected[rank].shape
        np.testing.assert_allclose(out, expected[rank], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("length", [0, 1, 3, 6, 15, 17, 1001])
def test_rank_r_gets_block_r_of_the_sum(name, p, length):
    data = vectors(p, length, seed=p * 1000 + length)
    run = simulate_collective(star(p, B, L), name, data)
    check_blocks(run, data)
    assert run.comm.pending_messages() == 0


@pytest.mark.parametrize("name", ALGORITHMS)
@settings(max_examples=30, deadline=None)
@given(p=st.integers(1, 12), length=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_blocks_property(name, p, length, seed):
    data = vectors(p, length, seed)
    check_blocks(simulate_collective(star(p, B, L), name, data), data)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("p", [1, 3, 4, 6])
def test_inputs_untouched_and_outputs_owned(name, p):
    data = vectors(p, 13, seed=p)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(p, B, L), name, data)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for i, out in enumerate(run.outputs):
        assert not any(np.shares_memory(out, d) for d in data)
        assert not any(np.shares_memory(out, o) for j, o in enumerate(run.outputs) if j != i)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("p", [1, 3, 8])
def test_size_only_returns_none(name, p):
    run = simulate_collective(star(p, B, L), name, nbytes=1e6)
    assert run.outputs == [None] * p
    assert run.comm.pending_messages() == 0


def ring_time(p, n):
    return (p - 1) * ALPHA + (p - 1) / p * n * BETA


def halving_time(p, n):
    return lg(p) * ALPHA + (p - 1) / p * n * BETA


@pytest.mark.parametrize("p", [2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_ring_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "ring_reduce_scatter", nbytes=n)
    assert run.time == pytest.approx(ring_time(p, n), rel=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_recursive_halving_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "recursive_halving", nbytes=n)
    assert run.time == pytest.approx(halving_time(p, n), rel=1e-9)
    assert predict_recursive_halving(p, n, ALPHA, BETA) == pytest.approx(
        halving_time(p, n), rel=1e-12
    )


@pytest.mark.parametrize(
    ("name", "formula"), [("ring_reduce_scatter", ring_time), ("recursive_halving", halving_time)]
)
@pytest.mark.parametrize("p", [2, 4, 8, 16])
def test_real_arrays_take_the_closed_form_time(name, formula, p):
    length = 4096
    run = simulate_collective(star(p, B, L), name, vectors(p, length))
    assert run.time == pytest.approx(formula(p, 8 * length), rel=1e-9)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_bytes_sent_per_rank_power_of_two(name):
    p, n = 8, 8e6
    run = simulate_collective(star(p, B, L), name, nbytes=n)
    for sent in run.comm.bytes_sent:
        assert sent == pytest.approx((p - 1) / p * n, rel=1e-12)


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_recursive_halving_three_ranks_by_hand(n):
    # p = 3: rank 1 folds n into rank 0 while rank 2 sends its slot (blocks 0-1, 2n/3)
    # to rank 0: both share rank 0's link, the 2n/3 ends at (4/3)nβ, the fold at (5/3)nβ.
    # Rank 0 then sends block 2 (n/3) to rank 2 and block 1 (n/3) to rank 1 at once,
    # sharing its link for (2/3)nβ: 2α + (7/3)nβ in all (one-port figure 3α + 2nβ).
    run = simulate_collective(star(3, B, L), "recursive_halving", nbytes=n)
    assert run.time == pytest.approx(2 * ALPHA + 7 / 3 * n * BETA, rel=1e-9)
    assert predict_recursive_halving(3, n, ALPHA, BETA) == pytest.approx(3 * ALPHA + 2 * n * BETA)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 11, 12])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_recursive_halving_other_p_is_bounded(p, n):
    # Contention-free ("analytic"): at most the one-port figure (lock-step steps), at
    # least the fold then the last block, and at least the lg p' hops a contribution of
    # survivor p'-1 needs to reach survivor 0, then the last block. With shared links
    # ("flow"): never faster than contention-free.
    analytic = simulate_collective(
        star(p, B, L), "recursive_halving", nbytes=n, model="analytic"
    ).time
    flow = simulate_collective(star(p, B, L), "recursive_halving", nbytes=n).time
    assert analytic <= predict_recursive_halving(p, n, ALPHA, BETA) * (1 + 1e-12)
    lower = max(2 * ALPHA + (n + n / p) * BETA, (lg(p) + 1) * ALPHA + n / p * BETA)
    assert analytic >= lower * (1 - 1e-12)
    assert flow >= analytic * (1 - 1e-12)


def test_block_bounds_match_array_split():
    for length in range(0, 30):
        for parts in range(1, 9):
            sizes = [len(b) for b in np.array_split(np.arange(length), parts)]
            assert np.diff(block_bounds(length, parts)).tolist() == sizes


def test_registry_entries():
    ring = get_algorithm("ring_reduce_scatter", operation="reduce_scatter")
    halving = get_algorithm("recursive_halving_reduce_scatter", operation="reduce_scatter")
    assert halving.name == "recursive_halving"
    assert ring.predict(4, 1e6, ALPHA, BETA) == pytest.approx(ring_time(4, 1e6))
    assert halving.predict(4, 1e6, ALPHA, BETA) == pytest.approx(halving_time(4, 1e6))


def test_doctests():
    assert doctest.testmod(module).failed == 0
