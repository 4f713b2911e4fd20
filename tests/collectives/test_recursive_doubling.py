"""Recursive-doubling allreduce and the power-of-two fold: exact sums and times."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.collectives.recursive_doubling as module
from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.recursive_doubling import PowerOfTwoFold, predict_time
from netsim.topology import ring, star
from tests.collectives.helpers import vectors

B = 1.25e9  # 10 Gbps in bytes/s
L = 3e-6  # seconds per hop
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]



def lg(p):
    return p.bit_length() - 1


def test_fold_numbering():
    fold = PowerOfTwoFold(7)  # p' = 4, r = 3: 1, 3, 5 fold into 0, 2, 4
    assert (fold.pof2, fold.rem, fold.steps) == (4, 3, 2)
    assert [fold.newrank(r) for r in range(7)] == [0, None, 1, None, 2, None, 3]
    assert [fold.oldrank(i) for i in range(4)] == [0, 2, 4, 6]
    assert [fold.ranks_of(i) for i in range(4)] == [(0, 2), (2, 4), (4, 6), (6, 7)]
    assert [r for r in range(7) if fold.folds(r)] == [1, 3, 5]
    assert [r for r in range(7) if fold.receives_fold(r)] == [0, 2, 4]


@pytest.mark.parametrize("p", range(1, 40))
def test_fold_is_a_partition(p):
    fold = PowerOfTwoFold(p)
    assert fold.pof2 <= p < 2 * fold.pof2 and fold.pof2 == 1 << fold.steps
    survivors = [r for r in range(p) if fold.newrank(r) is not None]
    assert [fold.newrank(r) for r in survivors] == list(range(fold.pof2))
    assert all(fold.oldrank(fold.newrank(r)) == r for r in survivors)
    covered = [r for i in range(fold.pof2) for r in range(*fold.ranks_of(i))]
    assert covered == list(range(p))


def test_fold_rejects_no_ranks():
    with pytest.raises(ValueError):
        PowerOfTwoFold(0)


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("length", [0, 1, 3, 6, 15, 17, 1001])
def test_every_rank_gets_the_exact_sum(p, length):
    data = vectors(p, length, seed=p * 1000 + length)
    run = simulate_collective(star(p, B, L), "recursive_doubling", data)
    expected = np.sum(data, axis=0)
    for out in run.outputs:
        assert out.shape == (length,)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # Partners add commutatively, so every rank holds the very same bits.
    for out in run.outputs[1:]:
        np.testing.assert_array_equal(out, run.outputs[0])
    assert run.comm.pending_messages() == 0


@settings(max_examples=40, deadline=None)
@given(p=st.integers(1, 12), length=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_sum_property(p, length, seed):
    data = vectors(p, length, seed)
    run = simulate_collective(ring(p, B, L), "recursive_doubling", data)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(data, axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [1, 3, 4, 6])
def test_inputs_untouched_and_outputs_owned(p):
    data = vectors(p, 11, seed=p)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(p, B, L), "recursive_doubling", data)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for i, out in enumerate(run.outputs):
        assert not any(np.shares_memory(out, d) for d in data)
        assert not any(np.shares_memory(out, o) for j, o in enumerate(run.outputs) if j != i)


def test_size_only_returns_none():
    run = simulate_collective(star(6, B, L), "recursive_doubling", nbytes=1e6)
    assert run.outputs == [None] * 6
    assert run.comm.pending_messages() == 0


def doubling_time(p, n):
    return lg(p) * ALPHA + lg(p) * n * BETA


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "recursive_doubling", nbytes=n)
    assert run.time == pytest.approx(doubling_time(p, n), rel=1e-9)
    assert predict_time(p, n, ALPHA, BETA) == pytest.approx(doubling_time(p, n), rel=1e-12)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
def test_real_arrays_take_the_closed_form_time(p):
    length = 4096
    run = simulate_collective(star(p, B, L), "recursive_doubling", vectors(p, length))
    assert run.time == pytest.approx(doubling_time(p, 8 * length), rel=1e-9)


def test_bytes_sent_per_rank():
    p, n = 8, 1e6
    run = simulate_collective(star(p, B, L), "recursive_doubling", nbytes=n)
    assert run.comm.bytes_sent == [pytest.approx(lg(p) * n)] * p
    # p = 6: ranks 1 and 3 fold (n) and are done; 0 and 2 send 2 exchanges + the unfold.
    run = simulate_collective(star(6, B, L), "recursive_doubling", nbytes=n)
    assert run.comm.bytes_sent == [pytest.approx(k * n) for k in (3, 1, 3, 1, 2, 2)]


def test_one_port_figure_has_two_extra_steps():
    for p in (3, 5, 6, 7, 12):
        assert predict_time(p, 1e6, ALPHA, BETA) == pytest.approx(
            (lg(p) + 2) * (ALPHA + 1e6 * BETA)
        )
    assert predict_time(1, 1e6, ALPHA, BETA) == 0.0


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_three_ranks_on_a_star_by_hand(n):
    # Rank 1 folds n into rank 0 while rank 2 (not waiting) sends its n to rank 0: the two
    # share rank 0's link, both arrive at α + 2nβ. Rank 0 then sends the sum to rank 2
    # and unfolds it to rank 1 at once, sharing its link again: 2α + 4nβ in all.
    run = simulate_collective(star(3, B, L), "recursive_doubling", nbytes=n)
    assert run.time == pytest.approx(2 * ALPHA + 4 * n * BETA, rel=1e-9)


@pytest.mark.parametrize(("p", "steps"), [(3, 2), (5, 3), (6, 3), (7, 4), (12, 4)])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_contention_free_time_is_the_critical_path(p, steps, n):
    # "analytic" model: every message takes α + nβ. Survivors of a fold start one step
    # late, the others at once; a rank finishes a step when its partner's message is in.
    # Hand-worked critical paths (in steps): p = 3: 2 (rank 2's message is waiting
    # when rank 0 finishes its fold); p = 5: 3; p = 6: 3; p = 7: 4; p = 12: 4.
    run = simulate_collective(star(p, B, L), "recursive_doubling", nbytes=n, model="analytic")
    assert run.time == pytest.approx(steps * (ALPHA + n * BETA), rel=1e-9)
    assert (lg(p) + 1) <= steps <= lg(p) + 2
    flow = simulate_collective(star(p, B, L), "recursive_doubling", nbytes=n).time
    assert flow >= run.time * (1 - 1e-12)


def test_registry_entry():
    algorithm = get_algorithm("recursive_doubling", operation="allreduce")
    assert algorithm.predict is predict_time


def test_doctests():
    assert doctest.testmod(module).failed == 0
