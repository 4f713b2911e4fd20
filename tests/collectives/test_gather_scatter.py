"""Binomial gather and scatter: exact blocks at any root, closed-form times."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.gather_scatter import subtree_size
from netsim.topology import star
from tests.collectives.helpers import ALPHA, BETA, LENGTHS, PS, SIZES, B, L, lg


def formula(p, n):
    return lg(p) * ALPHA + (p - 1) / p * n * BETA


def gather_inputs(p, length, seed=0):
    whole = np.random.default_rng(seed).standard_normal(length)
    return whole, np.array_split(whole, p)


def scatter_inputs(p, length, root, seed=0):
    whole = np.random.default_rng(seed).standard_normal(length)
    return whole, [whole if r == root else None for r in range(p)]


def roots(p):
    return sorted({0, p // 2, p - 1})


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("length", LENGTHS)
def test_gather_concatenates_at_the_root(p, length):
    for root in roots(p):
        whole, blocks = gather_inputs(p, length, seed=p * 100 + length)
        run = simulate_collective(star(p, B, L), "binomial_gather", blocks, root=root)
        for r, out in enumerate(run.outputs):
            if r == root:
                np.testing.assert_array_equal(out, whole)
            else:
                assert out is None
        assert run.comm.pending_messages() == 0


def test_gather_blocks_of_any_lengths():
    blocks = [np.arange(k, dtype=float) + 10 * k for k in (3, 0, 5, 1, 2)]
    run = simulate_collective(star(5, B, L), "binomial_gather", blocks, root=3)
    np.testing.assert_array_equal(run.outputs[3], np.concatenate(blocks))


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("length", LENGTHS)
def test_scatter_gives_each_rank_its_block(p, length):
    for root in roots(p):
        whole, data = scatter_inputs(p, length, root, seed=p * 100 + length)
        run = simulate_collective(star(p, B, L), "binomial_scatter", data, root=root)
        for r, out in enumerate(run.outputs):
            np.testing.assert_array_equal(out, np.array_split(whole, p)[r])
            assert not np.shares_memory(out, whole)
        assert run.comm.pending_messages() == 0


def test_inputs_are_not_modified():
    whole, blocks = gather_inputs(6, 30)
    copies = [b.copy() for b in blocks]
    run = simulate_collective(star(6, B, L), "binomial_gather", blocks, root=2)
    for before, after in zip(copies, blocks, strict=True):
        np.testing.assert_array_equal(before, after)
    assert not any(np.shares_memory(run.outputs[2], b) for b in blocks)
    whole, data = scatter_inputs(6, 30, 4)
    before = whole.copy()
    simulate_collective(star(6, B, L), "binomial_scatter", data, root=4)
    np.testing.assert_array_equal(whole, before)


@settings(max_examples=40, deadline=None)
@given(
    p=st.integers(1, 12),
    length=st.integers(0, 40),
    root_frac=st.floats(0, 1, exclude_max=True),
    seed=st.integers(0, 2**32 - 1),
)
def test_gather_scatter_property(p, length, root_frac, seed):
    root = int(root_frac * p)
    whole, blocks = gather_inputs(p, length, seed)
    gathered = simulate_collective(star(p, B, L), "binomial_gather", blocks, root=root).outputs
    np.testing.assert_array_equal(gathered[root], whole)
    _, data = scatter_inputs(p, length, root, seed)
    scattered = simulate_collective(star(p, B, L), "binomial_scatter", data, root=root).outputs
    for r in range(p):
        np.testing.assert_array_equal(scattered[r], blocks[r])


@pytest.mark.parametrize("name", ["binomial_gather", "binomial_scatter"])
def test_size_only_returns_none_with_the_same_message_pattern(name):
    p, length, root = 6, 60, 1
    whole, blocks = gather_inputs(p, length)
    data = blocks if name == "binomial_gather" else scatter_inputs(p, length, root)[1]
    real = simulate_collective(star(p, B, L), name, data, root=root)
    sizes = simulate_collective(star(p, B, L), name, nbytes=whole.nbytes, root=root)
    assert sizes.outputs == [None] * p
    assert sizes.comm.messages == real.comm.messages
    assert sizes.comm.bytes_sent == pytest.approx(real.comm.bytes_sent, rel=1e-12)
    assert sizes.time == pytest.approx(real.time, rel=1e-12)


@pytest.mark.parametrize("name", ["binomial_gather", "binomial_scatter"])
@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star(name, p, n):
    for root in (0, p - 1):
        run = simulate_collective(star(p, B, L), name, nbytes=n, root=root)
        assert run.time == pytest.approx(formula(p, n), rel=1e-9)
        assert run.time == pytest.approx(get_algorithm(name).predict(p, n, ALPHA, BETA), rel=1e-9)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 12])
def test_times_not_a_power_of_two(p):
    for n in (1e3, 1e6):
        scatter = simulate_collective(star(p, B, L), "binomial_scatter", nbytes=n, root=2)
        assert scatter.time == pytest.approx(formula(p, n), rel=1e-9)
        gather = simulate_collective(star(p, B, L), "binomial_gather", nbytes=n, root=2)
        # the root's downlink must carry p - 1 blocks, after at least one latency
        lower = ALPHA + (p - 1) / p * n * BETA
        assert lower * (1 - 1e-12) <= gather.time <= formula(p, n) * (1 + 1e-12)


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_real_arrays_take_the_closed_form_time(model):
    p, length = 8, 4096
    whole, blocks = gather_inputs(p, length)
    run = simulate_collective(star(p, B, L), "binomial_gather", blocks, root=5, model=model)
    assert run.time == pytest.approx(formula(p, whole.nbytes), rel=1e-9)
    _, data = scatter_inputs(p, length, 5)
    run = simulate_collective(star(p, B, L), "binomial_scatter", data, root=5, model=model)
    assert run.time == pytest.approx(formula(p, whole.nbytes), rel=1e-9)


def test_subtree_sizes():
    assert [subtree_size(v, 8) for v in range(8)] == [8, 1, 2, 1, 4, 1, 2, 1]
    assert [subtree_size(v, 6) for v in range(6)] == [6, 1, 2, 1, 2, 1]


@pytest.mark.parametrize("name", ["binomial_gather", "binomial_scatter"])
def test_bad_root_is_rejected(name):
    with pytest.raises(ValueError):
        simulate_collective(star(4, B, L), name, nbytes=1e3, root=7)
