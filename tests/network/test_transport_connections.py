"""Connections in the fluid models: one handshake per host pair, windows kept between
messages and restarted after an idle RTO; and the invariants under contention."""

from __future__ import annotations

import pytest
import simpy

from netsim.network import AnalyticNetwork, FlowNetwork
from netsim.network.recorder import FlowRecorder
from netsim.transport import TRANSPORTS, make_transport, route_loss
from tests.network.network_helpers import SPRouter, dumbbell, line, star

MODELS = [FlowNetwork, AnalyticNetwork]
B, L = 1.25e9, 5e-3  # 10 Gbps, 10 ms round trip: slow start matters
RTT = 2 * L
N = 146_000  # 100 segments: 3 rounds of slow start from IW = 10
TCP = TRANSPORTS["tcp"]


def build(cls, graph, **options):
    env = simpy.Environment()
    return env, cls(env, graph, SPRouter(graph), **options)


def run_sequence(cls, sends, transport=TCP, graph=None, **options):
    """Send ``(delay after the previous delivery, src, dst, nbytes)`` one after another;
    return each message's time from send to delivery."""
    graph = graph if graph is not None else line([B], [L])
    env, net = build(cls, graph, transport=transport, **options)
    took = []

    def driver():
        for gap, src, dst, n in sends:
            yield env.timeout(gap)
            start = env.now
            yield net.transfer(src, dst, n)
            took.append(env.now - start)

    env.process(driver())
    env.run()
    return took, net


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_second_message_reuses_the_connection_and_its_window(cls):
    took, _ = run_sequence(cls, [(0.0, "h0", "h1", N), (0.0, "h0", "h1", N)])
    assert took[0] == pytest.approx(TCP.transfer_time(N, B, L, new_connection=True), rel=1e-12)
    # no handshake, and the window grew from 10 to 10 + 100 segments: no slow start
    warm = TCP.transfer_time(N, B, L, cwnd=110)
    assert warm == pytest.approx(10e-6 + TCP.wire_bytes(N) / B + L, rel=1e-14)
    assert took[1] == pytest.approx(warm, rel=1e-12)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_the_reverse_direction_shares_the_handshake_not_the_window(cls):
    took, _ = run_sequence(cls, [(0.0, "h0", "h1", N), (0.0, "h1", "h0", N)])
    assert took[1] == pytest.approx(TCP.transfer_time(N, B, L, new_connection=False), rel=1e-12)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_slow_start_restarts_after_an_idle_rto(cls):
    rto = TCP.rto(RTT)
    assert rto == 0.2
    # the idle time counts from the last byte sent (L before delivery)
    took, _ = run_sequence(cls, [(0.0, "h0", "h1", N), (rto - L + 1e-6, "h0", "h1", N)])
    assert took[1] == pytest.approx(TCP.transfer_time(N, B, L, cwnd=10), rel=1e-12)
    took, _ = run_sequence(cls, [(0.0, "h0", "h1", N), (rto - L - 1e-6, "h0", "h1", N)])
    assert took[1] == pytest.approx(TCP.transfer_time(N, B, L, cwnd=110), rel=1e-12)


def test_a_message_sent_during_the_handshake_waits_for_it():
    env, net = build(AnalyticNetwork, line([B], [L]), transport=TCP)
    times = {}
    for i in range(2):
        net.transfer("h0", "h1", N).callbacks.append(lambda ev, i=i: times.setdefault(i, env.now))
    env.run()
    # both wait for the one handshake and start from the initial window (the first one's
    # growth is credited when its last byte is sent)
    assert times[0] == pytest.approx(TCP.transfer_time(N, B, L, new_connection=True), rel=1e-12)
    assert times[1] == pytest.approx(times[0], rel=1e-12)
    # the next message sent at once gets the window both grew: 10 + 2 x 100 segments
    start = env.now
    later = []
    net.transfer("h0", "h1", 2 * N).callbacks.append(lambda ev: later.append(env.now - start))
    env.run()
    assert later[0] == pytest.approx(TCP.transfer_time(2 * N, B, L, cwnd=210), rel=1e-12)


@pytest.mark.parametrize("name", ["udp", "rocev2", "ideal"])
def test_connectionless_or_preconnected_profiles_never_wait(name):
    profile = TRANSPORTS[name]
    took, _ = run_sequence(FlowNetwork, [(0.0, "h0", "h1", N)] * 2, transport=profile)
    assert took[0] == pytest.approx(profile.transfer_time(N, B, L), rel=1e-12)
    assert took[1] == pytest.approx(took[0], rel=1e-12)


