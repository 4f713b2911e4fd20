"""All-to-all (pairwise exchange, Bruck): transposed blocks and closed-form times."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.all_to_all import bruck_blocks_per_step
from netsim.topology import star
from tests.collectives.helpers import ALPHA, BETA, LENGTHS, PS, SIZES, B, L, lg, vectors

ALGORITHMS = ["pairwise", "bruck_all_to_all"]




def expected(data, r):
    p = len(data)
    return np.concatenate([np.array_split(data[j], p)[r] for j in range(p)])


def pairwise_time(p, n):
    return (p - 1) * ALPHA + (p - 1) / p * n * BETA


def bruck_time(p, n):
    return lg(p) * ALPHA + n / 2 * lg(p) * BETA


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("length", LENGTHS)
def test_every_rank_gets_its_blocks(name, p, length):
    data = vectors(p, length, seed=p * 100 + length)
    run = simulate_collective(star(p, B, L), name, data)
    for r, out in enumerate(run.outputs):
        np.testing.assert_array_equal(out, expected(data, r))
    assert run.comm.pending_messages() == 0


@pytest.mark.parametrize("name", ALGORITHMS)
def test_inputs_are_not_modified_and_outputs_are_new(name):
    data = vectors(5, 23)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(5, B, L), name, data)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for out in run.outputs:
        assert not any(np.shares_memory(out, d) for d in data)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(ALGORITHMS),
    p=st.integers(1, 12),
    length=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_all_to_all_property(name, p, length, seed):
    data = vectors(p, length, seed)
    run = simulate_collective(star(p, B, L), name, data)
    for r, out in enumerate(run.outputs):
        np.testing.assert_array_equal(out, expected(data, r))


@pytest.mark.parametrize("name", ALGORITHMS)
def test_size_only_returns_none_with_the_same_message_pattern(name):
    p, length = 6, 60
    real = simulate_collective(star(p, B, L), name, vectors(p, length))
    sizes = simulate_collective(star(p, B, L), name, nbytes=length * 8.0)
    assert sizes.outputs == [None] * p
    assert sizes.comm.messages == real.comm.messages
    assert sizes.comm.bytes_sent == pytest.approx(real.comm.bytes_sent, rel=1e-12)
    assert sizes.time == pytest.approx(real.time, rel=1e-12)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_pairwise_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "pairwise", nbytes=n)
    assert run.time == pytest.approx(pairwise_time(p, n), rel=1e-9)
    assert run.time == pytest.approx(get_algorithm("pairwise").predict(p, n, ALPHA, BETA), rel=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_bruck_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "bruck_all_to_all", nbytes=n)
    assert run.time == pytest.approx(bruck_time(p, n), rel=1e-9)
    assert run.time == pytest.approx(
        get_algorithm("bruck_all_to_all").predict(p, n, ALPHA, BETA), rel=1e-9
    )
    for sent, count in zip(run.comm.bytes_sent, run.comm.messages, strict=True):
        assert sent == pytest.approx(n / 2 * lg(p), rel=1e-12)
        assert count == lg(p)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 12])
def test_times_not_a_power_of_two(p):
    n = 1e6
    assert simulate_collective(star(p, B, L), "pairwise", nbytes=n).time == pytest.approx(
        pairwise_time(p, n), rel=1e-9
    )
    exact = lg(p) * ALPHA + sum(bruck_blocks_per_step(p)) * n / p * BETA
    run = simulate_collective(star(p, B, L), "bruck_all_to_all", nbytes=n)
    assert run.time == pytest.approx(exact, rel=1e-9)
    assert run.time == pytest.approx(
        get_algorithm("bruck_all_to_all").predict(p, n, ALPHA, BETA), rel=1e-9
    )


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_real_arrays_take_the_closed_form_time(model):
    p, length = 8, 4096
    data = vectors(p, length)
    pair = simulate_collective(star(p, B, L), "pairwise", data, model=model)
    assert pair.time == pytest.approx(pairwise_time(p, length * 8), rel=1e-9)
    bruck = simulate_collective(star(p, B, L), "bruck_all_to_all", data, model=model)
    assert bruck.time == pytest.approx(bruck_time(p, length * 8), rel=1e-9)


def test_bruck_wins_for_small_messages_pairwise_for_large():
    p = 16
    small, large = 1e3, 1e8
    t = {
        (name, n): simulate_collective(star(p, B, L), name, nbytes=n).time
        for name in ALGORITHMS
        for n in (small, large)
    }
    assert t["bruck_all_to_all", small] < t["pairwise", small]
    assert t["pairwise", large] < t["bruck_all_to_all", large]


def test_bruck_blocks_per_step():
    assert bruck_blocks_per_step(1) == []
    assert bruck_blocks_per_step(16) == [8, 8, 8, 8]
    assert bruck_blocks_per_step(6) == [3, 2, 2]


def test_registry_entries():
    assert get_algorithm("pairwise_all_to_all", operation="all_to_all").name == "pairwise"
    assert get_algorithm("bruck_all_to_all", operation="all_to_all").options == ()
