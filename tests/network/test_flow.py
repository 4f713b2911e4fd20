"""The fluid max-min flow model: exact times, sharing, counters and invariants."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.network.flow as flow_module
from netsim.network import FlowNetwork, max_min_rates
from tests.network.network_helpers import SPRouter, dumbbell, line, reference_finish_times, star

RTOL = 1e-9


def build(graph, cls=FlowNetwork):
    env = simpy.Environment()
    return env, cls(env, graph, SPRouter(graph))


def arrival(env, event):
    """A one-element list filled with the time `event` fires."""
    times = []
    event.callbacks.append(lambda ev: times.append(env.now))
    return times


def start_later(env, net, delay, src, dst, nbytes, **kwargs):
    """Start a transfer after `delay` s; returns a list that gets its arrival time."""
    times = []

    def go():
        yield env.timeout(delay)
        yield net.transfer(src, dst, nbytes, **kwargs)
        times.append(env.now)

    env.process(go())
    return times


# ---------------------------------------------------------------- uncontended
@pytest.mark.parametrize("hops", [1, 2, 3, 6])
@pytest.mark.parametrize("nbytes", [1.0, 1234.5, 1e6, 7.5e9])
def test_uncontended_transfer_is_alpha_beta(hops, nbytes):
    bandwidths = [1e9 * (1 + 0.37 * ((3 * i) % 4)) for i in range(hops)]
    latencies = [1e-6 * (1 + i) for i in range(hops)]
    env, net = build(line(bandwidths, latencies))
    times = arrival(env, net.transfer("h0", "h1", nbytes))
    env.run()
    expected = sum(latencies) + nbytes / min(bandwidths)
    assert abs(times[0] - expected) / expected < RTOL
    assert net.solves == 0  # alone on its links: no solver call


def test_zero_bytes_pay_latency_only():
    env, net = build(line([1e9, 1e9], [2e-6, 3e-6]))
    times = arrival(env, net.transfer("h0", "h1", 0.0))
    env.run()
    assert times == [pytest.approx(5e-6, rel=1e-15)]
    assert net.flows_completed == 1
    assert net.link_flows().sum() == 2
    assert net.link_busy_time().sum() == 0.0


def test_local_copy_is_instant_and_counts_no_link_bytes():
    env, net = build(star(2))
    times = arrival(env, net.transfer("h1", "h1", 1e9, value=3))
    env.run()
    assert times == [0.0]
    assert net.bytes_sent == 0.0
    assert net.link_bytes().sum() == 0.0
    assert net.transfers == 1


def test_value_and_event_parameters():
    env, net = build(star(2))
    slot = env.event()
    got = []

    def receiver():
        got.append((yield slot))
        got.append(env.now)

    env.process(receiver())  # waits before the send exists: a mailbox slot
    returned = net.transfer("h0", "h1", 1e6, value={"grad": 1}, event=slot)
    assert returned is slot
    env.run()
    assert got == [{"grad": 1}, pytest.approx(2e-6 + 1e-3, rel=RTOL)]
    assert net.transfer("h0", "h1", 1.0).triggered is False  # a fresh event otherwise


# ---------------------------------------------------------------- sharing
@pytest.mark.parametrize("k", [2, 3, 10])
def test_k_equal_flows_take_k_times_as_long(k):
    env, net = build(line([1e9], [1e-6]))
    times = [arrival(env, net.transfer("h0", "h1", 1e6)) for _ in range(k)]
    env.run()
    for t in times:
        assert t[0] == pytest.approx(1e-6 + k * 1e-3, rel=RTOL)
    assert net.solves == 1


@pytest.mark.parametrize("n", [2, 5, 33])
def test_incast_shares_the_receiver_link(n):
    env, net = build(star(n, bandwidth=1e9, latency=1e-6))
    times = [arrival(env, net.transfer(f"h{i}", "h0", 1e6)) for i in range(1, n)]
    env.run()
    for t in times:
        assert t[0] == pytest.approx(2e-6 + (n - 1) * 1e-3, rel=RTOL)
    assert net.solves == (1 if n > 2 else 0)  # one batched solve for all n - 1 flows
    assert net.flows_completed == n - 1


def test_late_joiner_slows_the_first_flow_as_the_fluid_model_says():
    c, lat = 1e9, 1e-6
    n, m, t1 = 1e6, 1e6, 4e-4
    env, net = build(line([c], [lat]))
    a = arrival(env, net.transfer("h0", "h1", n))
    b = start_later(env, net, t1, "h0", "h1", m)
    env.run()
    # Alone until t1, then both at c/2 until A is done; then B alone at c.
    a_done = t1 + (n - c * t1) / (c / 2)
    b_left = m - (c / 2) * (a_done - t1)
    b_done = a_done + b_left / c
    assert a[0] == pytest.approx(a_done + lat, rel=RTOL)
    assert b[0] == pytest.approx(b_done + lat, rel=RTOL)
    assert (a_done, b_done) == pytest.approx((1.6e-3, 2.0e-3), rel=1e-12)


def test_disjoint_links_do_not_affect_each_other():
    env, net = build(star(6, bandwidth=1e9, latency=1e-6))
    crowded = [arrival(env, net.transfer("h0", "h1", 1e6)) for _ in range(4)]
    alone = arrival(env, net.transfer("h2", "h3", 1e6))
    joiner = start_later(env, net, 1e-4, "h4", "h5", 2e6)
    env.run()
    assert alone[0] == pytest.approx(2e-6 + 1e-3, rel=RTOL)
    assert joiner[0] == pytest.approx(1e-4 + 2e-6 + 2e-3, rel=RTOL)
    assert crowded[0][0] == pytest.approx(2e-6 + 4e-3, rel=RTOL)
    assert net.solved_flows == 4  # only the crowded component was ever solved


def test_full_duplex_directions_are_independent():
    env, net = build(line([1e9], [1e-6]))
    forth = arrival(env, net.transfer("h0", "h1", 1e6))
    back = arrival(env, net.transfer("h1", "h0", 1e6))
    env.run()
    assert forth == back == [pytest.approx(1e-6 + 1e-3, rel=RTOL)]
    assert net.solves == 0


def test_back_to_back_transfers_reuse_the_link_at_full_rate():
    # With zero latency the next flow starts at the instant the previous one ends.
    env, net = build(line([1e9], [0.0]))

    def chain():
        for _ in range(5):
            yield net.transfer("h0", "h1", 1e6)

    env.process(chain())
    env.run()
    assert env.now == pytest.approx(5e-3, rel=RTOL)
    assert net.solves == 0


def test_max_rate_caps_a_flow_and_frees_bandwidth():
    env, net = build(line([1e9], [0.0]))
    capped = arrival(env, net.transfer("h0", "h1", 1e5, max_rate=1e8))
    free = arrival(env, net.transfer("h0", "h1", 9e5))
    env.run()
    assert capped[0] == pytest.approx(1e-3, rel=RTOL)
    assert free[0] == pytest.approx(1e-3, rel=RTOL)  # 9e5 bytes at 9e8 bytes/s
    env2, alone = build(line([1e9], [0.0]))
    solo = arrival(env2, alone.transfer("h0", "h1", 1e6, max_rate=2.5e8))
    env2.run()
    assert solo[0] == pytest.approx(4e-3, rel=RTOL)


def test_multi_hop_sharing_matches_the_solver():
    # h0->h2 and h1->h2 share s0->h2; h0->h3 shares h0->s0 with h0->h2.
    g = star(4, bandwidth=1e9, latency=0.0)
    g.edges["h2", "s0"]["bandwidth"] = 5e8
    env, net = build(g)
    flows = [("h0", "h2"), ("h1", "h2"), ("h0", "h3")]
    for src, dst in flows:
        net.transfer(src, dst, 1e9)
    env.run(until=1e-6)
    expected = max_min_rates([net.route(s, d).links for s, d in flows], net.capacity)
    rates = {}
    for link_flows in net._active:
        for flow in link_flows:
            rates[flow.links] = flow.rate
    got = [rates[net.route(s, d).links] for s, d in flows]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, [2.5e8, 2.5e8, 7.5e8], rtol=1e-12)


# ---------------------------------------------------------------- counters
def test_counters_mid_flight_and_at_the_end():
    env, net = build(line([1e9], [1e-6]))
    net.transfer("h0", "h1", 1e6)
    net.transfer("h0", "h1", 1e6)
    link = net.link_index["h0", "h1"]
    env.run(until=5e-4)  # both at 5e8 bytes/s so far
    assert net.link_bytes()[link] == pytest.approx(5e5, rel=1e-12)
    assert net.link_busy_time()[link] == pytest.approx(5e-4, rel=1e-12)
    assert net.link_rates()[link] == pytest.approx(1e9, rel=1e-12)
    assert net.active_flows == 2
    stats = {(r["src"], r["dst"]): r for r in net.link_stats()}
    assert stats["h0", "h1"]["utilisation"] == pytest.approx(1.0, rel=1e-12)
    env.run()
    assert net.link_bytes()[link] == 2e6
    assert net.link_busy_time()[link] == pytest.approx(2e-3, rel=1e-12)
    assert net.link_flows()[link] == 2
    assert net.link_bytes()[net.link_index["h1", "h0"]] == 0.0
    assert net.bytes_sent == 2e6
    assert net.transfers == net.flows_completed == 2
    assert net.active_flows == 0


def test_busy_time_is_the_union_of_activity():
    env, net = build(line([1e9], [0.0]))
    net.transfer("h0", "h1", 1e6)  # [0, 1 ms)
    start_later(env, net, 3e-3, "h0", "h1", 1e6)  # [3 ms, 4 ms)
    env.run()
    assert net.link_busy_time()[net.link_index["h0", "h1"]] == pytest.approx(2e-3, rel=1e-12)


# ---------------------------------------------------------------- random scenarios
class CheckedFlowNetwork(FlowNetwork):
    """Checks after every solve that rates are feasible and globally max-min fair."""

    checks = 0

    def _solve(self, ev):
        super()._solve(ev)
        if self._solve_ev is not None or self._pending or self._dirty:
            return
        load = self.link_rates()
        assert np.all(load <= self.capacity * (1 + 1e-9)), "a link carries more than its bandwidth"
        active = self._active_flows()
        if active:
            expected = max_min_rates(
                [f.links for f in active], self.capacity, [f.cap for f in active]
            )
            np.testing.assert_allclose([f.rate for f in active], expected, rtol=1e-9)
        self.checks += 1

    def _wake(self, ev):
        super()._wake(ev)
        assert np.all(self.link_rates() <= self.capacity * (1 + 1e-9))


def random_scenario(seed):
    rng = np.random.default_rng(seed)
    graph = dumbbell(
        int(rng.integers(2, 5)), bandwidth=1e9, core=float(rng.choice([3e8, 1e9, 4e9]))
    )
    hosts = graph.graph["hosts"]
    n = int(rng.integers(1, 40))
    flows = []
    for _ in range(n):
        src, dst = rng.choice(len(hosts), size=2, replace=False)
        size = float(rng.choice([0.0, 1e3, 2.5e5, 1e6, rng.uniform(1, 2e6)]))
        start = float(rng.choice([0.0, 2.5e-4, 1e-3, rng.uniform(0, 3e-3)]))
        cap = float(rng.choice([math.inf, math.inf, math.inf, 2e8]))
        flows.append((hosts[src], hosts[dst], size, start, cap))
    return graph, flows


def run_scenario(graph, flows, cls=CheckedFlowNetwork):
    env, net = build(graph, cls)
    arrivals = [
        start_later(env, net, start, s, d, size, max_rate=cap) for s, d, size, start, cap in flows
    ]
    env.run()
    return net, [a[0] for a in arrivals]


@pytest.mark.parametrize(
    "small_nnz", [0, flow_module.SMALL_NNZ, 10**9], ids=["numpy", "default", "python"]
)
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_scenarios_match_a_brute_force_reference(small_nnz, seed):
    graph, flows = random_scenario(seed)
    with pytest.MonkeyPatch.context() as patch:
        # Solve components with NumPy only, the default mix, or pure Python only.
        patch.setattr(flow_module, "SMALL_NNZ", small_nnz)
        net, times = run_scenario(graph, flows)
    routes = [net.route(s, d) for s, d, *_ in flows]
    reference = reference_finish_times(
        [r.links for r in routes],
        [f[3] for f in flows],
        [f[2] for f in flows],
        net.capacity,
        [f[4] for f in flows],
    )
    for (_src, _dst, size, start, cap), route, t, ref in zip(
        flows, routes, times, reference, strict=True
    ):
        # The reference gives the last-byte time; delivery is one route latency later.
        assert t == pytest.approx(ref + route.latency, rel=RTOL, abs=1e-15)
        # Contention is never faster than the uncontended alpha-beta time.
        uncontended = start + route.latency + size / min(route.bottleneck, cap)
        assert t >= uncontended * (1 - 1e-12)
    # Bytes are conserved: every byte of every flow crossed every link of its route.
    expected = np.zeros(len(net.links))
    for (_, _, size, _, _), route in zip(flows, routes, strict=True):
        for link in route.links:
            expected[link] += size
    np.testing.assert_allclose(net.link_bytes(), expected, rtol=1e-12)
    assert net.bytes_sent == pytest.approx(sum(f[2] for f in flows), rel=1e-12)
    assert net.flows_completed == sum(1 for s, d, *_ in flows if s != d)
    assert net.active_flows == 0
    assert np.all(net.link_busy_time() <= net.env.now * (1 + 1e-12))


def test_simultaneous_deliveries_come_in_start_order():
    # Equal flows into one host finish together; they are delivered first come, first served.
    env, net = build(star(6, bandwidth=1e9, latency=1e-6))
    order = []
    senders = ["h3", "h1", "h5", "h2", "h4"]
    for src in senders:
        event = net.transfer(src, "h0", 1e6, value=src)
        event.callbacks.append(lambda ev: order.append((env.now, ev.value)))
    env.run()
    assert [src for _, src in order] == senders
    assert len({t for t, _ in order}) == 1


def test_random_scenarios_are_deterministic():
    for seed in range(5):
        graph, flows = random_scenario(seed)
        _, first = run_scenario(graph, flows, FlowNetwork)
        _, second = run_scenario(graph, flows, FlowNetwork)
        assert first == second  # bit-identical


def test_results_are_identical_in_another_process():
    # Nothing may depend on memory addresses or the string-hash seed.
    code = (
        "from tests.network.test_flow import random_scenario, run_scenario, FlowNetwork\n"
        "for seed in (3, 11):\n"
        "    graph, flows = random_scenario(seed)\n"
        "    print(repr(run_scenario(graph, flows, FlowNetwork)[1]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2)
    ]
    here = "".join(
        repr(run_scenario(*random_scenario(seed), FlowNetwork)[1]) + "\n" for seed in (3, 11)
    )
    assert outputs[0] == outputs[1] == here


def test_many_rate_changes_keep_the_finish_heap_small():
    # Staggered incast: every end re-solves the rest and re-schedules their finishes.
    n = 300
    env, net = build(star(n + 1, bandwidth=1e9, latency=0.0))
    times = [arrival(env, net.transfer(f"h{i}", f"h{n}", 1e3 * (i + 1))) for i in range(n)]
    env.run()
    # Water-filling: flow i ends when the link has carried sum_{j<=i} s_j + (n-1-i) s_i.
    sizes = [1e3 * (i + 1) for i in range(n)]
    done = 0.0
    for i in range(n):
        done_bytes = sum(sizes[: i + 1]) + (n - 1 - i) * sizes[i]
        assert times[i][0] == pytest.approx(done_bytes / 1e9, rel=RTOL)
        done = max(done, times[i][0])
    assert net.solves == n
    assert len(net._due) <= 1 and len(net._times) <= 1


def test_component_search_finds_exactly_the_connected_flows_every_time():
    # a: h0 -> h1 and c: h2 -> h1 share h1's downlink; b: h1 -> h3 shares nothing with them.
    env, net = build(star(4))
    net.transfer("h0", "h1", 1e6)
    net.transfer("h1", "h3", 1e6)
    net.transfer("h2", "h1", 1e6)
    a, b, c = net._active_flows()
    for _ in range(3):  # searches mark what they reach; no mark may leak into the next one
        assert sorted(net._component(list(a.links)), key=flow_module._start_order) == [a, c]
        assert net._component(list(b.links)) == [b]
        assert net._component([]) == []
        assert sorted(net._component(list(a.links + b.links)), key=flow_module._start_order) == [a, b, c]
    env.run()
    assert env.now == pytest.approx(2e-3 + 2e-6, rel=RTOL)  # a and c share a link
    # Finished flows are reused by later transfers: their old marks must not hide them.
    net.transfer("h0", "h1", 1e6)
    net.transfer("h2", "h1", 1e6)
    d, e = net._active_flows()
    assert sorted(net._component([d.links[0]]), key=flow_module._start_order) == [d, e]
