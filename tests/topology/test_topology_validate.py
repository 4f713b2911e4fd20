"""validate_topology: every failure names the node or edge and the value; hosts, describe."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from netsim.exceptions import TopologyError
from netsim.topology import describe, hosts, ring, star, switches, tree, validate_topology


def pair() -> nx.Graph:
    """Two hosts on one switch, valid."""
    G = nx.Graph(name="pair", hosts=["a", "b"])
    G.add_nodes_from(["a", "b"], kind="host")
    G.add_node("sw", kind="switch")
    G.add_edge("a", "sw", bandwidth=1e9, latency=1e-6)
    G.add_edge("b", "sw", bandwidth=1e9, latency=0.0)
    return G


def test_valid_graph_is_returned():
    G = pair()
    assert validate_topology(G) is G


def test_rank_list_is_optional():
    G = pair()
    del G.graph["hosts"]
    assert validate_topology(G) is G
    assert hosts(G) == ["a", "b"]


def _mutate(change):
    G = pair()
    change(G)
    return G


def _set_edge(key, value):
    def change(G):
        G.edges["a", "sw"][key] = value

    return change


def _del_edge(key):
    def change(G):
        del G.edges["a", "sw"][key]

    return change


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (lambda: nx.DiGraph(pair()), ["undirected", "DiGraph"]),
        (lambda: nx.MultiGraph(pair()), ["multigraph", "MultiGraph"]),
        (lambda: {"a": 1}, ["dict"]),
        (lambda: nx.Graph(), ["no nodes"]),
        (lambda: _mutate(lambda G: G.add_node("x", kind="router")), ["'x'", "'router'"]),
        (lambda: _mutate(lambda G: G.add_node("y")), ["'y'", "None"]),
        (
            lambda: _mutate(lambda G: nx.set_node_attributes(G, "switch", "kind")),
            ["no host"],
        ),
        (lambda: _mutate(lambda G: G.graph.update(hosts="ab")), ['G.graph["hosts"]', "'ab'"]),
        (
            lambda: _mutate(lambda G: G.graph.update(hosts=["a", "zz", "b"])),
            ["[1]", "'zz'", "not a node"],
        ),
        (
            lambda: _mutate(lambda G: G.graph.update(hosts=["a", "sw", "b"])),
            ["[1]", "'sw'", "switch"],
        ),
        (lambda: _mutate(lambda G: G.graph.update(hosts=["a", "b", "a"])), ["[2]", "'a'", "twice"]),
        (lambda: _mutate(lambda G: G.graph.update(hosts=["b"])), ["'a'", "missing"]),
        (
            lambda: _mutate(lambda G: G.add_edge("a", "a", bandwidth=1.0, latency=0.0)),
            ["('a', 'a')", "self-loop"],
        ),
        (lambda: _mutate(_del_edge("bandwidth")), ["('a', 'sw')", "'bandwidth'"]),
        (lambda: _mutate(_del_edge("latency")), ["('a', 'sw')", "'latency'"]),
        (lambda: _mutate(_set_edge("bandwidth", 0.0)), ["('a', 'sw')", "bandwidth", "0.0"]),
        (lambda: _mutate(_set_edge("bandwidth", -5)), ["('a', 'sw')", "bandwidth", "-5"]),
        (lambda: _mutate(_set_edge("bandwidth", math.inf)), ["('a', 'sw')", "bandwidth", "inf"]),
        (lambda: _mutate(_set_edge("bandwidth", math.nan)), ["('a', 'sw')", "bandwidth", "nan"]),
        (
            lambda: _mutate(_set_edge("bandwidth", "10Gbps")),
            ["('a', 'sw')", "bandwidth", "'10Gbps'"],
        ),
        (lambda: _mutate(_set_edge("bandwidth", True)), ["('a', 'sw')", "bandwidth", "True"]),
        (lambda: _mutate(_set_edge("latency", -1e-6)), ["('a', 'sw')", "latency", "-1e-06"]),
        (lambda: _mutate(_set_edge("latency", math.inf)), ["('a', 'sw')", "latency", "inf"]),
        (lambda: _mutate(_set_edge("latency", None)), ["('a', 'sw')", "latency", "None"]),
        (
            lambda: _mutate(lambda G: G.add_node("island", kind="switch")),
            ["not connected", "'island'", "2 components"],
        ),
    ],
)
def test_validation_errors_name_the_culprit(make, fragments):
    with pytest.raises(TopologyError) as info:
        validate_topology(make())
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_hosts_and_switches():
    G = tree(8, 1e9, 0, fanout=2)
    assert hosts(G) == [f"h{i}" for i in range(8)]
    assert switches(G) == [f"s{i}" for i in range(7)]
    assert switches(ring(3, 1e9, 0)) == []


def test_hosts_follow_rank_list_not_insertion_order():
    G = pair()
    G.graph["hosts"] = ["b", "a"]
    validate_topology(G)
    assert hosts(G) == ["b", "a"]


def test_describe():
    d = describe(tree(16, 100.0, 1e-6, fanout=4, oversubscription=2, level_latency=[1e-6, 3e-6]))
    assert d == {
        "name": "tree",
        "hosts": 16,
        "switches": 5,
        "links": 20,
        "min_bandwidth": 100.0,
        "max_bandwidth": 200.0,
        "min_latency": 1e-6,
        "max_latency": 3e-6,
    }


def test_describe_without_links():
    d = describe(ring(1, 1.0, 0))
    assert d["hosts"] == 1 and d["links"] == 0
    assert d["min_bandwidth"] is None and d["max_latency"] is None


def test_describe_star_counts():
    d = describe(star(7, 1.0, 0))
    assert (d["hosts"], d["switches"], d["links"]) == (7, 1, 7)
