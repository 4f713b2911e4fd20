"""Builders: node/edge counts, kinds, attributes, host order, tree levels, errors."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import TopologyError
from netsim.topology import dumbbell, fat_tree, ring, star, torus, tree, validate_topology

B = 12.5e9  # 100 Gbps in bytes/s
L = 1e-6


def kinds(G):
    return dict(G.nodes(data="kind"))


def host_names(n):
    return [f"h{i}" for i in range(n)]


# --- star -----------------------------------------------------------------


def test_star_structure():
    G = star(5, B, L)
    assert G.number_of_nodes() == 6
    assert G.number_of_edges() == 5
    assert G.graph["hosts"] == host_names(5)
    assert list(G.nodes) == host_names(5) + ["s0"]
    assert kinds(G) == {**dict.fromkeys(host_names(5), "host"), "s0": "switch"}
    assert sorted(G["s0"]) == sorted(host_names(5))
    for _, _, data in G.edges(data=True):
        assert data == {"bandwidth": B, "latency": L}
    assert G.graph["name"] == "star"


def test_star_parses_unit_strings():
    G = star(2, "100Gbps", "2us")
    assert G.edges["h0", "s0"]["bandwidth"] == pytest.approx(12.5e9)
    assert G.edges["h0", "s0"]["latency"] == pytest.approx(2e-6)
    assert isinstance(G.edges["h0", "s0"]["bandwidth"], float)


def test_star_single_host():
    G = star(1, B, 0)
    assert G.number_of_edges() == 1 and G.graph["hosts"] == ["h0"]


# --- ring -----------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_ring_structure(n):
    G = ring(n, B, L)
    assert list(G.nodes) == host_names(n)
    assert set(kinds(G).values()) == {"host"}
    assert G.graph["hosts"] == host_names(n)
    assert G.number_of_edges() == {1: 0, 2: 1}.get(n, n)
    for i in range(n):
        if n > 1:
            assert G.has_edge(f"h{i}", f"h{(i + 1) % n}")
    if n >= 3:
        assert all(d == 2 for _, d in G.degree)
    for _, _, data in G.edges(data=True):
        assert data == {"bandwidth": B, "latency": L}


# --- dumbbell -------------------------------------------------------------


def test_dumbbell_structure():
    G = dumbbell(2, 3, B, L, bottleneck_bandwidth=B / 10, bottleneck_latency="1ms")
    assert G.graph["hosts"] == host_names(5)
    assert kinds(G)["s0"] == kinds(G)["s1"] == "switch"
    assert G.number_of_nodes() == 7 and G.number_of_edges() == 6
    assert sorted(G["s0"]) == ["h0", "h1", "s1"]
    assert sorted(G["s1"]) == ["h2", "h3", "h4", "s0"]
    assert G.edges["s0", "s1"] == {"bandwidth": B / 10, "latency": 1e-3}
    assert G.edges["h4", "s1"] == {"bandwidth": B, "latency": L}
    assert G.graph["bottleneck"] == ("s0", "s1")


def test_dumbbell_bottleneck_defaults_to_host_links():
    G = dumbbell(1, 1, B, L)
    assert G.edges["s0", "s1"] == {"bandwidth": B, "latency": L}


# --- tree -----------------------------------------------------------------


def switches_at(G, level):
    return [
        n for n, lvl in G.nodes(data="level") if G.nodes[n]["kind"] == "switch" and lvl == level
    ]


def test_tree_16_hosts_fanout_4():
    G = tree(16, B, L, fanout=4)
    assert G.graph["levels"] == 2
    assert switches_at(G, 1) == ["s0", "s1", "s2", "s3"]
    assert switches_at(G, 2) == ["s4"]
    assert G.number_of_nodes() == 16 + 5
    assert G.number_of_edges() == 16 + 4
    for i in range(16):
        assert list(G[f"h{i}"]) == [f"s{i // 4}"]
    for leaf in ["s0", "s1", "s2", "s3"]:
        assert G.has_edge(leaf, "s4")
    assert all(bw == B for _, _, bw in G.edges(data="bandwidth"))
    assert G.graph["level_bandwidth"] == [B, B]
    assert G.graph["level_latency"] == [L, L]
    assert G.graph["oversubscription"] is None


def test_tree_oversubscription_2():
    G = tree(16, B, L, fanout=4, oversubscription=2)
    for leaf in ["s0", "s1", "s2", "s3"]:
        assert G.edges[leaf, "s4"]["bandwidth"] == 4 * B / 2
    assert G.graph["level_bandwidth"] == [B, 2 * B]
    assert G.graph["oversubscription"] == 2.0


def test_tree_three_levels_oversubscription_compounds():
    G = tree(64, B, L, fanout=4, oversubscription=2)
    assert G.graph["levels"] == 3
    assert (
        len(switches_at(G, 1)) == 16
        and len(switches_at(G, 2)) == 4
        and switches_at(G, 3) == ["s20"]
    )
    # leaf uplinks: 4 hosts * B / 2; aggregation uplinks: 4 leaf uplinks * 2B / 2
    assert G.edges["s0", "s16"]["bandwidth"] == 2 * B
    assert G.edges["s16", "s20"]["bandwidth"] == 4 * B
    assert G.graph["level_bandwidth"] == [B, 2 * B, 4 * B]
    assert [lvl for _, _, lvl in G.edges(data="level")].count(2) == 4


def test_tree_partial_leaf_oversubscription_uses_links_below():
    G = tree(10, B, L, fanout=4, oversubscription=2)
    assert switches_at(G, 1) == ["s0", "s1", "s2"]
    assert G.edges["s0", "s3"]["bandwidth"] == 2 * B
    assert G.edges["s2", "s3"]["bandwidth"] == B  # only h8, h9 below s2
    assert G.graph["level_bandwidth"] == [B, 2 * B]


def test_tree_level_bandwidth_last_value_repeats():
    G = tree(64, B, L, fanout=4, level_bandwidth=["100Gbps", "200Gbps"])
    assert G.edges["h0", "s0"]["bandwidth"] == B
    assert G.edges["s0", "s16"]["bandwidth"] == 2 * B
    assert G.edges["s16", "s20"]["bandwidth"] == 2 * B
    assert G.graph["level_bandwidth"] == [B, 2 * B, 2 * B]


def test_tree_level_bandwidth_replaces_bandwidth():
    G = tree(4, 1.0, L, level_bandwidth=[5.0, 7.0])
    assert G.edges["h0", "s0"]["bandwidth"] == 5.0
    assert G.edges["s0", "s1"]["bandwidth"] == 7.0


def test_tree_level_latency():
    G = tree(64, B, L, fanout=4, level_latency=["1us", "2us"])
    assert G.edges["h0", "s0"]["latency"] == pytest.approx(1e-6)
    assert G.edges["s0", "s16"]["latency"] == pytest.approx(2e-6)
    assert G.edges["s16", "s20"]["latency"] == pytest.approx(2e-6)
    assert G.graph["level_latency"] == pytest.approx([1e-6, 2e-6, 2e-6])


@pytest.mark.parametrize("n", [1, 2, 4])
def test_tree_always_has_a_root_above_the_leaves(n):
    G = tree(n, B, L, fanout=4)
    assert G.graph["levels"] == 2
    assert switches_at(G, 1) == ["s0"] and switches_at(G, 2) == ["s1"]
    assert G.has_edge("s0", "s1")


def test_tree_hosts_per_leaf():
    G = tree(12, B, L, fanout=2, hosts_per_leaf=6)
    assert switches_at(G, 1) == ["s0", "s1"]
    assert sorted(G["s0"]) == ["h0", "h1", "h2", "h3", "h4", "h5", "s2"]
    assert G.graph["hosts_per_leaf"] == 6 and G.graph["fanout"] == 2


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 200),
    k=st.integers(2, 6),
    per_leaf=st.one_of(st.none(), st.integers(1, 9)),
    ratio=st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 3.0])),
)
def test_tree_properties(n, k, per_leaf, ratio):
    G = tree(n, B, L, fanout=k, hosts_per_leaf=per_leaf, oversubscription=ratio)
    m = k if per_leaf is None else per_leaf
    depth = G.graph["levels"]
    assert depth >= 2
    assert G.graph["hosts"] == host_names(n)
    assert len(switches_at(G, 1)) == math.ceil(n / m)
    assert len(switches_at(G, depth)) == 1
    assert nx.is_tree(G)
    for h in G.graph["hosts"]:
        assert G.degree[h] == 1
    for s in (node for node, kind in G.nodes(data="kind") if kind == "switch"):
        level = G.nodes[s]["level"]
        below = [v for v in G[s] if G.nodes[v].get("level", 0) == level - 1]
        up = [v for v in G[s] if G.nodes[v].get("level", 0) == level + 1]
        assert len(below) <= (m if level == 1 else k)
        assert len(up) == (0 if level == depth else 1)
        if up and ratio is not None:
            expected = sum(G.edges[s, v]["bandwidth"] for v in below) / ratio
            assert G.edges[s, up[0]]["bandwidth"] == pytest.approx(expected)
    validate_topology(G)


# --- fat_tree ---------------------------------------------------------------


def test_fat_tree_k4_full():
    G = fat_tree(16, B, L)
    assert G.graph["k"] == 4
    switches = [n for n, kind in G.nodes(data="kind") if kind == "switch"]
    assert len(switches) == 20
    assert all(G.degree[s] == 4 for s in switches)
    assert G.number_of_edges() == 48
    assert [len(switches_at(G, lvl)) for lvl in (1, 2, 3)] == [8, 8, 4]
    # hosts in different pods: 4 equal-cost paths through the core
    assert len(list(nx.all_shortest_paths(G, "h0", "h15"))) == 4


def test_fat_tree_partial_and_smallest_k():
    G = fat_tree(3, B, L)
    assert G.graph["k"] == 4 and G.graph["hosts"] == host_names(3)
    assert fat_tree(2, B, L).graph["k"] == 2
    assert fat_tree(17, B, L).graph["k"] == 6


# --- torus ------------------------------------------------------------------


def test_torus_default_shape_and_degrees():
    G = torus(16, B, L)
    assert G.graph["dims"] == (4, 4)
    assert all(d == 4 for _, d in G.degree)
    assert G.number_of_edges() == 32
    assert sorted(G["h0"]) == ["h1", "h12", "h3", "h4"]


def test_torus_prime_is_a_ring():
    G = torus(7, B, L)
    assert G.graph["dims"] == (7,)
    assert nx.utils.edges_equal(G.edges, ring(7, B, L).edges)


def test_torus_explicit_dims_with_size_two():
    G = torus(8, B, L, dims=[2, 2, 2])
    assert nx.is_isomorphic(G, nx.hypercube_graph(3))
    assert all(d == 3 for _, d in G.degree)
    assert G.number_of_edges() == 12


# --- parameter errors -------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "fragments"),
    [
        (lambda: star(0, B, L), ["hosts", "0"]),
        (lambda: star(-3, B, L), ["hosts", "-3"]),
        (lambda: star(2.5, B, L), ["hosts", "2.5"]),
        (lambda: star(True, B, L), ["hosts", "True"]),
        (lambda: star("4", B, L), ["hosts", "'4'"]),
        (lambda: ring(0, B, L), ["hosts", "0"]),
        (lambda: star(2, 0, L), ["bandwidth", "0"]),
        (lambda: star(2, "0Gbps", L), ["bandwidth", "'0Gbps'"]),
        (lambda: star(2, -1.0, L), ["bandwidth", "-1.0"]),
        (lambda: star(2, "fast", L), ["bandwidth", "'fast'"]),
        (lambda: star(2, "100Gbpz", L), ["bandwidth", "'100Gbpz'"]),
        (lambda: star(2, math.inf, L), ["bandwidth", "inf"]),
        (lambda: star(2, B, -1e-6), ["latency", "-1e-06"]),
        (lambda: ring(3, B, "1 parsec"), ["latency", "'1 parsec'"]),
        (lambda: tree(4, B, L, fanout=1), ["fanout", "1"]),
        (lambda: tree(4, B, L, fanout=2.0), ["fanout", "2.0"]),
        (lambda: tree(4, B, L, hosts_per_leaf=0), ["hosts_per_leaf", "0"]),
        (lambda: tree(4, B, L, oversubscription=0), ["oversubscription", "0"]),
        (lambda: tree(4, B, L, oversubscription=-2), ["oversubscription", "-2"]),
        (lambda: tree(4, B, L, oversubscription=math.inf), ["oversubscription", "inf"]),
        (lambda: tree(4, B, L, oversubscription="2"), ["oversubscription", "'2'"]),
        (lambda: tree(4, B, L, level_bandwidth=[]), ["level_bandwidth", "[]"]),
        (lambda: tree(4, B, L, level_bandwidth="100Gbps"), ["level_bandwidth", "'100Gbps'"]),
        (lambda: tree(4, B, L, level_bandwidth=[B, 0]), ["level_bandwidth[1]", "0"]),
        (lambda: tree(4, B, L, level_bandwidth=[B, "x"]), ["level_bandwidth[1]", "'x'"]),
        (lambda: tree(4, B, L, level_latency=[L, -1]), ["level_latency[1]", "-1"]),
        (
            lambda: tree(4, B, L, level_bandwidth=[B], oversubscription=2),
            ["level_bandwidth", "oversubscription"],
        ),
        (lambda: dumbbell(0, 2, B, L), ["hosts_left", "0"]),
        (lambda: dumbbell(2, 0, B, L), ["hosts_right", "0"]),
        (lambda: dumbbell(1, 1, B, L, bottleneck_bandwidth=0), ["bottleneck_bandwidth", "0"]),
        (lambda: dumbbell(1, 1, B, L, bottleneck_latency="-1us"), ["bottleneck_latency", "'-1us'"]),
        (lambda: fat_tree(4, B, L, k=3), ["k", "3"]),
        (lambda: fat_tree(4, B, L, k=0), ["k", "0"]),
        (lambda: fat_tree(17, B, L, k=4), ["k = 4", "16", "17"]),
        (lambda: torus(6, B, L, dims=[4, 2]), ["dims", "[4, 2]", "8", "6"]),
        (lambda: torus(6, B, L, dims=[0, 6]), ["dims[0]", "0"]),
        (lambda: torus(6, B, L, dims="6"), ["dims", "'6'"]),
    ],
)
def test_parameter_errors_name_parameter_and_value(call, fragments):
    with pytest.raises(TopologyError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
