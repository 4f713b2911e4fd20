"""TCP (NewReno) in the packet model: slow start, fairness, incast, timeouts, ECN."""

import pytest
import simpy

from netsim.network import FlowNetwork
from tests.network.network_helpers import SPRouter, dumbbell
from tests.network.packet.helpers import build, incast, jain, line, make_transport, run_transfers

B = 1.25e9  # 10 Gbps, bytes/s
TCP = make_transport("tcp")


def closed_form(tcp, n, bandwidth, latency):
    """Handshake + software + slow_start_time + latency on one link (REFERENCES §5).

    The packet model's round trip is what its frames see: one full segment out, one
    ACK back, each serialised once, plus the latency both ways; the handshake's is two
    header-only frames.
    """
    ack = tcp.wire_bytes(0)
    rtt = (tcp.frame_bytes + ack) / bandwidth + 2 * latency
    handshake = tcp.handshake_time(2 * (ack / bandwidth + latency))
    return handshake + tcp.message_latency(n) + tcp.slow_start_time(n, bandwidth, rtt) + latency


@pytest.mark.parametrize("n", [1, 14_600, 14_601, 146_000, 1_000_000, 5_000_000])
@pytest.mark.parametrize("latency", [1e-6, 50e-6, 1e-3])
def test_slow_start_matches_closed_form_exactly(n, latency):
    env, net = build(line([B], [latency]), TCP)
    (t,) = run_transfers(env, net, [("h0", "h1", n)])
    assert t == pytest.approx(closed_form(TCP, n, B, latency), rel=1e-12)
    assert net.bytes_retransmitted == 0 and net.bytes_delivered == TCP.wire_bytes(n)


def test_slow_start_rounds_are_paid():
    """14,601 bytes need an 11th segment: one more round trip than 14,600 (IW = 10)."""
    times = []
    for n in (14_600, 14_601):
        env, net = build(line([B], [1e-3]), TCP)
        times.append(run_transfers(env, net, [("h0", "h1", n)])[0])
    assert times[1] - times[0] > 0.99 * 2e-3  # about one round trip of 2 ms


@pytest.mark.parametrize("hops,latency", [(1, 50e-6), (2, 25e-6), (3, 100e-6)])
@pytest.mark.parametrize("n", [14_601, 146_000, 1_000_000])
def test_flow_model_approximation_within_5_percent(hops, latency, n):
    graph = line([B] * hops, [latency] * hops)
    env, net = build(graph, TCP)
    (packet,) = run_transfers(env, net, [("h0", "h1", n)])
    env = simpy.Environment()
    flow = FlowNetwork(env, graph, SPRouter(graph), transport=TCP)
    done = flow.transfer("h0", "h1", n)
    env.run(done)
    assert packet == pytest.approx(env.now, rel=0.05)


def test_reused_connection_skips_the_handshake_and_keeps_its_window():
    env, net = build(line([B], [50e-6]), TCP)
    first = net.transfer("h0", "h1", 1_000_000)
    env.run(first)
    start = env.now
    second = net.transfer("h0", "h1", 1_000_000)
    env.run(second)
    # No handshake and no slow start (the window is open, idle time < RTO): W/B + L.
    assert env.now - start == pytest.approx(
        TCP.message_latency(1_000_000) + TCP.wire_bytes(1_000_000) / B + 50e-6, rel=1e-9
    )


def test_two_long_flows_share_a_bottleneck_fairly():
    graph = dumbbell(2, bandwidth=B, core=B / 2, latency=5e-6)
    tcp = make_transport("tcp", min_rto="1ms")
    env, net = build(graph, tcp, buffer=100_000)
    events = [net.transfer("h0", "h2", 20e6), net.transfer("h1", "h3", 20e6)]
    env.run(simpy.AnyOf(env, events))
    progress = [net._conns[s][d].rcv_nxt for s, d in (("h0", "h2"), ("h1", "h3"))]
    assert min(progress) > 0
    assert jain(progress) >= 0.95
    env.run()
    assert net.packet_stats()["frames_dropped"] > 0  # the flows did fight for the buffer
    assert net.bytes_delivered == net.offered_bytes


def test_incast_into_a_small_buffer_drops_retransmits_and_delivers_everything():
    tcp = make_transport("tcp", min_rto="1ms")
    net, times = incast(tcp, senders=16, nbytes=200_000, buffer=32 * 1024)
    stats = net.packet_stats()
    assert all(t is not None for t in times)
    assert stats["frames_dropped"] > 0 and stats["bytes_retransmitted"] > 0
    assert stats["fast_retransmits"] + stats["timeouts"] > 0
    assert net.bytes_delivered == net.offered_bytes == 16 * tcp.wire_bytes(200_000)
    assert net.bytes_sent == net.offered_bytes + net.bytes_retransmitted
    assert net.in_flight_bytes == 0
    assert net.max_queue().max() <= 32 * 1024
    port = net.link_index[("s0", "h16")]
    assert net.link_drops()[port] == stats["frames_dropped"]


def test_timeout_respects_min_rto():
    """A tail loss (no later segment to raise duplicate ACKs) waits for the RTO."""
    times = {}
    for min_rto in ("1ms", "20ms"):
        tcp = make_transport("tcp", min_rto=min_rto)
        env, net = build(line([B], [5e-6]), tcp, loss_rate=0.2, seed=3)
        times[min_rto] = run_transfers(env, net, [("h0", "h1", 3000)])[0]
        assert net.timeouts >= 1
    assert times["20ms"] - times["1ms"] > 15e-3


def test_ecn_marks_and_reduces_the_window_before_the_buffer_overflows():
    tcp = make_transport("tcp", min_rto="1ms")
    plain, _ = incast(tcp, senders=8, nbytes=400_000, buffer=256 * 1024)
    marked, _ = incast(tcp, senders=8, nbytes=400_000, buffer=256 * 1024, ecn=True)
    assert plain.packet_stats()["marks"] == 0
    assert marked.packet_stats()["marks"] > 0 and marked.ecn_reductions > 0
    assert marked.packet_stats()["frames_dropped"] < plain.packet_stats()["frames_dropped"]
    assert marked.bytes_delivered == marked.offered_bytes


def test_receive_window_caps_the_rate():
    """A window of w segments on a long link: about w segments per round trip."""
    tcp = make_transport("tcp", window=10 * 1460, slow_start=False)
    env, net = build(line([B], [1e-3]), tcp)
    (t,) = run_transfers(env, net, [("h0", "h1", 100 * 1460)])
    rtt = 2e-3
    assert 9 * rtt < t < 11.5 * rtt  # 10 windows of 10 segments, plus the handshake
