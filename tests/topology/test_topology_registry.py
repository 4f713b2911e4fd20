"""TOPOLOGIES and build_topology: lookup by name, parameter checks."""

from __future__ import annotations

import networkx as nx
import pytest

from netsim.exceptions import ScenarioError, TopologyError
from netsim.topology import TOPOLOGIES, build_topology, dumbbell, ring, star, tree

REQUIRED = {"star", "ring", "tree", "dumbbell", "file"}


def test_registry_holds_the_required_kinds_with_one_line_descriptions():
    assert set(TOPOLOGIES) >= REQUIRED
    for name, (builder, description) in TOPOLOGIES.items():
        assert callable(builder), name
        assert isinstance(description, str) and description and "\n" not in description


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("star", {"hosts": 3, "bandwidth": "10Gbps", "latency": "1us"}, star(3, 1.25e9, 1e-6)),
        ("ring", {"hosts": 4, "bandwidth": 1e9, "latency": 0}, ring(4, 1e9, 0)),
        (
            "tree",
            {"hosts": 8, "bandwidth": 1e9, "latency": 0, "fanout": 2, "oversubscription": 2},
            tree(8, 1e9, 0, fanout=2, oversubscription=2),
        ),
        (
            "dumbbell",
            {
                "hosts_left": 2,
                "hosts_right": 1,
                "bandwidth": 1e9,
                "latency": 0,
                "bottleneck_bandwidth": 1e8,
            },
            dumbbell(2, 1, 1e9, 0, bottleneck_bandwidth=1e8),
        ),
    ],
)
def test_build_topology_calls_the_builder(kind, params, expected):
    G = build_topology(kind, **params)
    assert nx.utils.graphs_equal(G, expected)
    assert list(G.edges(data=True)) == list(expected.edges(data=True))


def test_build_topology_reads_files(two_racks_path):
    G = build_topology("file", path=two_racks_path)
    assert G.graph["name"] == "two_racks"


OWN_KEYS = {  # kinds that take their own keys instead of hosts/bandwidth/latency
    "gpu_cluster": {"nodes": 2, "gpus_per_node": 2},
    "multi_dc": {"datacenter": star(2, 1e9, 0), "wan_latency": 1e-3},
    "edge": {"devices": 2},
}


def test_every_registered_kind_builds():
    params = {"hosts": 4, "bandwidth": 1e9, "latency": 1e-6}
    for kind in TOPOLOGIES:
        if kind == "file":
            G = build_topology(kind, path="small_dc")
        elif kind == "dumbbell":
            G = build_topology(kind, hosts_left=2, hosts_right=2, bandwidth=1e9, latency=0)
        elif kind in OWN_KEYS:
            G = build_topology(kind, **OWN_KEYS[kind])
        else:
            G = build_topology(kind, **params)
        assert G.graph["hosts"]


def test_unknown_kind_lists_accepted_kinds():
    with pytest.raises(ScenarioError) as info:
        build_topology("mesh", hosts=3)
    message = str(info.value)
    assert "'mesh'" in message
    for kind in REQUIRED:
        assert kind in message
    with pytest.raises(ScenarioError, match="did you mean 'tree'"):
        build_topology("tre", hosts=3)
    with pytest.raises(ScenarioError, match="None"):
        build_topology(None)


def test_unknown_and_missing_parameters():
    with pytest.raises(
        ScenarioError, match="'star': unknown parameter 'fanout'.*hosts, bandwidth, latency"
    ):
        build_topology("star", hosts=3, bandwidth=1e9, latency=0, fanout=2)
    with pytest.raises(ScenarioError, match="did you mean 'oversubscription'"):
        build_topology("tree", hosts=3, bandwidth=1e9, latency=0, oversubscribe=2)
    with pytest.raises(ScenarioError, match="'ring': missing parameter 'latency'"):
        build_topology("ring", hosts=3, bandwidth=1e9)


def test_bad_values_still_raise_topology_errors():
    with pytest.raises(TopologyError, match="hosts"):
        build_topology("star", hosts=0, bandwidth=1e9, latency=0)
