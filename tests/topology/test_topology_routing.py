"""Router: shortest paths, reproducible tie-breaks, seeded ECMP, errors, scaling."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import RoutingError, ScenarioError
from netsim.topology import Router, dumbbell, fat_tree, from_file, hosts, ring, star, torus, tree

B = 12.5e9
L = 1e-6


def assert_is_route(G, route, src, dst):
    assert route[0] == src and route[-1] == dst
    assert len(set(route)) == len(route)
    for u, v in zip(route[:-1], route[1:], strict=True):
        assert G.has_edge(u, v), (u, v)


# --- shortest paths ------------------------------------------------------------


def test_same_node_and_star():
    router = Router(star(4, B, L))
    assert router.path("h2", "h2") == ("h2",)
    assert router.path("h0", "h3") == ("h0", "s0", "h3")
    assert router.path("h0", "s0") == ("h0", "s0")
    assert router.path("s0", "h1") == ("s0", "h1")
    assert router.links("h0", "h3") == (("h0", "s0"), ("s0", "h3"))
    assert router.links("h1", "h1") == ()
    assert router.hops("h0", "h3") == 2


@pytest.mark.parametrize("n", [2, 3, 7, 8])
def test_ring_hop_counts(n):
    router = Router(ring(n, B, L))
    G = router.graph
    for i in range(n):
        for j in range(n):
            route = router.path(f"h{i}", f"h{j}")
            assert_is_route(G, route, f"h{i}", f"h{j}")
            assert len(route) - 1 == min(abs(i - j), n - abs(i - j))


def test_tree_hop_counts():
    G = tree(64, B, L, fanout=4)
    router = Router(G)
    assert router.hops("h0", "h1") == 2  # same leaf
    assert router.hops("h0", "h4") == 4  # same aggregation switch
    assert router.hops("h0", "h63") == 6  # through the root
    assert router.path("h0", "h63") == ("h0", "s0", "s16", "s20", "s19", "s15", "h63")


def test_dumbbell_crosses_the_bottleneck():
    router = Router(dumbbell(2, 2, B, L))
    assert router.path("h0", "h3") == ("h0", "s0", "s1", "h3")


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 30),
    p=st.floats(0.05, 0.5),
    graph_seed=st.integers(0, 10_000),
    mode=st.sampled_from(["shortest", "ecmp"]),
    route_seed=st.integers(0, 2**32),
)
def test_routes_are_shortest_on_random_graphs(n, p, graph_seed, mode, route_seed):
    G = nx.gnp_random_graph(n, p, seed=graph_seed)
    router = Router(G, mode=mode, seed=route_seed)
    lengths = dict(nx.all_pairs_shortest_path_length(G))
    for src in G:
        for dst in G:
            if dst in lengths[src]:
                route = router.path(src, dst)
                assert_is_route(G, route, src, dst)
                assert len(route) - 1 == lengths[src][dst]
            else:
                with pytest.raises(RoutingError):
                    router.path(src, dst)


# --- deterministic tie-breaks --------------------------------------------------


def test_ties_go_to_the_first_inserted_neighbour():
    assert Router(ring(6, B, L)).path("h0", "h3") == ("h0", "h1", "h2", "h3")
    assert Router(ring(6, B, L)).path("h3", "h0") == ("h3", "h2", "h1", "h0")
    G = from_file("small_dc")
    router = Router(G)
    for src in hosts(G):
        for dst in hosts(G):
            route = router.path(src, dst)
            if len(route) == 5:
                assert route[2] == "spine0"


def test_two_routers_agree_on_every_pair():
    G = torus(12, B, L)
    first, second = Router(G), Router(G)
    pairs = [(a, b) for a in G for b in G]
    assert [first.path(a, b) for a, b in pairs] == [second.path(a, b) for a, b in reversed(pairs)][
        ::-1
    ]


def test_tie_breaks_do_not_depend_on_edge_insertion_order():
    G = fat_tree(16, B, L)
    edges = list(G.edges(data=True))
    random.Random(5).shuffle(edges)
    H = nx.Graph(**G.graph)
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from(edges)
    for mode in ("shortest", "ecmp"):
        a, b = Router(G, mode=mode, seed=9), Router(H, mode=mode, seed=9)
        assert all(a.path(s, d) == b.path(s, d) for s in hosts(G) for d in hosts(G))


def test_routes_are_cached():
    router = Router(tree(16, B, L))
    assert router.path("h0", "h9") is router.path("h0", "h9")


# --- ECMP ------------------------------------------------------------------------


def cross_leaf_pairs(G):
    leaf = {h: next(iter(G[h])) for h in hosts(G)}
    return [(a, b) for a in hosts(G) for b in hosts(G) if leaf[a] != leaf[b]]


def test_ecmp_spreads_pairs_over_both_spines(small_dc_path):
    G = from_file(small_dc_path)
    router = Router(G, mode="ecmp", seed=0)
    pairs = cross_leaf_pairs(G)
    spines = Counter(router.path(a, b)[2] for a, b in pairs)
    assert set(spines) == {"spine0", "spine1"}
    # 192 pairs: a fair coin per pair keeps each spine well above a quarter
    assert min(spines.values()) > len(pairs) / 4
    for a, b in pairs:
        assert len(router.path(a, b)) == 5


def test_ecmp_choice_depends_on_the_source(small_dc_path):
    # hosts on one leaf sending to one destination do not all take the same spine
    G = from_file(small_dc_path)
    router = Router(G, mode="ecmp", seed=0)
    split = 0
    for dst in hosts(G):
        for leaf in ("leaf0", "leaf1", "leaf2", "leaf3"):
            sources = [h for h in G[leaf] if h in G.graph["hosts"] and h != dst]
            if dst in G[leaf]:
                continue
            split += len({router.path(src, dst)[2] for src in sources}) == 2
    assert split > 0


def test_ecmp_is_reproducible_and_depends_on_the_seed(small_dc_path):
    G = from_file(small_dc_path)
    pairs = cross_leaf_pairs(G)

    def routes(seed):
        router = Router(G, mode="ecmp", seed=seed)
        return [router.path(a, b) for a, b in pairs]

    assert routes(7) == routes(7)
    assert routes(7) != routes(8)


def test_ecmp_spreads_over_the_fat_tree_core():
    G = fat_tree(16, B, L)
    router = Router(G, mode="ecmp", seed=1)
    cores = {router.path(a, b)[3] for a in hosts(G)[:4] for b in hosts(G)[8:]}
    assert cores == {"s16", "s17", "s18", "s19"}


ECMP_SCRIPT = """
import json, sys
from netsim.topology import Router, from_file, hosts
G = from_file(sys.argv[1])
router = Router(G, mode="ecmp", seed=int(sys.argv[2]))
print(json.dumps([router.path(a, b) for a in hosts(G) for b in hosts(G)]))
"""


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_ecmp_is_identical_in_a_process_with_another_hash_seed(repo_root, small_dc_path, hash_seed):
    G = from_file(small_dc_path)
    router = Router(G, mode="ecmp", seed=3)
    here = [list(router.path(a, b)) for a in hosts(G) for b in hosts(G)]
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(repo_root)}
    out = subprocess.run(
        [sys.executable, "-c", ECMP_SCRIPT, str(small_dc_path), "3"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=repo_root,
    )
    assert json.loads(out.stdout) == here


# --- errors ------------------------------------------------------------------------


def test_unknown_nodes():
    router = Router(star(3, B, L))
    with pytest.raises(RoutingError, match="unknown source node 'h9'"):
        router.path("h9", "h0")
    with pytest.raises(RoutingError, match="unknown destination node 'x'"):
        router.path("h0", "x")
    with pytest.raises(RoutingError, match=r"\['h0'\]"):
        router.path(["h0"], "h1")
    with pytest.raises(RoutingError, match="unknown"):
        router.links("h0", 7)


def test_no_path_names_both_nodes():
    G = nx.Graph()
    G.add_edge("a", "b")
    G.add_edge("c", "d")
    G.add_edge("d", "e")
    router = Router(G)
    with pytest.raises(RoutingError, match="no path from 'a' to 'c'"):
        router.path("a", "c")
    with pytest.raises(RoutingError, match="no path from 'c' to 'a'"):
        router.path("c", "a")  # 'a' has one neighbour: the search runs from 'b'
    assert router.path("c", "e") == ("c", "d", "e")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"mode": "random"}, "'random'"),
        ({"mode": "ecmp", "seed": -1}, "-1"),
        ({"seed": 1.5}, "1.5"),
        ({"seed": True}, "True"),
    ],
)
def test_bad_mode_or_seed(kwargs, fragment):
    with pytest.raises(ScenarioError, match=fragment):
        Router(star(2, B, L), **kwargs)


# --- scaling -------------------------------------------------------------------------


def ring_neighbour_routes(router, names):
    n = len(names)
    for i in range(n):
        router.path(names[i], names[(i + 1) % n])


def test_large_topologies_need_few_searches():
    for G, mode, most in (
        (star(1024, B, L), "shortest", 1),  # every host hangs off s0
        (tree(1024, B, L), "ecmp", 256),  # one search per leaf switch
        (ring(1024, B, L), "shortest", 1024),  # stopped after one hop each
    ):
        router = Router(G, mode=mode)
        ring_neighbour_routes(router, hosts(G))
        searches = router._searches
        assert len(searches) <= most
        # a full search per destination would label about len(G) nodes per host
        assert sum(len(dist) for dist, _ in searches.values()) <= 20 * len(G)


def test_large_topologies_route_with_bounded_work():
    # Counted work, not wall time (speed belongs in benchmarks/): routing every ring
    # neighbour of 1,024 hosts must not label more than a few nodes per host.
    for G in (star(1024, B, L), ring(1024, B, L), tree(1024, B, L)):
        router = Router(G, mode="ecmp")
        names = hosts(G)
        ring_neighbour_routes(router, names)
        searched = sum(len(dist) for dist, _ in router._searches.values())
        assert searched <= 20 * len(G)
        path = router.path(names[5], names[6])
        assert path[0] == names[5] and path[-1] == names[6]
