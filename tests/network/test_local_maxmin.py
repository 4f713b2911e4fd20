"""Incremental max-min (netsim.network.local_maxmin): local regions, proven equal to a global solve."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.network.local_maxmin as local_module
from netsim.collectives import simulate_collective
from netsim.network import FlowNetwork, max_min_rates
from netsim.network.local_maxmin import local_max_min
from netsim.topology import star as star_topology
from tests.network.network_helpers import SPRouter, dumbbell, star

RTOL = 1e-12


class Flow(SimpleNamespace):
    """A flow as local_max_min sees it (hashable by identity, as the network's flows are)."""

    __hash__ = object.__hash__
    __eq__ = object.__eq__


def network_of(routes, rates, caps=None):
    """active lists and flow objects for flows with ``routes`` currently at ``rates``."""
    n_links = 1 + max(link for route in routes for link in route)
    active = [{} for _ in range(n_links)]
    flows = []
    for seq, (route, rate) in enumerate(zip(routes, rates, strict=True)):
        flow = Flow(links=tuple(route), rate=rate, cap=math.inf if caps is None else caps[seq], seq=seq, mark=0)
        flows.append(flow)
        for link in route:
            active[link][flow] = None
    return flows, active


def test_region_stays_local_when_the_change_does_not_propagate():
    # Links 0..5 of capacity 1. Flows A (0, 1), B (1,), C (2, 3), D (3,), E (4, 5), F (5,)
    # all at 0.5. A new flow G on link 0 shares it with A at 0.5 each: A keeps its rate,
    # so B (its neighbour on link 1) is proven unchanged and C..F are never looked at.
    routes = [(0, 1), (1,), (2, 3), (3,), (4, 5), (5,), (0,)]
    rates = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0]
    flows, active = network_of(routes, rates)
    result = local_max_min([0], active, [1.0] * 6, search=1)
    assert result is not None
    region, new = result
    assert [flow.seq for flow in region] == [0, 6]
    assert new == pytest.approx([0.5, 0.5], rel=RTOL)


def test_a_freed_link_speeds_up_the_flow_bottlenecked_there_and_nothing_else():
    # X (0, 1), Y (1, 2), Z (2,); capacities 1, 1.5, 1. With a flow W on link 0 too, all
    # ran at 0.5. W ends: X rises to 1 (link 1 has 1.5 - 0.5 for it), Y and Z stay.
    routes = [(0, 1), (1, 2), (2,)]
    caps_links = [1.0, 1.5, 1.0]
    flows, active = network_of(routes, [0.5, 0.5, 0.5])
    result = local_max_min([0], active, caps_links, search=1)  # W left link 0
    assert result is not None
    region, new = result
    assert [flow.seq for flow in region] == [0]
    expected = max_min_rates(routes, caps_links)
    got = {flow.seq: rate for flow, rate in zip(region, new, strict=True)}
    for seq, rate in enumerate(expected):
        assert got.get(seq, flows[seq].rate) == pytest.approx(rate, rel=RTOL)


def test_a_decrease_pushes_into_the_region_an_outside_flow_that_must_slow_down():
    # Link 0 (cap 1): X (0,) and Y (0, 1); link 1 (cap 1): Y and Z (1,). All at 0.5.
    # A new flow N on link 1 only: Y and Z drop to 1/3, X rises to 2/3 — X is outside the
    # seed link but must change, so the region has to grow to reach it.
    routes = [(0,), (0, 1), (1,), (1,)]
    flows, active = network_of(routes, [0.5, 0.5, 0.5, 0.0])
    result = local_max_min([1], active, [1.0, 1.0], search=1)
    assert result is not None
    region, new = result
    got = {flow.seq: rate for flow, rate in zip(region, new, strict=True)}
    assert got == pytest.approx({0: 2 / 3, 1: 1 / 3, 2: 1 / 3, 3: 1 / 3}, rel=RTOL)


def test_an_oversized_change_is_left_to_the_whole_component_solve():
    n = local_module.START_LIMIT + 1
    flows, active = network_of([(0,)] * n, [0.0] * n)
    assert local_max_min([0], active, [1.0], search=1) is None


