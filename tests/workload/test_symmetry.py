"""Equitable partitions (when aggregation is exact) and the pairs algorithms use."""

import pytest

from netsim.collectives import get_algorithm
from netsim.workload.symmetry import algorithm_pairs, equitable_partition


def test_symmetric_family_is_kept_with_weights():
    # links: 0,1 host uplinks, 4 switch-switch, 2,3 downlinks (capacities all equal)
    routes = {"A": [((0, 4, 2), 1e-6), ((1, 4, 3), 1e-6)]}
    part = equitable_partition(routes, [1.0] * 5)
    assert part.split == []
    # Uplinks and downlinks each carry one member: one class (a member crosses it twice,
    # which constrains its rate once); the switch link carries both members.
    assert part.weights["A"] == {0: 1, 4: 2}
    assert part.link_class[0] == part.link_class[1] == part.link_class[2] != part.link_class[4]


def test_a_family_whose_members_meet_different_loads_is_split():
    # Member 2 of A shares its uplink with family B, member 1 does not.
    routes = {"A": [((0, 4), 1e-6), ((1, 5), 1e-6)], "B": [((1, 6), 1e-6)]}
    assert equitable_partition(routes, [1.0] * 7).split == ["A"]


def test_different_capacities_or_latencies_split():
    routes = {"A": [((0,), 1e-6), ((1,), 1e-6)]}
    assert equitable_partition(routes, [1.0, 2.0]).split == ["A"]
    routes = {"A": [((0,), 1e-6), ((1,), 2e-6)]}
    assert equitable_partition(routes, [1.0, 1.0]).split == ["A"]


def test_refinement_propagates_through_several_rounds():
    # A's members both cross one private link, then links carrying B members that differ in
    # what else B's members see: only a second round of refinement tells them apart.
    routes = {
        "A": [((0, 2), 0.0), ((1, 3), 0.0)],
        "B": [((2, 4), 0.0), ((3, 5), 0.0)],
        "C": [((4,), 0.0)],
    }
    part = equitable_partition(routes, [1.0] * 6)
    assert set(part.split) == {"A", "B"}


@pytest.mark.parametrize("name", ["ring_allreduce", "ring_reduce_scatter", "ring_all_gather"])
def test_ring_pairs(name):
    assert algorithm_pairs(get_algorithm(name), 4) == [(0, 1), (1, 2), (2, 3), (3, 0)]


def test_pairwise_and_dry_run_pairs():
    assert sorted(algorithm_pairs(get_algorithm("pairwise"), 3)) == sorted([(0, 1), (1, 2), (2, 0), (0, 2), (1, 0), (2, 1)])
    pairs = algorithm_pairs(get_algorithm("recursive_doubling"), 4)
    assert sorted(pairs) == sorted([(0, 1), (1, 0), (2, 3), (3, 2), (0, 2), (2, 0), (1, 3), (3, 1)])
    assert algorithm_pairs(get_algorithm("ring_allreduce"), 1) == []
