"""The shared network interface: link table, routes, argument checks, registry, stats."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import simpy

from netsim.exceptions import RoutingError, ScenarioError, TopologyError
from netsim.network import (
    DEFAULT_NETWORK_MODEL,
    NETWORK_MODELS,
    AnalyticNetwork,
    FlowNetwork,
    Network,
    Route,
    make_network,
)
from tests.network.network_helpers import SPRouter, line, star

MODELS = [FlowNetwork, AnalyticNetwork]


def build(cls, graph):
    env = simpy.Environment()
    return env, cls(env, graph, SPRouter(graph))


@pytest.mark.parametrize("cls", MODELS)
def test_link_table_has_both_directions(cls):
    g = line([1e9, 2e9], [1e-6, 3e-6])
    _, net = build(cls, g)
    assert len(net.links) == 4
    assert set(net.link_index) == {("h0", "s0"), ("s0", "h0"), ("s0", "h1"), ("h1", "s0")}
    for (u, v), i in net.link_index.items():
        assert net.links[i] == (u, v)
        assert net.capacity[i] == g.edges[u, v]["bandwidth"]
        assert net.latency[i] == g.edges[u, v]["latency"]
    assert net.capacity.dtype == np.float64


@pytest.mark.parametrize("cls", MODELS)
def test_route_is_cached_and_summarised(cls):
    _, net = build(cls, line([1e9, 2e9, 5e8], [1e-6, 2e-6, 4e-6]))
    route = net.route("h0", "h1")
    assert isinstance(route, Route)
    assert len(route.links) == 3
    assert route.latency == pytest.approx(7e-6, rel=1e-15)
    assert route.bottleneck == 5e8
    assert net.route("h0", "h1") is route
    back = net.route("h1", "h0")
    assert set(back.links).isdisjoint(route.links)  # the other direction of each edge
    assert net.route("h0", "h0") == Route((), 0.0, math.inf)


@pytest.mark.parametrize("cls", MODELS)
def test_unknown_node_is_a_routing_error_naming_it(cls):
    _, net = build(cls, star(2))
    with pytest.raises(RoutingError, match="'h9'"):
        net.transfer("h0", "h9", 10.0)
    with pytest.raises(RoutingError, match="'nope'"):
        net.transfer("nope", "h1", 10.0)


@pytest.mark.parametrize("cls", MODELS)
def test_unreachable_node_is_a_routing_error(cls):
    g = star(2)
    g.add_node("island", kind="host")
    _, net = build(cls, g)
    with pytest.raises(RoutingError, match="no route"):
        net.transfer("h0", "island", 1.0)


@pytest.mark.parametrize("cls", MODELS)
def test_bad_router_path_is_a_routing_error(cls):
    class Broken:
        def path(self, src, dst):
            return (src, dst)  # not an edge of a star

    env = simpy.Environment()
    net = cls(env, star(2), Broken())
    with pytest.raises(RoutingError, match="not an edge"):
        net.transfer("h0", "h1", 1.0)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("nbytes", [-1.0, math.nan, -math.inf, math.inf])
def test_bad_sizes_are_value_errors(cls, nbytes):
    _, net = build(cls, star(2))
    with pytest.raises(ValueError, match="nbytes"):
        net.transfer("h0", "h1", nbytes)
    with pytest.raises(ValueError, match="nbytes"):
        net.transfer("h0", "h1", nbytes, event=net.env.event())


@pytest.mark.parametrize("cls", MODELS)
def test_triggered_event_is_rejected(cls):
    env, net = build(cls, star(2))
    done = env.event()
    done.succeed()
    with pytest.raises(ValueError, match="untriggered"):
        net.transfer("h0", "h1", 1.0, event=done)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan])
def test_bad_max_rate_is_rejected(cls, rate):
    _, net = build(cls, star(2))
    with pytest.raises(ValueError, match="max_rate"):
        net.transfer("h0", "h1", 1.0, max_rate=rate)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize(
    "attrs",
    [
        {"latency": 1e-6},
        {"bandwidth": 1e9},
        {"bandwidth": 0.0, "latency": 0.0},
        {"bandwidth": 1.0, "latency": -1.0},
    ],
)
def test_bad_edges_are_topology_errors(cls, attrs):
    g = nx.Graph()
    g.add_edge("h0", "h1", **attrs)
    with pytest.raises(TopologyError, match="'h0'"):
        cls(simpy.Environment(), g, SPRouter(g))


def test_registry_and_factory():
    assert set(NETWORK_MODELS) == {"flow", "analytic", "packet"}
    assert DEFAULT_NETWORK_MODEL == "flow"
    for name, (cls, description) in NETWORK_MODELS.items():
        assert issubclass(cls, Network)
        assert cls.name == name
        assert description and "\n" not in description
        g = star(2)
        net = make_network(name, simpy.Environment(), g, SPRouter(g))
        assert isinstance(net, cls)


def test_unknown_model_is_a_scenario_error():
    g = star(2)
    with pytest.raises(ScenarioError) as info:
        make_network("x", simpy.Environment(), g, SPRouter(g))
    assert str(info.value) == "network.model: unknown model 'x'; accepted: analytic, flow, packet"


@pytest.mark.parametrize("cls", MODELS)
def test_link_stats_shape(cls):
    env, net = build(cls, star(3))
    stats = net.link_stats()
    assert len(stats) == 6
    keys = {"src", "dst", "bandwidth", "latency", "bytes", "busy_time", "flows", "utilisation"}
    for row in stats:
        assert set(row) == keys
        assert row["utilisation"] == 0.0  # now == 0
    net.transfer("h0", "h1", 1e6)
    env.run()
    by_pair = {(r["src"], r["dst"]): r for r in net.link_stats()}
    up = by_pair["h0", "s0"]
    assert up["bytes"] == 1e6
    assert up["flows"] == 1
    assert up["busy_time"] == pytest.approx(1e-3, rel=1e-12)
    assert up["utilisation"] == pytest.approx(1e6 / (1e9 * env.now), rel=1e-12)
    assert by_pair["s0", "h0"]["bytes"] == 0.0


@pytest.mark.parametrize("cls", MODELS)
def test_transfer_and_byte_totals(cls):
    env, net = build(cls, star(3))
    net.transfer("h0", "h1", 100.0)
    net.transfer("h1", "h1", 50.0)  # local: not sent over the network
    net.transfer("h2", "h0", 0.0)
    env.run()
    assert net.transfers == 3
    assert net.bytes_sent == 100.0
    assert net.flows_completed == 2
    assert "transfers" in repr(net)
