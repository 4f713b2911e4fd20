"""Expected cost of random frame loss: route loss, Mathis cap, retransmitted and dropped bytes."""

from __future__ import annotations

import math

import pytest

from netsim.transport import TRANSPORTS, make_transport
from netsim.transport.loss import (
    check_loss,
    mathis_rate,
    route_loss,
    transmissions_per_frame,
)

F = 1538  # wire bytes of a full TCP segment at MTU 1500


def test_route_loss():
    assert route_loss(0.0, 3) == 0.0
    assert route_loss(0.1, 0) == 0.0
    assert route_loss(0.1, 1) == pytest.approx(0.1, rel=1e-15)
    assert route_loss(0.1, 2) == pytest.approx(0.19, rel=1e-15)
    assert route_loss(1e-3, 4) == pytest.approx(1 - 0.999**4, rel=1e-15)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, math.nan, math.inf, True, "0.1", None])
def test_probabilities_are_checked(bad):
    with pytest.raises(ValueError, match="probability in"):
        check_loss(bad)
    with pytest.raises(ValueError, match="loss_rate"):
        route_loss(bad, 2)


def test_mathis_formula():
    # MSS / (RTT * sqrt(2p/3)) with hand numbers: 1538 / (1e-3 * sqrt(0.02/3))
    assert mathis_rate(1538, 1e-3, 0.01) == pytest.approx(
        1538 / (1e-3 * 0.0816496580927726), rel=1e-14
    )
    assert mathis_rate(1538, 1e-3, 0.0) == math.inf
    assert mathis_rate(1538, 0.0, 0.01) == math.inf
    # four times the loss halves the rate; twice the RTT halves it too
    assert mathis_rate(1000, 1e-3, 0.04) == pytest.approx(
        mathis_rate(1000, 1e-3, 0.01) / 2, rel=1e-14
    )
    assert mathis_rate(1000, 2e-3, 0.01) == pytest.approx(
        mathis_rate(1000, 1e-3, 0.01) / 2, rel=1e-14
    )


def test_transmissions_per_frame():
    assert transmissions_per_frame(0.0, 7) == 1.0
    assert transmissions_per_frame(0.2, 1) == pytest.approx(1 / 0.8, rel=1e-15)  # selective repeat
    assert transmissions_per_frame(0.2, 5) == pytest.approx(1 + 5 * 0.2 / 0.8, rel=1e-15)
    with pytest.raises(ValueError, match="window"):
        transmissions_per_frame(0.1, 0)


def test_loss_limited_rate_applies_to_aimd_profiles_only():
    rtt, p = 1e-4, 0.002
    tcp = make_transport("tcp")
    assert tcp.loss_limited_rate(rtt, p) == pytest.approx(
        F / (rtt * math.sqrt(2 * p / 3)), rel=1e-14
    )
    grpc, rest = make_transport("grpc"), make_transport("rest")
    assert (
        grpc.loss_limited_rate(rtt, p)
        == rest.loss_limited_rate(rtt, p)
        == tcp.loss_limited_rate(rtt, p)
    )
    for name in ("ideal", "udp", "rocev2"):  # no AIMD window (or unreliable)
        assert make_transport(name).loss_limited_rate(rtt, p) == math.inf
    assert make_transport("tcp", congestion_control="none").loss_limited_rate(rtt, p) == math.inf
    assert tcp.loss_limited_rate(rtt, 0.0) == math.inf
    jumbo = make_transport("tcp", mtu=9000)
    assert jumbo.loss_limited_rate(rtt, p) == pytest.approx(
        9038 / (rtt * math.sqrt(2 * p / 3)), rel=1e-14
    )


def test_retransmitted_and_dropped_bytes_selective():
    tcp = make_transport("tcp")
    n, p = 10**6, 0.01
    wire = tcp.wire_bytes(n)
    assert tcp.retransmission_window(n, 1.25e9, 1e-3) == 1
    assert tcp.retransmitted_bytes(n, 1.25e9, 1e-3, p) == pytest.approx(
        wire * p / (1 - p), rel=1e-15
    )
    assert tcp.dropped_bytes(n, 1.25e9, 1e-3, p) == tcp.retransmitted_bytes(n, 1.25e9, 1e-3, p)
    assert tcp.retransmitted_bytes(n, 1.25e9, 1e-3, 0.0) == 0.0


