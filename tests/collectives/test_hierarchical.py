"""Hierarchical (2-D ring) allreduce: groups, exact sums, formula and hand-computed tree times."""

import doctest

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.collectives.hierarchical as module
from netsim.collectives import Communicator, get_algorithm, simulate_collective
from netsim.collectives.hierarchical import hierarchical_time, rank_groups
from netsim.network import make_network
from netsim.topology import Router, dumbbell, fat_tree, ring, star, torus, tree
from tests.collectives.helpers import vectors

B = 1.25e9  # 10 Gbps in bytes/s
L = 3e-6  # seconds per hop
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]



def communicator(graph, ranks=None):
    env = simpy.Environment()
    network = make_network("flow", env, graph, Router(graph))
    hosts = graph.graph["hosts"]
    return Communicator(env, network, hosts if ranks is None else [hosts[r] for r in ranks])


def check_sum(run, data):
    expected = np.sum(data, axis=0)
    for out in run.outputs:
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- groups
def test_groups_of_a_tree_are_its_leaves():
    comm = communicator(tree(16, B, L, fanout=4))
    assert rank_groups(comm) == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11), (12, 13, 14, 15)]


def test_groups_follow_hosts_not_rank_numbers():
    # Ranks placed on hosts 0, 4, 1, 5 of a tree with 4 hosts per leaf: two groups.
    comm = communicator(tree(8, B, L, fanout=4), ranks=[0, 4, 1, 5])
    assert rank_groups(comm) == [(0, 2), (1, 3)]


def test_groups_of_other_topologies():
    assert rank_groups(communicator(star(5, B, L))) == [(0, 1, 2, 3, 4)]
    assert rank_groups(communicator(dumbbell(2, 3, B, L))) == [(0, 1), (2, 3, 4)]
    assert rank_groups(communicator(fat_tree(8, B, L, k=4))) == [(0, 1), (2, 3), (4, 5), (6, 7)]
    # Hosts linked directly (no switch): one group.
    assert rank_groups(communicator(ring(6, B, L))) == [tuple(range(6))]
    assert rank_groups(communicator(torus(6, B, L))) == [tuple(range(6))]


def test_group_size_option():
    comm = communicator(tree(16, B, L, fanout=4))
    assert rank_groups(comm, 8) == [tuple(range(8)), tuple(range(8, 16))]
    assert rank_groups(comm, 5) == [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11, 12, 13, 14), (15,)]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="group_size"):
            rank_groups(comm, bad)


# ----------------------------------------------------------------------------- results
@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("length", [0, 1, 3, 6, 15, 17, 1001])
def test_exact_sum_with_groups_from_a_tree(p, length):
    data = vectors(p, length, seed=p * 1000 + length)
    run = simulate_collective(tree(p, B, L, fanout=2, hosts_per_leaf=3), "hierarchical", data)
    check_sum(run, data)
    assert run.comm.pending_messages() == 0


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("group_size", [1, 2, 3, 4])
@pytest.mark.parametrize("length", [0, 1, 5, 17, 100])
def test_exact_sum_with_any_group_size(p, group_size, length):
    data = vectors(p, length, seed=p * 100 + length)
    run = simulate_collective(star(p, B, L), "hierarchical_ring", data, group_size=group_size)
    check_sum(run, data)
    assert run.comm.pending_messages() == 0


@settings(max_examples=40, deadline=None)
@given(
    p=st.integers(1, 12),
    group_size=st.integers(1, 12),
    length=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_sum_property(p, group_size, length, seed):
    data = vectors(p, length, seed)
    check_sum(simulate_collective(star(p, B, L), "hierarchical", data, group_size=group_size), data)


def test_exact_sum_on_the_tree_of_the_brief():
    data = vectors(16, 1000, seed=7)
    check_sum(simulate_collective(tree(16, B, L, fanout=4), "hierarchical", data), data)


@pytest.mark.parametrize("group_size", [1, 3, 4, None])
def test_inputs_untouched_and_outputs_owned(group_size):
    p = 6
    data = vectors(p, 11, seed=3)
    copies = [d.copy() for d in data]
    run = simulate_collective(star(p, B, L), "hierarchical", data, group_size=group_size)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for i, out in enumerate(run.outputs):
        assert not any(np.shares_memory(out, d) for d in data)
        assert not any(np.shares_memory(out, o) for j, o in enumerate(run.outputs) if j != i)


def test_size_only_returns_none():
    run = simulate_collective(tree(16, B, L, fanout=4), "hierarchical", nbytes=1e6)
    assert run.outputs == [None] * 16
    assert run.comm.pending_messages() == 0


# ----------------------------------------------------------------------------- times
@pytest.mark.parametrize(
    ("a", "b"), [(2, 1), (2, 2), (4, 2), (2, 4), (4, 4), (8, 2), (3, 2), (2, 3), (3, 4)]
)
@pytest.mark.parametrize("n", SIZES)
def test_time_with_group_size_on_a_star(a, b, n):
    p = a * b
    run = simulate_collective(star(p, B, L), "hierarchical", nbytes=n, group_size=a)
    expected = 2 * (a - 1) * (ALPHA + n * BETA / a) + 2 * (b - 1) * (ALPHA + n * BETA / (a * b))
    assert run.time == pytest.approx(expected, rel=1e-9)
    assert hierarchical_time(a, b, n, ALPHA, BETA) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("a", "b"), [(4, 4), (2, 8)])
