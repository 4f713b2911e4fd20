"""One flow alone: store and forward over h hops, REFERENCES §1 ``ΣL + (k + h − 1)·m/B``."""

import math

import pytest

from tests.network.packet.helpers import build, line, make_transport, run_transfers

B = 1.25e9  # bytes/s
L = 2e-6  # s


@pytest.mark.parametrize("hops", [1, 2, 3, 5])
@pytest.mark.parametrize("k", [1, 2, 7, 100])
def test_ideal_frames_store_and_forward(hops, k):
    env, net = build(line([B] * hops, [L] * hops), make_transport("ideal", mtu=1500))
    (t,) = run_transfers(env, net, [("h0", "h1", 1500 * k)])
    expected = hops * L + (k + hops - 1) * 1500 / B
    assert t == pytest.approx(expected, rel=1e-12, abs=0)
    assert net.packet_stats()["frames_sent"] == k
    assert net.frame_hops >= k * hops  # data frames (plus the ACK of go-back-N)


def test_unequal_latencies_add_up():
    lats = [1e-6, 5e-6, 3e-7]
    env, net = build(line([B] * 3, lats), make_transport("ideal", mtu=1000))
    (t,) = run_transfers(env, net, [("h0", "h1", 10_000)])
    assert t == pytest.approx(sum(lats) + (10 + 2) * 1000 / B, rel=1e-12)


@pytest.mark.parametrize("hops", [1, 3])
def test_udp_full_frames_pay_headers_and_software_time(hops):
    udp = make_transport("udp")
    k = 9
    env, net = build(line([B] * hops, [L] * hops), udp)
    (t,) = run_transfers(env, net, [("h0", "h1", k * udp.max_payload)])
    assert udp.frame_bytes == 1538
    expected = udp.software_latency + hops * L + (k + hops - 1) * udp.frame_bytes / B
    assert t == pytest.approx(expected, rel=1e-12)
    assert net.offered_bytes == udp.wire_bytes(k * udp.max_payload) == k * 1538


def test_unframed_ideal_is_one_frame():
    env, net = build(line([B, B / 2], [L, L]))
    (t,) = run_transfers(env, net, [("h0", "h1", 1e6)])
    assert t == pytest.approx(2 * L + 1e6 / B + 1e6 / (B / 2), rel=1e-12)


def test_fractional_payload_on_ideal_is_carried_exactly():
    env, net = build(line([B], [L]))
    (t,) = run_transfers(env, net, [("h0", "h1", 1000.5)])
    assert t == pytest.approx(L + 1000.5 / B, rel=1e-12)
    assert net.bytes_delivered == net.offered_bytes == 1000.5


def test_zero_bytes():
    env, net = build(line([B] * 2, [L] * 2))
    (t,) = run_transfers(env, net, [("h0", "h1", 0)])
    assert t == pytest.approx(2 * L, rel=1e-12)
    udp = make_transport("udp")
    env, net = build(line([B] * 2, [L] * 2), udp)
    (t,) = run_transfers(env, net, [("h0", "h1", 0)])
    assert udp.wire_bytes(0) == 84  # one padded header-only frame
    assert t == pytest.approx(udp.software_latency + 2 * L + 2 * 84 / B, rel=1e-12)


def test_local_copy_and_values():
    env, net = build(line([B], [L]))
    payload = object()
    local = net.transfer("h0", "h0", 1e9, value=payload)
    remote = net.transfer("h0", "h1", 10, value="x")
    env.run()
    assert local.value is payload and remote.value == "x"
    assert net.transfers == 2 and net.flows_completed == 1


def test_max_rate_paces_a_message():
    env, net = build(line([B], [L]), make_transport("ideal", mtu=1000))
    rate = B / 4
    done = net.transfer("h0", "h1", 10_000, max_rate=rate)
    env.run(done)
    # 10 frames, one every 1000/rate s; the last one crosses the link at full speed.
    assert env.now == pytest.approx(9 * 1000 / rate + 1000 / B + L, rel=1e-12)


def test_link_counters():
    env, net = build(line([B, B], [L, L]), make_transport("ideal", mtu=1500))
    run_transfers(env, net, [("h0", "h1", 15_000)])
    forward = [net.link_index[("h0", "s0")], net.link_index[("s0", "h1")]]
    assert [net.link_bytes()[i] for i in forward] == [15_000, 15_000]
    assert [net.link_flows()[i] for i in forward] == [1, 1]
    busy = net.link_busy_time()
    assert busy[forward[0]] == pytest.approx(15_000 / B, rel=1e-12)
    stats = net.link_stats()
    assert all(0 <= s["utilisation"] <= 1 for s in stats)
    assert not math.isnan(sum(s["busy_time"] for s in stats))
