"""Transport profiles in the fluid models: an uncontended message takes exactly its profile's
alpha-beta time (``TransportProfile.transfer_time``), and ``ideal`` changes nothing."""

from __future__ import annotations

import math

import pytest
import simpy

from netsim.network import AnalyticNetwork, FlowNetwork, make_network
from netsim.transport import TRANSPORTS, make_transport, route_loss
from tests.network.network_helpers import SPRouter, dumbbell, line, star

MODELS = [FlowNetwork, AnalyticNetwork]
BANDWIDTHS = [1.25e9, 1e9, 2.5e9]  # bottleneck 1e9 on the middle link
LATENCIES = [10e-6, 20e-6, 5e-6]  # 35 us one way, rtt 70 us
B, L = 1e9, 35e-6


def sizes(profile):
    """0, 1, MTU-1, MTU, MTU+1 (the IP MTU and the payload per frame) and 1 GiB."""
    mtu = profile.mtu or 1500
    frame = profile.max_payload or 1500
    return sorted({0, 1, mtu - 1, mtu, mtu + 1, frame - 1, frame, frame + 1, 2**30})


def cases():
    for name, profile in TRANSPORTS.items():
        for n in sizes(profile):
            yield pytest.param(name, n, id=f"{name}-{n}")


def build(cls, graph, **options):
    env = simpy.Environment()
    return env, cls(env, graph, SPRouter(graph), **options)


def arrivals(env, net, sends):
    """Start ``(time, src, dst, nbytes)`` transfers; return their delivery times."""
    times = [None] * len(sends)

    def send(i, at, src, dst, n):
        yield env.timeout(at)
        done = net.transfer(src, dst, n)
        yield done
        times[i] = env.now

    for i, (at, src, dst, n) in enumerate(sends):
        env.process(send(i, at, src, dst, n))
    env.run()
    return times


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
@pytest.mark.parametrize(("name", "n"), list(cases()))
def test_uncontended_time_is_the_profiles_transfer_time(cls, name, n):
    profile = TRANSPORTS[name]
    env, net = build(cls, line(BANDWIDTHS, LATENCIES), transport=profile)
    [time] = arrivals(env, net, [(0.0, "h0", "h1", n)])
    assert time == pytest.approx(
        profile.transfer_time(n, B, L, new_connection=True), rel=1e-12, abs=0
    )
    wire = profile.wire_bytes(n) if not profile.passthrough else n
    route = set(net.route("h0", "h1").links)
    assert net.link_bytes().tolist() == [wire if i in route else 0.0 for i in range(len(net.links))]
    assert net.payload_bytes == n
    assert net.bytes_sent == net.bytes_delivered == wire
    assert net.bytes_dropped == net.bytes_retransmitted == 0.0


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
@pytest.mark.parametrize("name", list(TRANSPORTS))
@pytest.mark.parametrize("n", [1, 1500, 10**6, 2**30])
def test_uncontended_time_with_loss(cls, name, n):
    profile, p = TRANSPORTS[name], 1e-3
    env, net = build(cls, line(BANDWIDTHS, LATENCIES), transport=profile, loss_rate=p)
    [time] = arrivals(env, net, [(0.0, "h0", "h1", n)])
    loss = route_loss(p, 3)
    expected = profile.transfer_time(n, B, L, new_connection=True, loss=loss)
    assert time == pytest.approx(expected, rel=1e-12)
    # bytes offered = delivered + dropped; retransmissions counted separately
    assert net.bytes_sent == pytest.approx(net.bytes_delivered + net.bytes_dropped, rel=1e-15)
    wire = profile.wire_bytes(n)
    rate = min(B, profile.loss_limited_rate(2 * L, loss))
    if profile.reliable:
        assert net.bytes_delivered == pytest.approx(wire, rel=1e-15)
        assert net.bytes_retransmitted == pytest.approx(
            profile.retransmitted_bytes(n, rate, 2 * L, loss), rel=1e-15
        )
        assert net.bytes_sent == pytest.approx(wire + net.bytes_retransmitted, rel=1e-15)
    else:
        assert net.bytes_retransmitted == 0.0
        assert net.bytes_dropped == pytest.approx(wire * loss, rel=1e-15)
        assert net.bytes_sent == wire


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_ideal_is_exactly_no_transport(cls):
    """Same times, bit for bit, and the same counters, on a contended pattern."""
    graph = dumbbell(4)
    sends = [(i * 1e-6, f"h{i}", f"h{7 - i}", 1e5 * (i + 1) + 0.5) for i in range(8)]
    sends += [(3e-6, "h0", "h5", 0.0), (4e-6, "h2", "h2", 1e6)]
    env0, plain = build(cls, graph)
    env1, ideal = build(cls, graph, transport=make_transport("ideal"))
    env2, framed = build(cls, graph, transport=make_transport("ideal", mtu=9000))
    times = [
        arrivals(env, net, sends) for env, net in ((env0, plain), (env1, ideal), (env2, framed))
    ]
    assert times[0] == times[1] == times[2]
    for net in (ideal, framed):
        assert net.link_bytes().tolist() == plain.link_bytes().tolist()
        assert net.link_busy_time().tolist() == plain.link_busy_time().tolist()
        assert net.bytes_sent == plain.bytes_sent == net.payload_bytes == net.bytes_delivered
    assert plain.transport is TRANSPORTS["ideal"]


