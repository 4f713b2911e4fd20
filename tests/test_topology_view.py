"""Topology view: pure graph metrics (bisection bandwidth, oversubscription) and drawings."""

from __future__ import annotations

import doctest
from pathlib import Path

import networkx as nx
import pytest

import netsim.topology_view
from netsim.plots import save_figure
from netsim.topology import dumbbell, fat_tree, from_file, ring, star, torus, tree
from netsim.topology_view import (
    bisection_bandwidth,
    draw_topology,
    graph_metrics,
    node_levels,
    oversubscription,
    topology_layout,
)

ROOT = Path(__file__).resolve().parents[1]
GBPS = 1.25e8  # bytes/s in 1 Gbps


# --- metrics: pure functions of the graph ------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "gbps", "ratio"),
    [
        (star(4, "10Gbps", "1us"), 20, 1.0),
        (star(5, "10Gbps", "1us"), 20, 1.0),  # 2 hosts send to 3: limited by the 2 senders
        (ring(8, "1Gbps", "1us"), 2, 0.25),  # two links cross the cut; hosts have 2 links each
        (tree(16, "25Gbps", "1us", fanout=4, oversubscription=8), 25, 0.125),
        (tree(16, "25Gbps", "1us", fanout=4, oversubscription=1), 200, 1.0),
        (dumbbell(3, 3, "10Gbps", "1us", bottleneck_bandwidth="1Gbps"), 1, 1 / 30),
        (fat_tree(16, "100Gbps", "1us"), 800, 1.0),
        (torus(16, "100Gbps", "1us"), 800, 0.25),  # 4x4: 8 links cross between the two halves of the rows
    ],
)
def test_bisection_bandwidth(graph, gbps, ratio):
    assert bisection_bandwidth(graph) == pytest.approx(gbps * GBPS)
    assert graph_metrics(graph)["bisection_ratio"] == pytest.approx(ratio)


def test_bisection_of_files_and_tiny_graphs():
    assert bisection_bandwidth(from_file(ROOT / "topologies" / "two_racks.toml")) == pytest.approx(100 * GBPS)
    assert bisection_bandwidth(from_file(ROOT / "topologies" / "small_dc.json")) == pytest.approx(800 * GBPS)
    assert bisection_bandwidth(star(1, "10Gbps", "1us")) == 0.0
    assert graph_metrics(star(1, "10Gbps", "1us"))["bisection_ratio"] is None


def test_bisection_uses_directed_capacities_per_direction():
    G = nx.Graph(hosts=["a", "b"])
    G.add_node("a", kind="host")
    G.add_node("b", kind="host")
    G.add_node("s", kind="switch")
    G.add_edge("a", "s", bandwidth=3.0, latency=0.0)
    G.add_edge("s", "b", bandwidth=5.0, latency=0.0)
    assert bisection_bandwidth(G) == 3.0


def test_oversubscription():
    levels = oversubscription(tree(16, "25Gbps", "1us", fanout=4, oversubscription=8))
    assert levels["per_level"] == {1: 8.0} and levels["max"] == 8.0
    deep = oversubscription(tree(40, "25Gbps", "1us", fanout=3, hosts_per_leaf=4))
    assert deep["per_level"] == {1: 4.0, 2: 3.0, 3: 3.0}
    assert oversubscription(from_file(ROOT / "topologies" / "two_racks.toml"))["per_level"] == {1: 4.0}
    assert oversubscription(from_file(ROOT / "topologies" / "small_dc.json"))["per_level"] == {1: 1.0}
    assert oversubscription(fat_tree(16, "100Gbps", "1us"))["per_level"] == {1: 1.0, 2: 1.0}
    # a dumbbell's switches use their link to each other as the uplink
    assert oversubscription(dumbbell(3, 2, "10Gbps", "1us", bottleneck_bandwidth="10Gbps"))["per_switch"] == {"s0": 3.0, "s1": 2.0}
    for flat in (star(4, "10Gbps", "1us"), ring(4, "10Gbps", "1us")):
        assert oversubscription(flat) == {"per_switch": {}, "per_level": {}, "max": None}


