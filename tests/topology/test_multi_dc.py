"""multi_dc: structure, borders, WAN latency from distance, exact allreduce times, errors."""

from __future__ import annotations

import numpy as np
import pytest

from netsim.collectives import simulate_collective
from netsim.exceptions import ScenarioError, TopologyError
from netsim.scenario import scenario_from_dict
from netsim.topology import (
    FIBRE_LATENCY_PER_KM,
    Router,
    dumbbell,
    fat_tree,
    fibre_latency,
    gpu_cluster,
    multi_dc,
    ring,
    star,
    tree,
)
from netsim.topology.multi_dc import border_switches

B_LAN = 12.5e9
L_LAN = 1e-6


def test_fibre_latency_is_5_us_per_km():
    assert FIBRE_LATENCY_PER_KM == 5e-6
    assert fibre_latency(1000) == pytest.approx(5e-3, rel=1e-15)
    assert fibre_latency(0) == 0.0
    for bad in (-1, float("inf"), "10km", True):
        with pytest.raises(TopologyError, match="distance_km"):
            fibre_latency(bad)


def test_structure_two_stars():
    G = multi_dc(star(3, B_LAN, L_LAN), wan_bandwidth="10Gbps", distance_km=1000)
    assert G.graph["hosts"] == ["dc0.h0", "dc0.h1", "dc0.h2", "dc1.h0", "dc1.h1", "dc1.h2"]
    assert G.graph["datacenters"] == [G.graph["hosts"][:3], G.graph["hosts"][3:]]
    assert [G.nodes[h]["dc"] for h in G.graph["hosts"]] == [0, 0, 0, 1, 1, 1]
    assert G.graph["wan_links"] == [("dc0.s0", "dc1.s0")]
    wan = G.edges["dc0.s0", "dc1.s0"]
    assert wan["bandwidth"] == 1.25e9 and wan["latency"] == pytest.approx(5e-3, rel=1e-15)
    assert wan["wan"] is True and wan["distance_km"] == 1000.0
    assert G.edges["dc1.h2", "dc1.s0"] == {"bandwidth": B_LAN, "latency": L_LAN}
    assert G.number_of_edges() == 7


def test_borders():
    assert border_switches(star(2, 1e9, 0)) == ["s0"]
    assert border_switches(tree(16, 1e9, 0, fanout=4)) == ["s4"]
    assert border_switches(fat_tree(16, 1e9, 0)) == [f"s{i}" for i in range(16, 20)]
    assert border_switches(fat_tree(4, 1e9, 0)) == [f"s{i}" for i in range(16, 20)]  # by level
    assert border_switches(dumbbell(2, 2, 1e9, 0)) == ["s0", "s1"]
    assert border_switches(gpu_cluster(nodes=8, spines=2)) == ["spine0", "spine1"]
    with pytest.raises(TopologyError, match="no switch"):
        border_switches(ring(3, 1e9, 0))


def test_several_border_switches_meet_at_a_gateway():
    G = multi_dc(fat_tree(16, 1e9, 0), datacenters=3, wan_bandwidth=1e9, wan_latency="1ms")
    assert G.graph["wan_links"] == [("dc0.gw", "dc1.gw"), ("dc0.gw", "dc2.gw"), ("dc1.gw", "dc2.gw")]
    assert sorted(G["dc1.gw"]) == ["dc0.gw", "dc1.s16", "dc1.s17", "dc1.s18", "dc1.s19", "dc2.gw"]
    assert G.edges["dc1.gw", "dc1.s16"] == {"bandwidth": 2e9, "latency": 0.0}
    assert G.nodes["dc1.gw"]["kind"] == "switch" and G.nodes["dc1.gw"]["dc"] == 1