def test_caps_count_as_bottlenecks():
    routes = [(0,), (0,)]
    flows, active = network_of(routes, [0.0, 0.0], caps=[0.25, math.inf])
    region, new = local_max_min([0], active, [1.0], search=1)
    assert new == pytest.approx([0.25, 0.75], rel=RTOL)


# ------------------------------------------------------- against a global solve, in a run
def random_run(graph, transfers, force_global):
    """Run ``transfers`` (start, src, dst, bytes, cap) and return finish times and rate checks."""
    env = simpy.Environment()
    net = FlowNetwork(env, graph, SPRouter(graph))
    finish = [None] * len(transfers)
    worst = [0.0]

    def one(i, start, src, dst, nbytes, cap):
        yield env.timeout(start)
        yield net.transfer(src, dst, nbytes, max_rate=cap)
        finish[i] = env.now

    def check():
        # Between events: every active flow's rate equals a fresh global max-min solve.
        while True:
            yield env.timeout(1.7e-4)
            flows = net._active_flows()
            if not flows or any(flow.finish == math.inf and flow.rate == 0.0 for flow in flows):
                if not flows and all(t is not None for t in finish):
                    return
                continue
            expected = max_min_rates([flow.links for flow in flows], net.capacity, [flow.cap for flow in flows])
            got = np.array([flow.rate for flow in flows])
            worst[0] = max(worst[0], float(np.max(np.abs(got - expected) / expected)))

    for i, spec in enumerate(transfers):
        env.process(one(i, *spec))
    env.process(check())
    if force_global:
        old = local_module.START_LIMIT
        local_module.START_LIMIT = -1
        try:
            env.run()
        finally:
            local_module.START_LIMIT = old
    else:
        env.run()
    return finish, worst[0], net


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["star", "dumbbell"]))
def test_local_solves_give_the_global_max_min_rates_at_every_instant(seed, shape):
    # Random transfers (drawn from a seeded generator: hypothesis's own floats crowd at
    # the edges, 0 s starts and equal sizes, where every change is one big batch).
    rng = random.Random(seed)
    graph = star(8, 1e8, 1e-6) if shape == "star" else dumbbell(4, 1e8, 6e7, 1e-6)
    hosts = graph.graph["hosts"]
    transfers = [
        (
            rng.uniform(0.0, 2e-3),  # start, s
            rng.choice(hosts),
            rng.choice(hosts),
            rng.uniform(1e3, 2e5),  # bytes
            rng.choice([math.inf, math.inf, 3e7, 1.1e8]),  # cap, bytes/s
        )
        for _ in range(rng.randint(1, 40))
    ]
    local, worst, net = random_run(graph, transfers, force_global=False)
    glob, _, _ = random_run(graph, transfers, force_global=True)
    assert worst < 1e-12
    for a, b in zip(local, glob, strict=True):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
    assert net.flows_completed == sum(1 for _, s, d, _, _ in transfers if s != d)


def test_double_binary_tree_with_many_chunks_re_solves_locally():
    # 256 ranks, 16 chunks: the trees keep hundreds of flows in one component; each
    # change re-solves a few dozen of them instead of the component.
    graph = star_topology(256, "100Gbps", "2us")
    run = simulate_collective(graph, "double_binary_tree", nbytes=2**26, chunks=16)
    net = run.network
    assert net.solved_flows < 40 * net.solves  # ~33 per solve
    old = local_module.START_LIMIT
    local_module.START_LIMIT = -1
    try:
        whole = simulate_collective(graph, "double_binary_tree", nbytes=2**26, chunks=16)
    finally:
        local_module.START_LIMIT = old
    assert whole.network.solved_flows > 100 * whole.network.solves  # ~170 per solve
    assert run.time == pytest.approx(whole.time, rel=1e-12)
    assert run.finish_times == pytest.approx(whole.finish_times, rel=1e-12)
    assert np.allclose(net.link_bytes(), whole.network.link_bytes(), rtol=1e-12, atol=0)