def test_levels_from_attributes_or_distance():
    assert node_levels(tree(4, 1e9, 0, fanout=2, hosts_per_leaf=2)) == {"h0": 0, "h1": 0, "h2": 0, "h3": 0, "s0": 1, "s1": 1, "s2": 2}
    racks = node_levels(from_file(ROOT / "topologies" / "two_racks.toml"))
    assert racks["gpu0"] == 0 and racks["tor0"] == 1 and racks["spine0"] == 2


def test_graph_metrics():
    m = graph_metrics(tree(16, "25Gbps", "2us", fanout=4, oversubscription=8))
    assert (m["hosts"], m["switches"], m["links"], m["directed_links"]) == (16, 5, 20, 40)
    assert m["min_bandwidth"] == pytest.approx(12.5 * GBPS) and m["max_bandwidth"] == pytest.approx(25 * GBPS)
    assert m["min_latency"] == m["max_latency"] == pytest.approx(2e-6)
    assert m["oversubscription"] == {1: 8.0} and m["max_oversubscription"] == 8.0
    assert m["name"] == "tree" and "oversubscription 8:1" in m["description"]


# --- layout and drawing ------------------------------------------------------------------------


def test_layouts():
    pos = topology_layout(tree(16, "25Gbps", "1us", fanout=4))
    assert [pos[f"h{i}"] for i in range(3)] == [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]
    assert pos["s0"] == (1.5, 1.0) and pos["s4"][1] == 2.0  # leaf over its hosts, root above
    assert pos["s4"][0] == pytest.approx(7.5)
    circle = topology_layout(ring(6, "1Gbps", "1us"))
    assert all(x * x + y * y == pytest.approx(1.0) for x, y in circle.values())
    assert circle["h0"] == pytest.approx((0.0, 1.0))
    grid = topology_layout(torus(6, "1Gbps", "1us", dims=(2, 3)))
    assert grid["h4"] == (1.0, -1.0)
    assert set(topology_layout(star(3, 1e9, 0), "spring")) == {"h0", "h1", "h2", "s0"}
    with pytest.raises(ValueError, match="unknown layout"):
        topology_layout(star(3, 1e9, 0), "radial")


@pytest.mark.parametrize(
    ("graph", "entries"),
    [
        (tree(16, "25Gbps", "1us", fanout=4, oversubscription=8), ["host (16)", "switch (5)", "25 Gbps link", "12.5 Gbps link"]),
        (ring(8, "1Gbps", "1us"), ["host (8)", "1 Gbps link"]),
        (dumbbell(2, 2, "10Gbps", "1us", bottleneck_bandwidth="1Gbps"), ["host (4)", "switch (2)", "10 Gbps link", "1 Gbps link"]),
        (torus(16, "100Gbps", "1us"), ["host (16)", "100 Gbps link"]),
        (fat_tree(16, "100Gbps", "1us"), ["host (16)", "switch (20)", "100 Gbps link"]),
    ],
)
def test_draw_topology(graph, entries, tmp_path):
    fig = draw_topology(graph)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == entries
    assert ax.get_title().startswith(f"{graph.graph['name']}: ")
    assert len(ax.patches) == graph.number_of_edges()
    names = {t.get_text() for t in ax.texts}
    assert "h0" in names
    widths = {round(p.get_linewidth(), 3) for p in ax.patches}
    assert len(widths) == len({bw for *_, bw in graph.edges(data="bandwidth")})
    assert save_figure(fig, tmp_path / "topo.png").stat().st_size > 1000


def test_draw_labels_switch_links_only():
    ax = draw_topology(tree(16, "25Gbps", "1us", fanout=4, oversubscription=8)).axes[0]
    labels = [t.get_text() for t in ax.texts if "Gbps" in t.get_text()]
    assert labels == ["12.5 Gbps"] * 4


def test_doctests():
    assert doctest.testmod(netsim.topology_view).failed == 0