def test_go_back_n_window_of_rocev2():
    roce = make_transport("rocev2")  # 1106-byte frames at path MTU 1024
    assert roce.retransmission == "go_back_n"
    f = roce.frame_bytes
    assert f == 1106
    n = 10**6  # 977 frames
    assert roce.frames(n) == 977
    # 12.5 GB/s x 10 us = 125000 bytes in flight = 113.0 frames -> K = 1 + 113 = 114
    assert roce.retransmission_window(n, 12.5e9, 1e-5) == 1 + math.floor(12.5e9 * 1e-5 / f) == 114
    # never more than the message's frames; at least 1
    assert roce.retransmission_window(n, 12.5e9, 1.0) == 977
    assert roce.retransmission_window(n, 12.5e9, 0.0) == 1
    assert roce.retransmission_window(100, 12.5e9, 1e-5) == 1  # one frame
    p = 0.002
    assert roce.retransmitted_bytes(n, 12.5e9, 1e-5, p) == pytest.approx(
        roce.wire_bytes(n) * 114 * p / (1 - p), rel=1e-15
    )
    selective = make_transport("rocev2", retransmission="selective")
    assert selective.retransmission_window(n, 12.5e9, 1e-5) == 1


def test_unreliable_udp_loses_without_resending():
    udp = make_transport("udp")
    n, p = 10**6, 0.01
    assert udp.retransmitted_bytes(n, 1e9, 1e-4, p) == 0.0
    assert udp.dropped_bytes(n, 1e9, 1e-4, p) == pytest.approx(udp.wire_bytes(n) * p, rel=1e-15)


def test_rto_is_min_rto_or_rtt():
    tcp = make_transport("tcp")
    assert tcp.rto(1e-4) == 0.2
    assert tcp.rto(0.5) == 0.5
    assert make_transport("tcp", min_rto="1ms").rto(1e-4) == 1e-3


@pytest.mark.parametrize("name", list(TRANSPORTS))
def test_transfer_time_with_loss_closed_form(name):
    profile = TRANSPORTS[name]
    n, rate, latency, p = 3 * 10**6, 1.25e9, 50e-6, 0.003
    rtt = 2 * latency
    r = min(rate, profile.max_rate(rtt), profile.loss_limited_rate(rtt, p))
    expected = (
        profile.handshake_time(rtt)
        + profile.message_latency(n)
        + profile.slow_start_time(n, r, rtt)
        + profile.retransmitted_bytes(n, r, rtt, p) / r
        + latency
    )
    got = profile.transfer_time(n, rate, latency, new_connection=True, loss=p)
    assert got == pytest.approx(expected, rel=1e-14)
    # loss never makes a message faster, and no loss changes nothing
    assert got >= profile.transfer_time(n, rate, latency, new_connection=True)
    assert profile.transfer_time(n, rate, latency, loss=0.0) == profile.transfer_time(
        n, rate, latency
    )


def test_mathis_cap_binds_for_a_long_tcp_transfer():
    tcp = make_transport("tcp", slow_start=False)
    n, rate, latency, p = 10**8, 12.5e9, 50e-6, 0.001
    rtt = 2 * latency
    cap = F / (rtt * math.sqrt(2 * p / 3))  # ~1.46 GB/s < 12.5 GB/s
    assert cap < rate
    wire = tcp.wire_bytes(n)
    expected = 10e-6 + (wire + wire * p / (1 - p)) / cap + latency
    assert tcp.transfer_time(n, rate, latency, loss=p) == pytest.approx(expected, rel=1e-13)


def test_docstring_examples():
    import doctest

    from netsim.transport import loss, tables

    for module in (loss, tables):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
