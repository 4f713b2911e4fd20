"""All-gather (ring, recursive doubling, Bruck): exact concatenation and closed-form times."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.collectives.all_gather as module
from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.all_gather import predict_recursive_doubling_all_gather
from netsim.topology import ring, star

B = 1.25e9  # 10 Gbps in bytes/s
L = 3e-6  # seconds per hop
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
ALGORITHMS = ["ring_all_gather", "recursive_doubling_all_gather", "bruck"]
SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]


def blocks(p, length, seed=0):
    """Block r of one random vector of ``length`` elements, as rank r gives it."""
    rng = np.random.default_rng(seed)
    return np.array_split(rng.standard_normal(length), p)


def lg(p):
    return p.bit_length() - 1


def lg_ceil(p):
    return (p - 1).bit_length()


def check_gathered(run, data):
    expected = np.concatenate(data)
    for out in run.outputs:
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("length", [0, 1, 3, 6, 15, 17, 1001])
def test_every_rank_gets_the_concatenation(name, p, length):
    data = blocks(p, length, seed=p * 1000 + length)
    run = simulate_collective(star(p, B, L), name, data)
    check_gathered(run, data)
    assert run.comm.pending_messages() == 0


@pytest.mark.parametrize("name", ALGORITHMS)
@settings(max_examples=30, deadline=None)
@given(
    p=st.integers(1, 12),
    lengths=st.lists(st.integers(0, 6), min_size=12, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_concatenation_property_with_uneven_blocks(name, p, lengths, seed):
    rng = np.random.default_rng(seed)
    data = [rng.standard_normal(k) for k in lengths[:p]]
    check_gathered(simulate_collective(ring(p, B, L), name, data), data)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("p", [1, 3, 4, 6])
def test_inputs_untouched_and_outputs_owned(name, p):
    data = blocks(p, 23, seed=p)
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


def doubling_time(p, n):
    return lg(p) * ALPHA + (p - 1) / p * n * BETA


def bruck_time(p, n):
    return lg_ceil(p) * ALPHA + (p - 1) / p * n * BETA


@pytest.mark.parametrize("p", [2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_ring_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "ring_all_gather", nbytes=n)
    assert run.time == pytest.approx(ring_time(p, n), rel=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_recursive_doubling_time_on_a_star(p, n):
    run = simulate_collective(star(p, B, L), "recursive_doubling_all_gather", nbytes=n)
    assert run.time == pytest.approx(doubling_time(p, n), rel=1e-9)
    assert predict_recursive_doubling_all_gather(p, n, ALPHA, BETA) == pytest.approx(
        doubling_time(p, n)
    )


@pytest.mark.parametrize("p", [2, 3, 4, 5, 6, 7, 8, 11, 16])
@pytest.mark.parametrize("n", SIZES)
def test_bruck_time_on_a_star_for_any_p(p, n):
    run = simulate_collective(star(p, B, L), "bruck", nbytes=n)
    assert run.time == pytest.approx(bruck_time(p, n), rel=1e-9)


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("ring_all_gather", ring_time),
        ("recursive_doubling_all_gather", doubling_time),
        ("bruck", bruck_time),
    ],
)
@pytest.mark.parametrize("p", [2, 4, 8, 16])
def test_real_arrays_take_the_closed_form_time(name, formula, p):
    length = 4096
    run = simulate_collective(star(p, B, L), name, blocks(p, length))
    assert run.time == pytest.approx(formula(p, 8 * length), rel=1e-9)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_bytes_sent_per_rank_power_of_two(name):
    p, n = 8, 8e6
    run = simulate_collective(star(p, B, L), name, nbytes=n)
    for sent in run.comm.bytes_sent:
        assert sent == pytest.approx((p - 1) / p * n, rel=1e-12)


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_recursive_doubling_three_ranks_by_hand(n):
    # p = 3: rank 1 folds its block (n/3) into rank 0 while rank 2 sends its block to
    # rank 0: both share rank 0's link until (2/3)nβ. Rank 0 then sends its two blocks
    # (2n/3) to rank 2 and the whole vector (n) to rank 1 at once: the 2n/3 ends after
    # (4/3)nβ, the rest of the n after another (1/3)nβ. Total 2α + (7/3)nβ.
    run = simulate_collective(star(3, B, L), "recursive_doubling_all_gather", nbytes=n)
    assert run.time == pytest.approx(2 * ALPHA + 7 / 3 * n * BETA, rel=1e-9)
    assert predict_recursive_doubling_all_gather(3, n, ALPHA, BETA) == pytest.approx(
        3 * ALPHA + 2 * n * BETA
    )


@pytest.mark.parametrize("p", [3, 5, 6, 7, 11, 12])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_recursive_doubling_other_p_is_bounded(p, n):
    # Contention-free: at most the one-port figure; at least fold then unfold, and at
    # least lg p' hops from survivor p'-1 to survivor 0 then the unfold. Flow: no faster.
    name = "recursive_doubling_all_gather"
    analytic = simulate_collective(star(p, B, L), name, nbytes=n, model="analytic").time
    flow = simulate_collective(star(p, B, L), name, nbytes=n).time
    assert analytic <= predict_recursive_doubling_all_gather(p, n, ALPHA, BETA) * (1 + 1e-12)
    lower = max(2 * ALPHA + (n + n / p) * BETA, (lg(p) + 1) * ALPHA + n * BETA)
    assert analytic >= lower * (1 - 1e-12)
    assert flow >= analytic * (1 - 1e-12)


def test_registry_entries():
    assert get_algorithm("bruck_all_gather", operation="all_gather").name == "bruck"
    for name in ALGORITHMS:
        assert get_algorithm(name).operation == "all_gather"
    bruck = get_algorithm("bruck")
    assert bruck.predict(5, 1e6, ALPHA, BETA) == pytest.approx(bruck_time(5, 1e6))


def test_doctests():
    assert doctest.testmod(module).failed == 0
