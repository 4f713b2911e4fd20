"""edge: asymmetric one-way radio paths, seeded jitter, loss as goodput, exact timings, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import simpy

from netsim.collectives import simulate_collective
from netsim.exceptions import ScenarioError, TopologyError
from netsim.network import make_network
from netsim.scenario import scenario_from_dict
from netsim.topology import ACCESS_PRESETS, Router, edge

MBPS = 1e6 / 8


def test_hosts_roles_and_attributes():
    G = edge(3, access="4g")
    assert G.graph["hosts"] == ["d0", "d1", "d2", "cloud", "edge"]
    assert G.graph["devices"] == ["d0", "d1", "d2"] and G.graph["server"] == "edge"
    assert [G.nodes[h]["role"] for h in G.graph["hosts"]] == ["device"] * 3 + ["cloud", "edge"]
    assert G.graph["uplink"] == pytest.approx(20 * MBPS * 0.9, rel=1e-15)
    assert G.graph["downlink"] == pytest.approx(80 * MBPS * 0.9, rel=1e-15)
    assert edge(2, server="cloud").graph["hosts"] == ["d0", "d1", "edge", "cloud"]
    assert edge(2, cloud=False).graph["hosts"] == ["d0", "d1", "edge"]


def test_presets():
    assert set(ACCESS_PRESETS) == {"4g", "5g"}
    G = edge(1, access="5g", jitter=0)
    up, down = G.edges["d0", "d0.ul"], G.edges["d0", "d0.dl"]
    assert (up["nominal_bandwidth"], down["nominal_bandwidth"]) == (100 * MBPS, 400 * MBPS)
    assert up["latency"] == down["latency"] == 12.5e-3
    assert up["loss"] == 0.1 and up["direction"] == "up" and down["direction"] == "down"


@pytest.mark.parametrize("server", ["edge", "cloud"])
def test_routes_go_up_on_the_uplink_and_down_on_the_downlink(server):
    G = edge(4, server=server)
    router = Router(G)
    wired = ["edge", "cloud"]
    for d in G.graph["devices"]:
        for w in wired:
            assert router.path(d, w)[:4] == (d, f"{d}.ul", f"{d}.ul2", "bs")
            assert router.path(w, d)[-4:] == ("bs", f"{d}.dl2", f"{d}.dl", d)
    for a, b in itertools.permutations(G.graph["devices"], 2):
        assert router.path(a, b) == (a, f"{a}.ul", f"{a}.ul2", "bs", f"{b}.dl2", f"{b}.dl", b)


def test_every_radio_link_is_used_in_one_direction_only():
    G = edge(3)
    router = Router(G)
    used = set()
    for src, dst in itertools.permutations(G.graph["hosts"], 2):
        used.update(router.links(src, dst))
    for u, v, data in G.edges(data=True):
        if "direction" in data:
            assert ((u, v) in used) != ((v, u) in used), (u, v)


def test_jitter_is_seeded_static_and_within_range():
    a = edge(50, access="4g", jitter_seed=3).graph["radio_latency"]
    assert a == edge(50, access="4g", jitter_seed=3).graph["radio_latency"]
    assert a != edge(50, access="4g", jitter_seed=4).graph["radio_latency"]
    values = np.array(a)
    assert values.min() >= 20e-3 and values.max() <= 60e-3
    assert values.std() > 5e-3  # spread over the range, uplink and downlink drawn apart
    rng = np.random.default_rng(3)
    assert values == pytest.approx(40e-3 + rng.uniform(-20e-3, 20e-3, size=(50, 2)), rel=1e-12)
    assert set(np.array(edge(5, access="4g", jitter=0).graph["radio_latency"]).ravel()) == {40e-3}
    clipped = np.array(edge(200, radio_latency="1ms", jitter="5ms").graph["radio_latency"])
    assert clipped.min() == 0.0


def test_loss_reduces_goodput():
    G = edge(1, uplink="10Mbps", downlink="40Mbps", loss=0.25)
    assert G.edges["d0.ul", "d0.ul2"]["bandwidth"] == pytest.approx(10 * MBPS * 0.75, rel=1e-15)
    assert G.edges["d0.dl2", "bs"]["bandwidth"] == pytest.approx(40 * MBPS * 0.75, rel=1e-15)
    assert edge(1, uplink="10Mbps", loss=0).edges["d0", "d0.ul"]["bandwidth"] == 10 * MBPS


def one_transfer(G, src, dst, nbytes):
    env = simpy.Environment()
    network = make_network("flow", env, G, Router(G))
    env.run(network.transfer(src, dst, nbytes))
    return env.now


def test_uncontended_transfers_are_asymmetric_alpha_beta():
    G = edge(2, access="4g", jitter_seed=1)
    (lat_up, lat_down) = G.graph["radio_latency"][1]
    n = 1e6
    up, down = 20 * MBPS * 0.9, 80 * MBPS * 0.9
    assert one_transfer(G, "d1", "edge", n) == pytest.approx(lat_up + 50e-6 + n / up, rel=1e-12)
    assert one_transfer(G, "edge", "d1", n) == pytest.approx(50e-6 + lat_down + n / down, rel=1e-12)
    assert one_transfer(G, "cloud", "d1", n) == pytest.approx(10e-3 + lat_down + n / down, rel=1e-12)
    lat0_up = G.graph["radio_latency"][0][0]
    assert one_transfer(G, "d0", "d1", n) == pytest.approx(lat0_up + lat_down + n / up, rel=1e-12)


def test_parameter_server_on_the_edge_server_is_exact():
    # Push over every uplink in parallel, pull over every downlink: the slowest device sets
    # each phase (REFERENCES §2 PS with the server link not the bottleneck here).
    p = 4
    G = edge(p, access="5g", jitter_seed=2)
    data = [np.full(1000, float(r)) for r in range(p)]
    run = simulate_collective(G, "parameter_server", data)
    n = 8000.0
    lat = G.graph["radio_latency"]
    push = max(lat[r][0] for r in range(p)) + 50e-6 + n / (100 * MBPS * 0.9)
    # each device's pull starts when the server has every gradient; its own downlink
    pull = max(push + 50e-6 + lat[r][1] + n / (400 * MBPS * 0.9) for r in range(p))
    assert run.time == pytest.approx(pull, rel=1e-12)
    np.testing.assert_array_equal(run.outputs[0], np.full(1000, 6.0))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"devices": 0}, "devices must be an integer >= 1"),
        ({"devices": 2, "access": "6g"}, "access: unknown preset '6g'"),
        ({"devices": 2, "access": "5G"}, "(did you mean '5g'?)"),
        ({"devices": 2, "loss": 1.0}, "loss must be a number in [0, 1)"),
        ({"devices": 2, "loss": "1%"}, "loss must be a number in [0, 1)"),
        ({"devices": 2, "jitter_seed": -1}, "jitter_seed must be an integer >= 0"),
        ({"devices": 2, "server": "fog"}, "server must be one of edge, cloud"),
        ({"devices": 2, "server": "cloud", "cloud": False}, "server = 'cloud' needs cloud = true"),
        ({"devices": 2, "uplink": "20Mbsp"}, "uplink: unknown unit"),
        ({"devices": 2, "jitter": "-1ms"}, "jitter"),
    ],
)
def test_errors_name_the_parameter(params, message):
    with pytest.raises(TopologyError) as info:
        edge(**params)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        ({"kind": "edge"}, "topology.devices is required for kind = 'edge'"),
        ({"kind": "edge", "devices": 2, "routing": "ecmp"}, "topology.routing must be 'shortest' for kind = 'edge'"),
        ({"kind": "edge", "devices": 2, "hosts": 3}, "topology.hosts does not apply to kind = 'edge' (set topology.devices)"),
        ({"kind": "edge", "devices": 2, "bandwidth": "1Gbps"}, "topology.bandwidth does not apply to kind = 'edge'"),
        ({"kind": "edge", "devices": 2, "access": "lte"}, "topology.access: 'lte' is not accepted"),
        ({"kind": "edge", "devices": 2, "server": "clud"}, "(did you mean 'cloud'?)"),
        ({"kind": "edge", "devices": 2, "loss": 1}, "topology.loss"),
        ({"kind": "star", "hosts": 2, "uplink": "1Gbps"}, "topology.uplink applies only to kind = 'edge'"),
    ],
)
def test_scenario_errors(topology, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"topology": topology})
    assert message in str(info.value)


def test_scenario_keys_reach_the_builder():
    from netsim.runner import build_graph

    spec = scenario_from_dict(
        {"topology": {"kind": "edge", "devices": 3, "access": "4g", "uplink": "5Mbps", "jitter": 0,
                      "loss": 0, "server": "cloud", "cloud_latency": "30ms"}}
    ).topology
    G = build_graph(spec)
    assert G.graph["hosts"][-1] == "cloud"
    assert G.edges["d2", "d2.ul"] == {"bandwidth": 5 * MBPS, "nominal_bandwidth": 5 * MBPS, "direction": "up",
                                     "loss": 0.0, "latency": 40e-3}
    assert G.edges["cloud", "bs"]["latency"] == 30e-3