def test_real_arrays_take_the_formula_time(a, b):
    p, length = a * b, 4096
    run = simulate_collective(star(p, B, L), "hierarchical", vectors(p, length), group_size=a)
    assert run.time == pytest.approx(hierarchical_time(a, b, 8 * length, ALPHA, BETA), rel=1e-9)


@pytest.mark.parametrize("p", [2, 3, 8, 16])
def test_one_group_on_a_star_is_the_flat_ring(p):
    n = 1e6
    run = simulate_collective(star(p, B, L), "hierarchical", nbytes=n)
    ring_time = 2 * (p - 1) * ALPHA + 2 * (p - 1) / p * n * BETA
    assert run.time == pytest.approx(ring_time, rel=1e-9)
    assert get_algorithm("hierarchical").predict(p, n, ALPHA, BETA) == pytest.approx(ring_time)


def test_two_level_formula_on_a_tree_without_oversubscription():
    # tree(16, fanout=4, oversubscription=1): groups = leaves (a = 4, b = 4). Inside a
    # leaf α₁ = 2L; between leaves α₂ = 4L. Each leaf uplink (4B) carries the 4 rings at
    # B each, so every phase is uncontended and the formula is exact.
    n = 1e8
    graph = tree(16, B, L, fanout=4, oversubscription=1)
    run = simulate_collective(graph, "hierarchical", nbytes=n)
    assert run.time == pytest.approx(
        hierarchical_time(4, 4, n, 2 * L, 1 / B, 4 * L, 1 / B), rel=1e-9
    )


OVERSUBSCRIBED = dict(fanout=4, oversubscription=4)


def flat_ring_on_oversubscribed_tree(n):
    # Rank order follows the leaves, so each leaf uplink (4B/4 = B) carries one ring flow
    # per direction: no contention. A ring step is forwarded as soon as it arrives, so the
    # time is the longest chain of 2(p-1) = 30 consecutive ring hops: 16 hops (the whole
    # ring: 4 between leaves at 4L, 12 inside at 2L = 40L) + 14 hops holding all 4
    # inter-leaf hops (36L), each hop also (n/16)/B: 76L + 30n/(16B).
    return 76 * L + 30 / 16 * n / B


def hierarchical_on_oversubscribed_tree(n):
    # Inside leaves: 3 + 3 ring steps of 2L + (n/4)/B. Across: the 4 rings of a leaf share
    # its uplink (B): each of the 6 steps moves n/16 at B/4 over 4 hops: 4L + n/(4B).
    return 6 * (2 * L + n / (4 * B)) + 6 * (4 * L + n / (4 * B))  # = 36L + 3n/B


@pytest.mark.parametrize("n", [1e3, 1e4, 1e5])
def test_hierarchical_beats_the_flat_ring_on_an_oversubscribed_tree(n):
    graph = tree(16, B, L, **OVERSUBSCRIBED)
    hier = simulate_collective(graph, "hierarchical", nbytes=n).time
    flat = simulate_collective(graph, "ring_allreduce", nbytes=n).time
    assert hier == pytest.approx(hierarchical_on_oversubscribed_tree(n), rel=1e-9)
    assert flat == pytest.approx(flat_ring_on_oversubscribed_tree(n), rel=1e-9)
    # 12 steps instead of 30 win 40L and lose 1.125 n/B of shared uplink.
    assert flat - hier == pytest.approx(40 * L - 1.125 * n / B, rel=1e-6)
    assert hier < flat


@pytest.mark.parametrize("n", [1e7, 1e9])
def test_flat_ring_wins_large_vectors_on_an_oversubscribed_tree(n):
    # Crossover at 40L = 1.125 n/B, n ≈ 133 kB: above it the shared uplinks cost more
    # than the latency saved (documented in the module).
    graph = tree(16, B, L, **OVERSUBSCRIBED)
    hier = simulate_collective(graph, "hierarchical", nbytes=n).time
    flat = simulate_collective(graph, "ring_allreduce", nbytes=n).time
    assert hier == pytest.approx(hierarchical_on_oversubscribed_tree(n), rel=1e-9)
    assert flat == pytest.approx(flat_ring_on_oversubscribed_tree(n), rel=1e-9)
    assert hier - flat == pytest.approx(1.125 * n / B - 40 * L, rel=1e-6)


@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
def test_contended_tree_is_never_faster_than_the_formula(n):
    graph = tree(16, B, L, **OVERSUBSCRIBED)
    run = simulate_collective(graph, "hierarchical", nbytes=n)
    assert run.time >= hierarchical_time(4, 4, n, 2 * L, 1 / B, 4 * L, 1 / B)


def test_unequal_groups_still_cost_at_least_the_flat_formula_bandwidth():
    # p = 7 in groups of 4 and 3: exact results are tested above; here only that the
    # extra rings of the smaller group do not make it faster than moving the bytes.
    n = 1e8
    run = simulate_collective(star(7, B, L), "hierarchical", nbytes=n, group_size=4)
    assert run.time >= 2 * (6 / 7) * n * BETA


def test_registry_entry():
    algorithm = get_algorithm("hierarchical_ring", operation="allreduce")
    assert algorithm.name == "hierarchical"
    assert algorithm.options == ("group_size",)


def test_doctests():
    assert doctest.testmod(module).failed == 0
