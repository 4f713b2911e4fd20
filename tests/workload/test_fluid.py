"""The weighted fluid network equals the per-flow flow model on symmetric families."""

import math

import networkx as nx
import numpy as np
import pytest
import simpy

from netsim.network import FlowNetwork, max_min_rates
from netsim.topology import Router, star
from netsim.workload.fluid import FluidNetwork, weighted_max_min


def test_weighted_max_min_equals_per_flow_with_copies():
    """A family of weight w on a link is w identical flows there: compare with max_min_rates."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        n_links = int(rng.integers(1, 6))
        caps = rng.uniform(1, 10, n_links).tolist()
        families = []
        for _ in range(int(rng.integers(1, 6))):
            links = sorted(set(rng.integers(0, n_links, int(rng.integers(1, 4))).tolist()))
            families.append((links, int(rng.integers(1, 4))))
        # Per flow: w copies of a family, each crossing all its links once, sharing them
        # w times: the same as a weight-w family only when every link has weight w.
        flows, owner = [], []
        for f, (links, w) in enumerate(families):
            flows += [links] * w
            owner += [f] * w
        expected = max_min_rates(flows, caps)
        rates = weighted_max_min([links for links, _ in families], [[w] * len(links) for links, w in families], caps)
        for f, rate in enumerate(rates):
            members = [expected[i] for i in range(len(flows)) if owner[i] == f]
            assert max(members) == pytest.approx(min(members), rel=1e-12)
            assert rate == pytest.approx(members[0], rel=1e-12)


def test_small_and_numpy_paths_agree():
    rng = np.random.default_rng(5)
    links = [sorted(set(rng.integers(0, 30, 4).tolist())) for _ in range(40)]
    weights = [rng.integers(1, 5, len(ls)).astype(float).tolist() for ls in links]
    caps = rng.uniform(1, 5, 30).tolist()
    from netsim.workload import fluid

    big = weighted_max_min(links, weights, caps)
    small = fluid._small(links, weights, caps)
    assert np.allclose(big, small, rtol=1e-12, atol=0)
    load = np.zeros(30)  # every family crosses a saturated link: the allocation is max-min
    for ls, ws, rate in zip(links, weights, big, strict=True):
        for link, w in zip(ls, ws, strict=True):
            load[link] += w * rate
    for ls in links:
        assert any(math.isclose(load[link], caps[link], rel_tol=1e-9) for link in ls)


def _incast(k, nbytes, starts):
    """k hosts send to h0 over a star: per-flow vs one family of weight k on the downlink."""
    g = star(k + 1, 1e9, 1e-6)
    env = simpy.Environment()
    net = FlowNetwork(env, g, Router(g))
    done = []
    for i in range(1, k + 1):
        env.process(_after(env, starts, lambda i=i: net.transfer(f"h{i}", "h0", nbytes), done))
    env.run()
    env2 = simpy.Environment()
    fluid = FluidNetwork(env2, net.capacity)
    up = net.link_index[("h1", "s0")]
    down = net.link_index[("s0", "h0")]
    fluid.add_route("incast", (up, down), (1, k), 2e-6)
    done2 = []
    env2.process(_after(env2, starts, lambda: fluid.transfer("incast", nbytes), done2))
    env2.run()
    return done, done2, fluid, net


def _after(env, delay, start, done):
    yield env.timeout(delay)
    yield start()
    done.append(env.now)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_incast_family_equals_per_flow(k):
    per_flow, family, fluid, net = _incast(k, 3e6, 0.5e-3)
    assert family[0] == pytest.approx(max(per_flow), rel=1e-12)
    assert min(per_flow) == pytest.approx(max(per_flow), rel=1e-12)
    down = net.link_index[("s0", "h0")]
    assert fluid.link_bytes()[down] == pytest.approx(net.link_bytes()[down], rel=1e-12)
    assert fluid.link_busy_time()[down] == pytest.approx(net.link_busy_time()[down], rel=1e-12)
    assert fluid.link_flows()[down] == net.link_flows()[down] == k


def test_uncontended_family_is_alpha_beta():
    env = simpy.Environment()
    net = FluidNetwork(env, [2e9, 1e9])
    net.add_route("f", (0, 1), (1, 1), 3e-6)
    event = net.transfer("f", 4e6, value="x")
    env.run()
    assert env.now == pytest.approx(3e-6 + 4e6 / 1e9, rel=1e-15) and event.value == "x"


def test_families_sharing_links_finish_as_the_flow_model_says():
    """Two families with different weights and start times on a shared link, against FlowNetwork
    running every member: rates change as members start and finish."""
    g = nx.Graph(hosts=[])
    for a, b, bw in [("a", "s", 4e9), ("b", "s", 4e9), ("c", "s", 4e9), ("s", "d", 3e9)]:
        g.add_edge(a, b, bandwidth=bw, latency=1e-6)
    env = simpy.Environment()
    net = FlowNetwork(env, g, Router(g))
    ends = {}

    def go(src, size, delay, name):
        yield env.timeout(delay)
        yield net.transfer(src, "d", size)
        ends.setdefault(name, []).append(env.now)

    for src in ("a", "b"):  # family A: 2 members a->d, b->d
        env.process(go(src, 2e6, 0.0, "A"))
    env.process(go("c", 5e6, 1e-4, "B"))  # family B: 1 member
    env.run()
    env2 = simpy.Environment()
    fluid = FluidNetwork(env2, net.capacity)
    sd = net.link_index[("s", "d")]
    fluid.add_route("A", (net.link_index[("a", "s")], sd), (1, 2), 2e-6)
    fluid.add_route("B", (net.link_index[("c", "s")], sd), (1, 1), 2e-6)
    ends2 = {}

    def go2(key, size, delay):
        yield env2.timeout(delay)
        yield fluid.transfer(key, size)
        ends2[key] = env2.now

    env2.process(go2("A", 2e6, 0.0))
    env2.process(go2("B", 5e6, 1e-4))
    env2.run()
    assert ends2["A"] == pytest.approx(max(ends["A"]), rel=1e-12)
    assert ends2["B"] == pytest.approx(ends["B"][0], rel=1e-12)
    assert fluid.link_bytes()[sd] == pytest.approx(net.link_bytes()[sd], rel=1e-12)


def test_bad_routes_are_refused():
    net = FluidNetwork(simpy.Environment(), [1.0])
    with pytest.raises(ValueError, match="distinct links"):
        net.add_route("x", (0, 0), (1, 1), 0.0)
    with pytest.raises(ValueError, match="positive weight"):
        net.add_route("x", (0,), (0,), 0.0)
    with pytest.raises(KeyError):
        net.transfer("nope", 1.0)