def test_heterogeneous_datacenters_and_distance_matrix():
    km = [[0, 100, 2000], [100, 0, 1500], [2000, 1500, 0]]
    G = multi_dc([star(2, 1e9, 0), tree(4, 1e9, 0, fanout=2), star(1, 1e9, 0)], distance_km=km)
    assert [len(hosts) for hosts in G.graph["datacenters"]] == [2, 4, 1]
    assert G.edges["dc0.s0", "dc1.s2"]["latency"] == pytest.approx(0.5e-3, rel=1e-15)
    assert G.edges["dc1.s2", "dc2.s0"]["latency"] == pytest.approx(7.5e-3, rel=1e-15)
    assert G.edges["dc0.s0", "dc2.s0"]["latency"] == pytest.approx(10e-3, rel=1e-15)
    assert G.graph["wan_latency"] == pytest.approx(10e-3, rel=1e-15)
    assert "gpus_per_node" not in G.graph
    # cross-datacenter routes take the direct WAN link
    assert Router(G).path("dc0.h0", "dc2.h0") == ("dc0.h0", "dc0.s0", "dc2.s0", "dc2.h0")


def test_gpu_cluster_datacenters_keep_their_attributes():
    G = multi_dc(gpu_cluster(nodes=2, gpus_per_node=4, spines=2, nodes_per_leaf=1), wan_latency=0.01)
    assert G.graph["gpus_per_node"] == 4
    host = G.graph["hosts"][13]
    assert host == "dc1.h5" and (G.nodes[host]["node"], G.nodes[host]["gpu"], G.nodes[host]["dc"]) == (1, 1, 1)
    assert Router(G).path("dc1.h4", "dc1.h7") == ("dc1.h4", "dc1.nvs1", "dc1.h7")


def ring_and_hierarchical(a, b_wan, wan_latency, nbytes):
    G = multi_dc(star(a, B_LAN, L_LAN), wan_bandwidth=b_wan, wan_latency=wan_latency)
    p = 2 * a
    data = [np.full(p * 64, float(r)) for r in range(p)] if nbytes is None else None
    times = {}
    for algorithm in ("ring_allreduce", "hierarchical"):
        run = simulate_collective(G, algorithm, data, nbytes, ranks=p)
        if data is not None:
            np.testing.assert_array_equal(run.outputs[p - 1], np.full(p * 64, float(sum(range(p)))))
        times[algorithm] = run.time
    return times


def hierarchical_formula(a, n, b_wan, alpha_wan):
    # REFERENCES §2 with b = 2 groups; the a cross-group rings share the WAN: β₂ = a / B_W
    return 2 * (a - 1) * (2 * L_LAN + n / (a * B_LAN)) + 2 * (alpha_wan + n * (a / b_wan) / (2 * a))


@pytest.mark.parametrize("a", [3, 4, 5])
def test_latency_bound_wan_exact_times(a):
    # A chunk's WAN transmission is shorter than a LAN hop: no chunk ever shares a link.
    # Flat ring: the slowest of the p chains of 2(p-1) hops crosses the WAN 4 times.
    p, n, b_wan, lat = 2 * a, 2 * a * 64 * 8.0, 12.5e9, 5e-3
    times = ring_and_hierarchical(a, b_wan, lat, None)
    alpha_wan = 2 * L_LAN + lat
    t_lan = 2 * L_LAN + n / p / B_LAN
    t_wan = alpha_wan + n / p / b_wan
    assert times["ring_allreduce"] == pytest.approx(4 * t_wan + (4 * a - 6) * t_lan, rel=1e-12)
    assert times["hierarchical"] == pytest.approx(hierarchical_formula(a, n, b_wan, alpha_wan), rel=1e-12)