def test_flow_and_analytic_agree_when_uncontended():
    for name, profile in TRANSPORTS.items():
        times = []
        for cls in MODELS:
            env, net = build(cls, line(BANDWIDTHS, LATENCIES), transport=profile, loss_rate=1e-4)
            times.append(arrivals(env, net, [(0.0, "h0", "h1", 123_456)])[0])
        assert times[0] == pytest.approx(times[1], rel=1e-12), name


def test_make_network_forwards_transport_and_options():
    graph = star(2)
    for model in ("flow", "analytic"):
        net = make_network(
            model, simpy.Environment(), graph, SPRouter(graph), transport=make_transport("udp"),
            loss_rate=0.01, buffer=65536, ecn=True, seed=7,
        )  # fmt: skip
        assert net.transport.name == "udp" and net.loss_rate == 0.01


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.name)
def test_bad_options(cls):
    graph = star(2)
    with pytest.raises(ValueError, match="loss_rate must be a probability"):
        cls(simpy.Environment(), graph, SPRouter(graph), loss_rate=1.0)
    with pytest.raises(ValueError, match="transport must be a TransportProfile"):
        cls(simpy.Environment(), graph, SPRouter(graph), transport="tcp")


# ---------------------------------------------------------------- closed forms
def test_slow_start_over_a_long_latency_link_by_hand():
    """146,000 B over 10 Gbps with a 10 ms RTT: handshake + 10 us + 3 RTTs + 30 segments + 5 ms."""
    tcp = make_transport("tcp")
    env, net = build(FlowNetwork, line([1.25e9], [5e-3]), transport=tcp)
    [time] = arrivals(env, net, [(0.0, "h0", "h1", 146_000)])
    f = 1538
    expected = 0.01 + 10e-6 + 3 * 0.01 + 30 * f / 1.25e9 + 5e-3
    assert time == pytest.approx(expected, rel=1e-12)


def test_receive_window_caps_the_rate():
    tcp = make_transport(
        "tcp", window="64KiB", slow_start=False, handshake_rtts=0, software_latency=0
    )
    env, net = build(FlowNetwork, line([1.25e9], [50e-6]), transport=tcp)
    n = 10**7
    [time] = arrivals(env, net, [(0.0, "h0", "h1", n)])
    cap = 65536 * 1538 / (1460 * 1e-4)  # 690 MB/s < 1.25 GB/s
    assert time == pytest.approx(tcp.wire_bytes(n) / cap + 50e-6, rel=1e-12)


def test_mathis_cap_by_hand():
    tcp = make_transport("tcp", slow_start=False, handshake_rtts=0, software_latency=0)
    p = 1e-3
    env, net = build(FlowNetwork, line([12.5e9], [50e-6]), transport=tcp, loss_rate=p)
    n = 10**8
    [time] = arrivals(env, net, [(0.0, "h0", "h1", n)])
    cap = 1538 / (1e-4 * math.sqrt(2 * p / 3))
    wire = tcp.wire_bytes(n)
    assert time == pytest.approx((wire + wire * p / (1 - p)) / cap + 50e-6, rel=1e-12)
    assert net.bytes_retransmitted == pytest.approx(wire * p / (1 - p), rel=1e-15)
