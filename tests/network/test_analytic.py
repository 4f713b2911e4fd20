"""The alpha-beta model: latency + size / bottleneck, independent of other traffic."""

from __future__ import annotations

import pytest
import simpy

from netsim.network import AnalyticNetwork
from tests.network.network_helpers import SPRouter, line, star


def build(graph):
    env = simpy.Environment()
    return env, AnalyticNetwork(env, graph, SPRouter(graph))


def arrival(env, event):
    times = []
    event.callbacks.append(lambda ev: times.append(env.now))
    return times


@pytest.mark.parametrize("hops", [1, 2, 5])
@pytest.mark.parametrize("nbytes", [1.0, 1e6, 3.7e9])
def test_alpha_beta_time(hops, nbytes):
    bandwidths = [1e9 * (1 + 0.5 * i) for i in range(hops)]
    latencies = [1e-6 * (i + 1) for i in range(hops)]
    env, net = build(line(bandwidths, latencies))
    times = arrival(env, net.transfer("h0", "h1", nbytes))
    env.run()
    expected = sum(latencies) + nbytes / min(bandwidths)
    assert times[0] == pytest.approx(expected, rel=1e-12)


def test_other_traffic_never_matters():
    env, net = build(star(8))
    alone_env, alone = build(star(8))
    solo = arrival(alone_env, alone.transfer("h0", "h7", 1e6))
    alone_env.run()
    crowd = [arrival(env, net.transfer(f"h{i}", "h7", 1e6)) for i in range(7)]
    env.run()
    assert all(t == solo for t in crowd)


def test_max_rate_bounds_the_rate():
    env, net = build(star(2, bandwidth=1e9, latency=0.0))
    times = arrival(env, net.transfer("h0", "h1", 1e6, max_rate=1e8))
    env.run()
    assert times[0] == pytest.approx(1e-2, rel=1e-12)


def test_zero_bytes_and_local_copies():
    env, net = build(star(2, latency=2e-6))
    zero = arrival(env, net.transfer("h0", "h1", 0.0))
    local = arrival(env, net.transfer("h0", "h0", 1e9))
    env.run()
    assert zero == [pytest.approx(4e-6, rel=1e-15)]
    assert local == [0.0]


def test_value_and_event():
    env, net = build(star(2))
    slot = env.event()
    got = []

    def receiver():
        got.append((yield slot))

    env.process(receiver())
    assert net.transfer("h0", "h1", 10.0, value="payload", event=slot) is slot
    env.run()
    assert got == ["payload"]


def test_counters_with_overlapping_transfers():
    # Two transfers on the same uplink: [0, 1 ms) and [0.5 ms, 1.5 ms) -> busy 1.5 ms.
    env, net = build(star(3, bandwidth=1e9, latency=0.0))

    def later():
        yield env.timeout(5e-4)
        net.transfer("h0", "h2", 1e6)

    net.transfer("h0", "h1", 1e6)
    env.process(later())
    env.run(until=1e-3)
    up = net.link_index["h0", "s0"]
    # Mid-flight: bytes pro rata, busy time up to now.
    assert net.link_bytes()[up] == pytest.approx(1e6 + 0.5e6, rel=1e-12)
    assert net.link_busy_time()[up] == pytest.approx(1e-3, rel=1e-12)
    assert net.flows_completed == 1
    env.run()
    assert net.link_bytes()[up] == pytest.approx(2e6, rel=1e-15)
    assert net.link_busy_time()[up] == pytest.approx(1.5e-3, rel=1e-12)
    assert net.link_flows()[up] == 2
    assert net.flows_completed == 2
    assert net.bytes_sent == 2e6
