"""RoCEv2 (lossless PFC fabric, go-back-N) and UDP (loss is loss) in the packet model."""

import numpy as np
import pytest

from tests.network.packet.helpers import build, incast, line, make_transport, run_transfers

B = 1.25e9
BUFFER = 32 * 1024


def test_rocev2_incast_pauses_instead_of_dropping():
    roce = make_transport("rocev2")
    net, times = incast(roce, senders=16, nbytes=200_000, buffer=BUFFER)
    stats = net.packet_stats()
    assert all(t is not None for t in times)
    assert stats["pauses"] > 0
    assert stats["frames_dropped"] == 0 and stats["bytes_retransmitted"] == 0
    assert net.bytes_delivered == net.offered_bytes == 16 * roce.wire_bytes(200_000)
    # Every host link into the switch was paused; the pause is counted on that link.
    paused = [net.link_pauses()[net.link_index[(f"h{i}", "s0")]] for i in range(16)]
    assert min(paused) > 0
    # Headroom: above XOFF only by what was in flight while the pauses travelled.
    headroom = 16 * (2 * 2e-6 * B + 2 * roce.frame_bytes)
    assert BUFFER < net.max_queue().max() <= BUFFER + headroom
    # The incast takes at least the time to push all bytes through the one port.
    assert max(times) >= net.offered_bytes / B


def test_rocev2_has_no_slow_start():
    roce = make_transport("rocev2")
    env, net = build(line([B], [1e-3]), roce)
    n = 1_000_000
    (t,) = run_transfers(env, net, [("h0", "h1", n)])
    assert t == pytest.approx(roce.software_latency + roce.wire_bytes(n) / B + 1e-3, rel=1e-12)


@pytest.mark.parametrize("transport", ["rocev2", "ideal"])
def test_go_back_n_recovers_forced_losses(transport):
    tp = make_transport(transport, mtu=1500)
    env, net = build(line([B, B], [2e-6, 2e-6]), tp, loss_rate=0.01, seed=7)
    sizes = [300_000, 5_000, 120_000]
    times = run_transfers(env, net, [("h0", "h1", n) for n in sizes])
    stats = net.packet_stats()
    assert all(t is not None for t in times)
    assert stats["frames_lost"] > 0 and stats["go_backs"] > 0
    assert stats["bytes_retransmitted"] > 0
    assert net.bytes_delivered == net.offered_bytes
    assert net.bytes_sent == net.bytes_delivered + net.bytes_dropped
    assert sum(net.link_losses()) == stats["frames_lost"]


def test_rocev2_without_pfc_drops_and_still_delivers():
    roce = make_transport("rocev2", lossless=False, min_rto="1ms")
    net, times = incast(roce, senders=4, nbytes=100_000, buffer=BUFFER)
    stats = net.packet_stats()
    assert all(t is not None for t in times)
    assert stats["pauses"] == 0 and stats["frames_dropped"] > 0
    assert net.bytes_delivered == net.offered_bytes


def test_udp_loss_frame_by_frame():
    udp = make_transport("udp")
    env, net = build(line([B, B, B], [1e-6] * 3), udp, loss_rate=0.05, seed=11)
    payload = np.arange(10.0)
    sizes = [1_000_000, 3_000, 0, 250_000]
    events = [net.transfer("h0", "h1", n, value=payload) for n in sizes]
    env.run()
    stats = net.packet_stats()
    frames = sum(udp.frames(n) for n in sizes)
    assert stats["frames_sent"] == frames
    assert stats["frames_delivered"] + stats["frames_lost"] == frames
    assert stats["frames_lost"] > 0 and stats["frames_dropped"] == 0
    assert net.bytes_delivered + net.lost_bytes == net.offered_bytes == net.bytes_sent
    assert stats["bytes_retransmitted"] == 0
    assert sum(net.link_losses()) == stats["frames_lost"]
    # Every message's event fires, with its value unchanged; incomplete ones are counted.
    assert all(e.triggered and e.value is payload for e in events)
    assert 1 <= stats["incomplete_messages"] <= len(sizes)


def test_udp_incast_overflows_the_buffer():
    udp = make_transport("udp")
    net, times = incast(udp, senders=16, nbytes=100_000, buffer=BUFFER)
    stats = net.packet_stats()
    assert all(t is not None for t in times)
    assert stats["frames_dropped"] > 0
    assert stats["frames_delivered"] + stats["frames_dropped"] == stats["frames_sent"]
    assert net.bytes_delivered + net.dropped_bytes == net.offered_bytes
    assert stats["incomplete_messages"] > 0