# ---------------------------------------------------------------- invariants
def contended(transport, loss_rate=0.0, recorder=None):
    graph = dumbbell(4, latency=2e-6)
    env, net = build(FlowNetwork, graph, transport=transport, loss_rate=loss_rate)
    net.recorder = recorder
    times = {}

    def sender(i):
        for k in range(3):
            yield env.timeout(1e-6 * ((i * 7 + k * 3) % 5))
            n = 50_000 * (1 + (i + k) % 4)
            yield net.transfer(f"h{i}", f"h{(i + 3 + k) % 8}", n)
            times[(i, k)] = env.now

    for i in range(8):
        env.process(sender(i))
    env.run()
    return times, net


@pytest.mark.parametrize("name", list(TRANSPORTS))
@pytest.mark.parametrize("loss_rate", [0.0, 0.002])
def test_no_link_exceeds_its_bandwidth_and_bytes_add_up(name, loss_rate):
    recorder = FlowRecorder()
    times, net = contended(TRANSPORTS[name], loss_rate, recorder)
    assert len(times) == 24
    capacity = net.capacity
    for _, link, total in recorder.samples:
        assert total <= capacity[link] * (1 + 1e-9)
    assert net.bytes_sent == pytest.approx(net.bytes_delivered + net.bytes_dropped, rel=1e-12)
    # every byte offered crosses its whole route: the flows recorded carry bytes_sent
    assert sum(flow["bytes"] for flow in recorder.flows) == pytest.approx(net.bytes_sent, rel=1e-12)
    first_hops = sum(net.link_bytes()[net.link_index[(f"h{i}", f"s{i // 4}")]] for i in range(8))
    assert first_hops == pytest.approx(net.bytes_sent, rel=1e-12)
    sizes = [50_000 * (1 + (i + k) % 4) for i in range(8) for k in range(3)]
    assert net.payload_bytes == sum(sizes)
    if name != "ideal":
        assert net.bytes_sent > net.payload_bytes
    if loss_rate and TRANSPORTS[name].reliable:
        assert net.bytes_delivered == pytest.approx(
            sum(TRANSPORTS[name].wire_bytes(n) for n in sizes), rel=1e-12
        )
        assert net.bytes_retransmitted == net.bytes_dropped > 0
    elif loss_rate:
        hops = [
            len(net.route(f"h{i}", f"h{(i + 3 + k) % 8}").links) for i in range(8) for k in range(3)
        ]
        lost = sum(
            TRANSPORTS[name].wire_bytes(n) * route_loss(loss_rate, h)
            for n, h in zip(sizes, hops, strict=True)
        )
        assert net.bytes_dropped == pytest.approx(lost, rel=1e-12)


@pytest.mark.parametrize("name", ["tcp", "grpc", "rocev2"])
def test_deterministic(name):
    first = contended(TRANSPORTS[name], 0.001)
    second = contended(TRANSPORTS[name], 0.001)
    assert first[0] == second[0]
    assert first[1].link_bytes().tolist() == second[1].link_bytes().tolist()
    assert first[1].transport_summary() == second[1].transport_summary()


def test_contention_only_slows_a_message_down():
    """Every message takes at least its uncontended time (different sizes, shared links)."""
    tcp = make_transport("tcp", handshake_rtts=0)  # connections already open
    graph = star(6, bandwidth=1.25e9, latency=1e-6)
    env, net = build(FlowNetwork, graph, transport=tcp)
    took = {}

    def send(i, n):
        start = env.now
        yield net.transfer(f"h{i}", "h5", n)
        took[i] = (env.now - start, n)

    for i in range(5):
        env.process(send(i, 20_000 * (i + 1)))
    env.run()
    for elapsed, n in took.values():
        assert elapsed >= tcp.transfer_time(n, 1.25e9, 2e-6) * (1 - 1e-12)
    # the receiver's link carries every wire byte once
    into = net.link_bytes()[net.link_index[("s0", "h5")]]
    assert into == sum(tcp.wire_bytes(n) for _, n in took.values())


def test_transport_summary():
    _, net = run_sequence(
        FlowNetwork, [(0.0, "h0", "h1", 10**6)], transport=TRANSPORTS["rest"], loss_rate=0.001
    )
    summary = net.transport_summary()
    assert summary["transport"] == "rest" and summary["loss_rate"] == 0.001
    assert summary["payload_bytes"] == 10**6
    assert summary["goodput_fraction"] == pytest.approx(10**6 / net.bytes_sent, rel=1e-15)
    assert 0.15 < summary["goodput_fraction"] < 0.17  # JSON text: ~4/23 of TCP's 0.949
    assert summary["bytes_retransmitted"] == summary["bytes_dropped"] > 0
    env = simpy.Environment()
    idle = FlowNetwork(env, line([B], [L]), SPRouter(line([B], [L])))
    assert idle.transport_summary()["goodput_fraction"] == 1.0
