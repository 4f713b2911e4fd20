"""NCCL-style double binary tree allreduce: tree structure, exact sums, hand-computed times."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.double_binary_tree import DEFAULT_CHUNKS, btree, dtree
from netsim.topology import star
from tests.collectives.helpers import lg, vectors

B = 1.25e9  # bytes/s
L = 3e-6  # seconds per link
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
PS = [1, 2, 3, 4, 5, 7, 8, 16]
LENGTHS = [0, 1, 3, 15, 17, 1001]




def tree_of(p, t):
    return {r: dtree(p, r)[t] for r in range(p)}


def depth(tree, rank):
    d = 0
    while tree[rank][0] is not None:
        rank = tree[rank][0]
        d += 1
    return d


@pytest.mark.parametrize("p", range(1, 40))
def test_both_trees_are_spanning_binary_trees(p):
    expected_roots = (0, p - 1 if p % 2 == 0 else min(1, p - 1))  # ncclGetDtreeRoots
    for t in (0, 1):
        tree = tree_of(p, t)
        roots = [r for r, (parent, _) in tree.items() if parent is None]
        assert roots == [expected_roots[t]]
        for rank, (_, children) in tree.items():
            assert len(children) <= 2
            for child in children:
                assert tree[child][0] == rank
        assert max(depth(tree, r) for r in range(p)) == lg(p)
    interior = [r for r in range(p) if tree_of(p, 0)[r][1] and tree_of(p, 1)[r][1]]
    # NCCL: each rank is interior in at most one tree, except (odd p) rank 0, the one-child root of tree 0
    assert interior == ([0] if p % 2 and p > 1 else [])


def test_nccls_pictures():
    # trees.cc: p = 12 (mirror) and p = 13 (shift)
    t0 = tree_of(12, 0)
    assert (
        t0[0] == (None, [8])
        and t0[8] == (0, [4, 10])
        and t0[4] == (8, [2, 6])
        and t0[10] == (8, [9, 11])
    )
    t1 = tree_of(12, 1)
    assert (
        t1[11] == (None, [3])
        and t1[3] == (11, [7, 1])
        and t1[7] == (3, [9, 5])
        and t1[1] == (3, [2, 0])
    )
    t0 = tree_of(13, 0)
    assert t0[8] == (0, [4, 12]) and t0[12] == (8, [10])
    t1 = tree_of(13, 1)
    assert (
        t1[1] == (None, [9])
        and t1[9] == (1, [5, 0])
        and t1[0] == (9, [11])
        and t1[11] == (0, [10, 12])
    )
    assert [btree(4, r) for r in range(4)] == [(None, [2]), (2, []), (0, [1, 3]), (2, [])]


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("chunks", [1, 3, DEFAULT_CHUNKS])
def test_every_rank_gets_the_exact_sum(p, length, chunks):
    data = vectors(p, length, seed=p * 100 + length)
    run = simulate_collective(star(p, B, L), "double_binary_tree", data, chunks=chunks)
    expected = np.sum(data, axis=0)
    for out in run.outputs:
        assert out.shape == (length,)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert run.comm.pending_messages() == 0


def test_inputs_are_not_modified_and_ranks_agree_bitwise():
    data = vectors(6, 41)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(6, B, L), "nccl_tree", data)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for out in run.outputs[1:]:
        np.testing.assert_array_equal(out, run.outputs[0])
        assert not np.shares_memory(out, run.outputs[0])


@settings(max_examples=40, deadline=None)
@given(
    p=st.integers(1, 12),
    length=st.integers(0, 40),
    chunks=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
)
def test_sum_property(p, length, chunks, seed):
    data = vectors(p, length, seed)
    run = simulate_collective(star(p, B, L), "double_binary_tree", data, chunks=chunks)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(data, axis=0), rtol=1e-12, atol=1e-12)


def test_size_only_returns_none_with_the_same_message_pattern():
    p, length = 7, 64
    real = simulate_collective(star(p, B, L), "double_binary_tree", vectors(p, length), chunks=4)
    sizes = simulate_collective(star(p, B, L), "double_binary_tree", nbytes=length * 8.0, chunks=4)
    assert sizes.outputs == [None] * p
    assert sizes.comm.messages == real.comm.messages
    assert sizes.comm.bytes_sent == pytest.approx(real.comm.bytes_sent, rel=1e-12)
    assert sizes.time == pytest.approx(real.time, rel=1e-12)
    # in each tree every non-root rank sends its half up once and receives it once
    assert sum(sizes.comm.bytes_sent) == pytest.approx(
        2 * 2 * (p - 1) * (length * 8 / 2), rel=1e-12
    )


@pytest.mark.parametrize("chunks", [1, 2, 3, 4])
def test_p4_without_contention_matches_the_hand_computation(chunks):
    # Tree 0: 0 - 2 - {1, 3}; tree 1: 3 - 1 - {2, 0}; chunk s = n / (2c), step T = a + s b.
    # Leaves send chunk i at iT, the interior rank forwards its sum at (i + 1)T, the root
    # has it at (i + 2)T and sends it down: the interior rank gets it at (i + 3)T, the
    # leaves at (i + 4)T. Last chunk: (c + 3)T.
    n = 1e6
    run = simulate_collective(
        star(4, B, L), "double_binary_tree", nbytes=n, chunks=chunks, model="analytic"
    )
    assert run.time == pytest.approx((chunks + 3) * (ALPHA + n / (2 * chunks) * BETA), rel=1e-12)


@pytest.mark.parametrize("p", [2, 3, 5, 8, 16])
@pytest.mark.parametrize("chunks", [1, 3, 8])
def test_time_without_contention(p, chunks):
    n = 1e6
    run = simulate_collective(
        star(p, B, L), "double_binary_tree", nbytes=n, chunks=chunks, model="analytic"
    )
    assert run.time == pytest.approx(
        (2 * lg(p) + chunks - 1) * (ALPHA + n / (2 * chunks) * BETA), rel=1e-12
    )


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_p4_on_a_star_one_chunk_matches_the_hand_computation(n):
    # s = n/2. Reduce: the four leaves' sends share the two interior downlinks (2s at rate
    # B/2 each): a + 2sb; the interior ranks send up alone: a + sb; the roots send down
    # alone: a + sb; the interior ranks send to two children sharing their uplink:
    # a + 2sb. Total 4a + 6sb = 4a + 3nb.
    run = simulate_collective(star(4, B, L), "double_binary_tree", nbytes=n, chunks=1)
    assert run.time == pytest.approx(4 * ALPHA + 3 * n * BETA, rel=1e-9)


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_p4_on_a_star_two_chunks_matches_the_hand_computation(n):
    # s = n/4 (two chunks per half). Every phase below is a set of flows sharing links
    # max-min; each phase ends when its flows are delivered:
    #  1. leaves send chunk 0 up (two flows per interior downlink):           a + 2sb
    #  2. leaves send chunk 1, interior ranks send chunk 0 up (<= 2 per link): a + 2sb
    #  3. interior ranks send chunk 1 up, roots send chunk 0 down (alone):     a +  sb
    #  4. roots send chunk 1 down, interior ranks chunk 0 to both children:  a + 2sb
    #  5. interior ranks send chunk 1 to both children:                       a + 2sb
    # Total 5a + 9sb = 5a + 2.25nb.
    run = simulate_collective(star(4, B, L), "double_binary_tree", nbytes=n, chunks=2)
    assert run.time == pytest.approx(5 * ALPHA + 2.25 * n * BETA, rel=1e-9)


def kappa(p, n, chunks=DEFAULT_CHUNKS, name="double_binary_tree"):
    return simulate_collective(star(p, B, L), name, nbytes=n, chunks=chunks).time / (n * BETA)


def test_large_vectors_take_a_constant_times_n_beta():
    p = 16
    ks = [kappa(p, n) for n in (1e7, 1e8, 1e9)]
    assert ks[0] > ks[1] > ks[2]  # the latency share vanishes
    assert ks[1] / ks[2] - 1 < 0.01
    assert ks[2] == pytest.approx(2.514, abs=0.01)
    # much better than the binomial tree (2 lg p = 8), near the ideal 2
    assert ks[2] < 0.35 * kappa(p, 1e9, chunks=1, name="binomial_tree")
    # more chunks -> closer to 2
    assert 2 < kappa(p, 1e9, chunks=32) < ks[2]


@pytest.mark.parametrize("p", [4, 8, 16])
def test_faster_than_binomial_tree_for_large_vectors(p):
    n = 1e8
    dbt = simulate_collective(star(p, B, L), "double_binary_tree", nbytes=n).time
    tree = simulate_collective(star(p, B, L), "binomial_tree", nbytes=n).time
    assert dbt < 0.7 * tree


def test_registry_entry():
    algo = get_algorithm("nccl_tree", operation="allreduce")
    assert algo.name == "double_binary_tree" and algo.predict is None
    assert algo.options == ("chunks",)


def test_bad_chunks_are_rejected():
    with pytest.raises(ValueError):
        simulate_collective(star(4, B, L), "double_binary_tree", nbytes=1e3, chunks=0)