@pytest.mark.parametrize("a", [3, 4, 6])
def test_bandwidth_bound_wan(a):
    # No WAN latency and a WAN 100x slower than the LAN. Each WAN direction must carry the
    # flat ring's 2(p-1) chunks of n/p: a lower bound of 2(p-1)/p·n/B_W (+ one route
    # latency), reached exactly when the WAN never idles between the ring's waves of
    # chunks, as with a = 3 and 4 workers per datacenter (with a = 6 the waves leave gaps).
    # The hierarchy sends n across (a rings of n/a sharing the WAN) and is the formula.
    p, n, b_wan = 2 * a, 48e6, 1.25e8
    times = ring_and_hierarchical(a, b_wan, 0.0, n)
    bound = 2 * (p - 1) / p * n / b_wan + 2 * L_LAN
    assert times["ring_allreduce"] >= bound * (1 - 1e-12)
    if a <= 4:
        assert times["ring_allreduce"] == pytest.approx(bound, rel=1e-12)
    hierarchical = hierarchical_formula(a, n, b_wan, 2 * L_LAN)
    assert times["hierarchical"] == pytest.approx(hierarchical, rel=1e-12)
    assert times["hierarchical"] < bound


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"distance_km": 10, "wan_latency": 1e-3}, "give distance_km or wan_latency (one of them)"),
        ({}, "give distance_km or wan_latency (one of them)"),
        ({"datacenters": 1, "distance_km": 10}, "datacenters must be an integer >= 2"),
        ({"distance_km": [[0, 1], [2, 0]]}, "distance_km must be symmetric"),
        ({"distance_km": [[0, 1]]}, "distance_km must be a number or a 2 x 2 matrix"),
        ({"distance_km": [[0, -1], [-1, 0]]}, "distance_km[0][1] must be a finite number >= 0"),
        ({"distance_km": 10, "wan_bandwidth": 0}, "wan_bandwidth: bandwidth must be positive"),
    ],
)
def test_errors_name_the_parameter(params, message):
    with pytest.raises(TopologyError) as info:
        multi_dc(star(2, 1e9, 0), **params)
    assert message in str(info.value)


def test_a_datacenter_without_switch_is_refused():
    with pytest.raises(TopologyError, match="no switch to attach a WAN link to"):
        multi_dc(ring(3, 1e9, 0), wan_latency=0)
    with pytest.raises(TopologyError, match="at least 2 topologies"):
        multi_dc([star(2, 1e9, 0)], wan_latency=0)


DC = {"kind": "star", "hosts": 2, "bandwidth": "100Gbps"}


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        ({"kind": "multi_dc", "distance_km": 10}, "a [topology.datacenter] table"),
        ({"kind": "multi_dc", "datacenter": DC}, "needs topology.distance_km or topology.wan_latency"),
        ({"kind": "multi_dc", "hosts": 4, "distance_km": 1, "datacenter": DC}, "set topology.datacenter.hosts"),
        ({"kind": "multi_dc", "distance_km": 1, "datacenter": {**DC, "routing": "ecmp"}}, "topology.datacenter.routing does not apply"),
        ({"kind": "multi_dc", "distance_km": 1, "datacenter": {"kind": "edge", "devices": 2}}, "topology.datacenter.kind = 'edge' is not accepted"),
        ({"kind": "multi_dc", "distance_km": 1, "datacenter": {**DC, "hosts": None}}, "topology.datacenter: topology.hosts is required"),
        ({"kind": "multi_dc", "distance_km": 1, "datacenter": {**DC, "bandwidth": "1Gbs"}}, "topology.datacenter.bandwidth: unknown unit"),
        ({"kind": "multi_dc", "distance_km": 1, "datacenters": 1, "datacenter": DC}, "topology.datacenters"),
        ({"kind": "multi_dc", "distance_km": 1, "latency": "1us", "datacenter": DC}, "topology.latency does not apply to kind = 'multi_dc'"),
        ({"kind": "star", "hosts": 2, "wan_bandwidth": "1Gbps"}, "topology.wan_bandwidth applies only to kind = 'multi_dc'"),
    ],
)
def test_scenario_errors(topology, message):
    topology = {k: v for k, v in topology.items()}
    if isinstance(topology.get("datacenter"), dict):
        topology["datacenter"] = {k: v for k, v in topology["datacenter"].items() if v is not None}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"topology": topology})
    assert message in str(info.value)


def test_scenario_builds_the_datacenters():
    from netsim.runner import build_graph

    spec = scenario_from_dict(
        {"topology": {"kind": "multi_dc", "datacenters": 3, "wan_bandwidth": "10Gbps", "distance_km": 200,
                      "datacenter": {"kind": "tree", "hosts": 4, "fanout": 2, "bandwidth": "100Gbps"}}}
    ).topology
    G = build_graph(spec)
    assert len(G.graph["hosts"]) == 12 and len(G.graph["wan_links"]) == 3
    assert G.edges["dc0.s2", "dc2.s2"]["latency"] == pytest.approx(1e-3, rel=1e-15)
