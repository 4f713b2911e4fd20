"""TCP slow start and the time methods: hand-computed cases, an independent round-by-round
simulation of the model, and monotonicity properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.transport import TRANSPORTS, make_transport
from netsim.transport.slow_start import slow_start_rounds, slow_start_time

F = 1460 + 78  # wire bytes of a full TCP segment at MTU 1500
IW = 10
GBPS10 = 1.25e9  # 10 Gbps in bytes/s


def tcp_wire(n: int) -> int:
    """Hand formula for TCP at MTU 1500, valid when the last segment is >= 6 bytes."""
    return n + math.ceil(n / 1460) * 78


# ------------------------------------------------------------- hand cases
def test_fits_in_the_initial_window():
    tcp = make_transport("tcp")
    n = 10 * 1460  # exactly IW segments
    assert tcp.frames(n) == 10
    assert tcp.slow_start_rounds(n, GBPS10, 1e-3) == 0
    assert tcp.slow_start_time(n, GBPS10, 1e-3) == 10 * F / GBPS10
    assert tcp.slow_start_delay(n, GBPS10, 1e-3) == 0.0


def test_one_segment_more_costs_one_rtt():
    tcp = make_transport("tcp")
    n = 10 * 1460 + 100  # 11 segments: round 0 sends 10, round 1 the last
    assert tcp.slow_start_rounds(n, GBPS10, 1e-3) == 1
    wire = 10 * F + 100 + 78
    assert tcp.slow_start_time(n, GBPS10, 1e-3) == pytest.approx(
        1e-3 + (wire - 10 * F) / GBPS10, rel=1e-15
    )


def test_needs_several_doublings():
    # BDP = 1.25e9 * 0.01 = 12.5 MB: never reached by 100 segments.
    # Rounds send 10, 20, 40 (70 segments), then round 3 sends the last 30.
    tcp = make_transport("tcp")
    n = 100 * 1460
    assert tcp.frames(n) == 100
    assert tcp.slow_start_rounds(n, GBPS10, 0.01) == 3
    expected = 3 * 0.01 + (100 * F - 70 * F) / GBPS10
    assert tcp.slow_start_time(n, GBPS10, 0.01) == pytest.approx(expected, rel=1e-15)


def test_data_running_out_exactly_at_a_round_boundary():
    tcp = make_transport("tcp")
    assert tcp.slow_start_rounds(30 * 1460, GBPS10, 0.01) == 1  # 10 + 20
    assert tcp.slow_start_rounds(30 * 1460 + 1, GBPS10, 0.01) == 2  # 31 segments
    assert tcp.slow_start_rounds(70 * 1460, GBPS10, 0.01) == 2  # 10 + 20 + 40
    assert tcp.slow_start_rounds(70 * 1460 + 1, GBPS10, 0.01) == 3


def test_bdp_reached_early_then_streaming():
    # BDP = 1.25e9 * 1e-4 = 125000 bytes = 81.3 segments; windows 10, 20, 40, 80 (< BDP),
    # 160 (>= BDP): 4 rounds of waiting, 150 segments sent, then stream the rest.
    tcp = make_transport("tcp")
    n = 10**6  # 685 segments, last 1360 bytes
    assert tcp.frames(n) == 685 and tcp.wire_bytes(n) == 10**6 + 685 * 78 == 1053430
    assert tcp.slow_start_rounds(n, GBPS10, 1e-4) == 4
    expected = 4 * 1e-4 + (1053430 - 150 * F) / GBPS10
    assert tcp.slow_start_time(n, GBPS10, 1e-4) == pytest.approx(expected, rel=1e-15)
    assert expected * 1e6 == pytest.approx(1058.184, abs=1e-9)


def test_initial_window_already_fills_the_pipe():
    # BDP = 1e9 * 1e-6 = 1000 bytes < 10 segments: no waiting at all
    tcp = make_transport("tcp")
    assert tcp.slow_start_rounds(10**8, 1e9, 1e-6) == 0
    assert tcp.slow_start_time(10**8, 1e9, 1e-6) == tcp.wire_bytes(10**8) / 1e9


def test_initial_window_override_and_zero_rtt():
    tcp1 = make_transport("tcp", initial_window=1)
    # 10 segments with IW 1: rounds of 1, 2, 4 (7), then 3
    assert tcp1.slow_start_rounds(10 * 1460, GBPS10, 0.01) == 3
    assert tcp1.slow_start_time(10 * 1460, GBPS10, 0.01) == pytest.approx(
        0.03 + 3 * F / GBPS10, rel=1e-15
    )
    tcp = make_transport("tcp")
    assert tcp.slow_start_time(10**7, GBPS10, 0.0) == tcp.wire_bytes(10**7) / GBPS10


@pytest.mark.parametrize("name", ["ideal", "udp", "rocev2"])
def test_no_slow_start_without_tcp(name):
    profile = make_transport(name)
    assert profile.slow_start_rounds(10**8, GBPS10, 0.1) == 0
    assert profile.slow_start_time(10**8, GBPS10, 0.1) == profile.wire_bytes(10**8) / GBPS10
    assert profile.slow_start_delay(10**8, GBPS10, 0.1) == 0.0


def test_slow_start_off():
    tcp = make_transport("tcp", slow_start=False)
    assert tcp.slow_start_time(10**8, GBPS10, 0.1) == tcp.wire_bytes(10**8) / GBPS10


def test_grpc_and_rest_slow_start_count_their_framing():
    grpc = make_transport("grpc")
    n = 14600 - 41 - 5 - 9  # the stream fills exactly 10 segments
    assert grpc.stream_bytes(n) == 14600
    assert grpc.slow_start_rounds(n, GBPS10, 0.01) == 0
    assert grpc.slow_start_rounds(n + 1, GBPS10, 0.01) == 1


def test_pure_function_arguments():
    assert slow_start_rounds(0, 10, F, GBPS10, 0.01) == 0
    assert slow_start_rounds(10**6, 10, F, math.inf, 0.01) == 16  # ceil(1e6/10) = 100000 < 2^17
    assert slow_start_time(10**6, 123, 10, F, math.inf, 0.01) == 0.16
    for args in [(-1, 10, F, 1.0, 0.0), (1, 0, F, 1.0, 0.0), (1, 10, 0, 1.0, 0.0), (1, 10, F, 0.0, 0.0),
                 (1, 10, F, math.nan, 0.0), (1, 10, F, 1.0, -1.0), (1, 10, F, 1.0, math.inf)]:  # fmt: skip
        with pytest.raises(ValueError):
            slow_start_rounds(*args)
    for name in ("tcp", "udp"):
        with pytest.raises(ValueError, match="rate"):
            TRANSPORTS[name].slow_start_time(1, 0.0, 0.01)
        with pytest.raises(ValueError, match="rtt"):
            TRANSPORTS[name].slow_start_rounds(1, 1.0, -0.01)


# ------------------------------------------- independent simulation of the model
def simulate_rounds(segments: int, wire: int, iw: int, f: int, rate: float, rtt: float) -> float:
    """Round-by-round: send cwnd full segments, wait an RTT, double; stream once cwnd >= BDP."""
    t, sent, cwnd = 0.0, 0, iw
    while True:
        if cwnd * f >= rate * rtt or sent + cwnd >= segments:
            return t + (wire - sent * f) / rate
        sent += cwnd
        t += rtt
        cwnd *= 2


RATES = st.floats(min_value=1e5, max_value=1e11)
RTTS = st.floats(min_value=0.0, max_value=0.5)
NBYTES = st.integers(min_value=0, max_value=2 * 10**8)


@settings(max_examples=300, deadline=None)
@given(n=NBYTES, rate=RATES, rtt=RTTS, iw=st.integers(1, 20), ts=st.booleans())
def test_closed_form_matches_the_round_simulation(n, rate, rtt, iw, ts):
    tcp = make_transport("tcp", initial_window=iw, timestamps=ts)
    expected = simulate_rounds(tcp.frames(n), tcp.wire_bytes(n), iw, tcp.frame_bytes, rate, rtt)
    assert tcp.slow_start_time(n, rate, rtt) == pytest.approx(expected, rel=1e-12)
    delay = tcp.slow_start_delay(n, rate, rtt)
    assert 0.0 <= delay <= tcp.slow_start_rounds(n, rate, rtt) * rtt
    assert tcp.slow_start_time(n, rate, rtt) == pytest.approx(
        tcp.wire_bytes(n) / rate + delay, rel=1e-12
    )


@settings(max_examples=300, deadline=None)
@given(a=NBYTES, b=NBYTES, rate=RATES, rtt=RTTS)
def test_monotone_in_size(a, b, rate, rtt):
    tcp = TRANSPORTS["tcp"]
    lo, hi = min(a, b), max(a, b)
    assert tcp.slow_start_time(lo, rate, rtt) <= tcp.slow_start_time(hi, rate, rtt) * (1 + 1e-12)
    assert tcp.slow_start_rounds(lo, rate, rtt) <= tcp.slow_start_rounds(hi, rate, rtt)


@settings(max_examples=300, deadline=None)
@given(n=NBYTES, r1=RATES, r2=RATES, rtt=RTTS)
def test_faster_links_never_take_longer(n, r1, r2, rtt):
    tcp = TRANSPORTS["tcp"]
    lo, hi = min(r1, r2), max(r1, r2)
    assert tcp.slow_start_time(n, hi, rtt) <= tcp.slow_start_time(n, lo, rtt) * (1 + 1e-12)


@settings(max_examples=300, deadline=None)
@given(n=NBYTES, rate=RATES, t1=RTTS, t2=RTTS)
def test_longer_rtts_never_help(n, rate, t1, t2):
    tcp = TRANSPORTS["tcp"]
    lo, hi = min(t1, t2), max(t1, t2)
    assert tcp.slow_start_time(n, rate, lo) <= tcp.slow_start_time(n, rate, hi) * (1 + 1e-12)
    assert tcp.slow_start_time(n, rate, lo) >= tcp.wire_bytes(n) / rate * (1 - 1e-12)


# ---------------------------------------------------------- other time costs
def test_message_latency_and_codecs():
    assert make_transport("ideal").message_latency(10**6) == 0.0
    assert make_transport("tcp").message_latency() == 10e-6
    assert make_transport("udp").message_latency() == 5e-6
    assert make_transport("rocev2").message_latency() == 1e-6
    assert make_transport("grpc").message_latency(10**6) == 50e-6
    rest = make_transport("rest")  # json: 40 MB/s encode, 80 MB/s decode
    assert rest.message_latency(4000) == pytest.approx(
        100e-6 + 23001 / 40e6 + 23001 / 80e6, rel=1e-15
    )
    b64 = make_transport("rest", encoding="base64")
    assert b64.message_latency(4000) == pytest.approx(
        100e-6 + 5336 / 800e6 + 5336 / 400e6, rel=1e-15
    )
    assert make_transport("rest", encoding="binary").message_latency(10**9) == 100e-6
    fast = make_transport(
        "rest", encode_rate="1GB/s", decode_rate="unlimited", software_latency="20us"
    )
    assert fast.message_latency(4000) == pytest.approx(20e-6 + 23001 / 1e9, rel=1e-15)
    assert make_transport("grpc", encode_rate="1GB/s").message_latency(10**6) == pytest.approx(
        50e-6 + 1e-3
    )


def test_handshake_and_window():
    assert make_transport("tcp").handshake_time(0.01) == 0.01
    assert make_transport("udp").handshake_time(0.01) == 0.0
    assert make_transport("rest", handshake_rtts=2).handshake_time(0.01) == 0.02  # e.g. + TLS 1.3
    tcp = make_transport("tcp", window="64KiB")
    assert tcp.max_rate(0.01) == pytest.approx(65536 * F / (1460 * 0.01), rel=1e-15)
    assert tcp.max_rate(0.0) == math.inf
    assert make_transport("tcp").max_rate(0.01) == math.inf
    assert make_transport("ideal").max_rate(1.0) == math.inf


def test_transfer_time_is_the_profiles_alpha_beta_time():
    ideal = make_transport("ideal")
    assert ideal.transfer_time(10**6, GBPS10, 5e-6) == 5e-6 + 10**6 / GBPS10
    tcp = make_transport("tcp")
    n, lat = 10**6, 50e-6  # rtt 100 us: the BDP case above
    expected = 10e-6 + (4 * 1e-4 + (1053430 - 150 * F) / GBPS10) + lat
    assert tcp.transfer_time(n, GBPS10, lat) == pytest.approx(expected, rel=1e-14)
    assert tcp.transfer_time(n, GBPS10, lat, new_connection=True) == pytest.approx(
        expected + 1e-4, rel=1e-14
    )
    assert tcp.transfer_time(n, GBPS10, lat, rtt=0.0) == pytest.approx(
        10e-6 + 1053430 / GBPS10 + lat
    )
    # a window caps the rate: 65535 bytes per 10 ms RTT
    win = make_transport("tcp", window=65535, slow_start=False)
    cap = 65535 * F / (1460 * 0.01)
    assert win.transfer_time(n, GBPS10, 0.005) == pytest.approx(
        10e-6 + 1053430 / cap + 0.005, rel=1e-14
    )
    with pytest.raises(ValueError):
        tcp.transfer_time(n, GBPS10, -1.0)


# ------------------------------------------------------- a warm connection's window
def test_a_larger_starting_window_is_the_same_model_with_iw_replaced():
    tcp = make_transport("tcp")
    n, rtt = 100 * 1460, 0.01  # 100 segments, BDP never reached at 10 Gbps
    assert (
        tcp.slow_start_rounds(n, GBPS10, rtt, cwnd=10) == tcp.slow_start_rounds(n, GBPS10, rtt) == 3
    )
    # from 20 segments: rounds send 20, 40 (60), then the last 40
    assert tcp.slow_start_rounds(n, GBPS10, rtt, cwnd=20) == 2
    expected = 2 * rtt + (100 * F - 60 * F) / GBPS10
    assert tcp.slow_start_time(n, GBPS10, rtt, cwnd=20) == pytest.approx(expected, rel=1e-15)
    assert tcp.slow_start_delay(n, GBPS10, rtt, cwnd=20) == pytest.approx(
        2 * rtt - 60 * F / GBPS10, rel=1e-15
    )
    # a window holding the whole message: no penalty at all
    assert tcp.slow_start_time(n, GBPS10, rtt, cwnd=100) == tcp.wire_bytes(n) / GBPS10
    assert tcp.slow_start_delay(n, GBPS10, rtt, cwnd=100) == 0.0
    assert slow_start_rounds(100, 20, F, GBPS10, rtt) == 2


def test_transfer_time_takes_the_starting_window():
    tcp = make_transport("tcp")
    n, latency = 100 * 1460, 5e-3
    cold = tcp.transfer_time(n, GBPS10, latency, new_connection=True)
    warm = tcp.transfer_time(n, GBPS10, latency, cwnd=110)
    assert cold == pytest.approx(0.01 + 10e-6 + 3 * 0.01 + 30 * F / GBPS10 + latency, rel=1e-14)
    assert warm == pytest.approx(10e-6 + tcp.wire_bytes(n) / GBPS10 + latency, rel=1e-14)
