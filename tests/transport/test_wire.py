"""Exact wire sizes of every transport profile, computed by hand from the header constants.

Expected values are written out from the protocol constants below (never by calling the
code under test), with the frame count derived in a comment or an assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.transport import (
    TRANSPORTS,
    MessageTooLargeError,
    base64_size,
    json_size,
    json_size_estimate,
    make_transport,
)

# ---- header constants, bytes (IEEE 802.3, RFC 791, RFC 9293, RFC 768, IBTA Annex A17)
L1 = 7 + 1 + 12  # preamble + SFD + inter-frame gap
L2 = 14 + 4  # Ethernet header + FCS
MIN_IP = 64 - L2  # an IP packet shorter than this is padded (64-byte minimum frame)
IP = 20
TCP = 20
TS = 12
UDP = 8
BTH, ICRC, RETH = 12, 4, 16
GIB = 2**30

TCP_FRAME = L1 + L2 + IP + TCP  # 78 bytes per frame beyond the payload
UDP_FRAME = L1 + L2 + IP + UDP  # 66
ROCE_FRAME = L1 + L2 + IP + UDP + BTH + ICRC  # 82
MSS = 1500 - IP - TCP  # 1460

# ---- HTTP/2 and gRPC (RFC 9113, gRPC PROTOCOL-HTTP2)
H2 = 9  # frame header
PREFIX = 5  # gRPC message prefix
HEADERS = H2 + 32  # request HEADERS frame of the grpc profile
MAX_FRAME = 16384

# ---- HTTP/1.1 request head of the rest profile, line by line (\r\n = 2)
HEAD_FIXED = (
    27  # "POST /v1/tensors HTTP/1.1"
    + 21  # "Host: worker-0:8080"
    + 36  # "User-Agent: python-requests/2.31.0"
    + 32  # "Accept-Encoding: gzip, deflate"
    + 13  # "Accept: */*"
    + 24  # "Connection: keep-alive"
    + (14 + 2)  # "Content-Type: " + type
    + (16 + 2)  # "Content-Length: " + digits
    + 2  # blank line
)
TYPE = {
    "json": 16,
    "binary": 24,
    "base64": 10,
}  # application/json, application/octet-stream, text/plain


def test_constants_add_up():
    assert (TCP_FRAME, UDP_FRAME, ROCE_FRAME, MSS, HEAD_FIXED) == (78, 66, 82, 1460, 189)


# --------------------------------------------------------------------- ideal
@pytest.mark.parametrize("n", [0, 1, 1499, 1500, 1501, GIB])
def test_ideal_is_the_payload(n):
    ideal = make_transport("ideal")
    assert ideal.wire_bytes(n) == n
    assert ideal.frames(n) == 1
    assert ideal.goodput_fraction() == 1.0


def test_ideal_with_an_mtu_frames_without_overhead():
    ideal = make_transport("ideal", mtu=1500)
    assert ideal.frames(1501) == 2
    assert ideal.wire_bytes(1501) == 1501


# ----------------------------------------------------------------------- TCP
TCP_CASES = {
    0: MIN_IP + L2 + L1,  # header-only segment, 40-byte IP packet padded to 46 -> 84
    1: MIN_IP + L2 + L1,  # 41-byte IP packet, padded
    6: MIN_IP + L2 + L1,  # 46-byte IP packet: no padding, same size
    7: 7 + TCP_FRAME,  # 85
    1459: 1459 + TCP_FRAME,
    1460: 1460 + TCP_FRAME,  # one full frame: 1538
    1461: 1461 + 2 * TCP_FRAME + (MIN_IP - (IP + TCP + 1)),  # 1-byte second segment padded by 5
    1499: 1499 + 2 * TCP_FRAME,  # MTU - 1: 1460 + 39
    1500: 1500 + 2 * TCP_FRAME,
    1501: 1501 + 2 * TCP_FRAME,
    GIB: GIB + 735440 * TCP_FRAME,  # 735439 * 1460 < 2^30 <= 735440 * 1460; last 884 bytes
}


def test_gib_frame_counts_by_hand():
    assert 735439 * 1460 < GIB <= 735440 * 1460 and GIB - 735439 * 1460 == 884
    assert 741534 * 1448 < GIB <= 741535 * 1448
    assert 729444 * 1472 < GIB <= 729445 * 1472
    assert GIB % 1024 == 0 and GIB % 4096 == 0


@pytest.mark.parametrize(("n", "expected"), TCP_CASES.items())
def test_tcp_wire_bytes(n, expected):
    assert make_transport("tcp").wire_bytes(n) == expected


def test_tcp_exact_values_spelled_out():
    tcp = make_transport("tcp")
    assert [tcp.wire_bytes(n) for n in (0, 1460, 1461, GIB)] == [84, 1538, 1622, 1131106144]
    assert [tcp.frames(n) for n in (0, 1, 1460, 1461, GIB)] == [1, 1, 1, 2, 735440]


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, IP + TCP + TS + L2 + L1),  # 52-byte IP packet: no padding -> 90
        (1448, 1448 + TCP_FRAME + TS),  # one full frame: 1538
        (1449, 1449 + 2 * (TCP_FRAME + TS)),
        (1500, 1500 + 2 * (TCP_FRAME + TS)),
        (GIB, GIB + 741535 * (TCP_FRAME + TS)),
    ],
)
def test_tcp_timestamps_wire_bytes(n, expected):
    tcp = make_transport("tcp", timestamps=True)
    assert tcp.max_payload == 1448
    assert tcp.wire_bytes(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, MIN_IP + L2 + L1),
        (8959, 8959 + TCP_FRAME),
        (8960, 8960 + TCP_FRAME),  # 9038
        (8961, 8961 + 2 * TCP_FRAME + (MIN_IP - (IP + TCP + 1))),
        (8999, 8999 + 2 * TCP_FRAME),  # MTU - 1
        (9000, 9000 + 2 * TCP_FRAME),
        (9001, 9001 + 2 * TCP_FRAME),
        (GIB, GIB + math.ceil(GIB / 8960) * TCP_FRAME),
    ],
)
def test_tcp_jumbo_wire_bytes(n, expected):
    assert make_transport("tcp", mtu=9000).wire_bytes(n) == expected


# ----------------------------------------------------------------------- UDP
@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, MIN_IP + L2 + L1),  # empty datagram: 28-byte IP packet padded to 46 -> 84
        (1, MIN_IP + L2 + L1),
        (1471, 1471 + UDP_FRAME),
        (1472, 1472 + UDP_FRAME),  # 1538
        (1473, 1473 + 2 * UDP_FRAME + (MIN_IP - (IP + UDP + 1))),  # 1-byte datagram padded
        (1499, 1499 + 2 * UDP_FRAME),  # 1472 + 27 (55-byte IP packet)
        (1500, 1500 + 2 * UDP_FRAME),
        (1501, 1501 + 2 * UDP_FRAME),
        (GIB, GIB + 729445 * UDP_FRAME),
    ],
)
def test_udp_wire_bytes(n, expected):
    assert make_transport("udp").wire_bytes(n) == expected


# -------------------------------------------------------------------- RoCEv2
@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, ROCE_FRAME + RETH),  # 0-length WRITE: one packet with RETH (60-byte IP packet)
        (1, 1 + 3 + ROCE_FRAME + RETH),  # payload padded to 4
        (1023, 1023 + 1 + ROCE_FRAME + RETH),
        (1024, 1024 + ROCE_FRAME + RETH),  # path MTU: one full packet
        (1025, 1025 + 3 + 2 * ROCE_FRAME + RETH),  # RETH once; last payload 1 -> 4
        (1499, 1499 + 1 + 2 * ROCE_FRAME + RETH),  # IP MTU - 1: 1024 + 475 (-> 476)
        (1500, 1500 + 2 * ROCE_FRAME + RETH),  # 1024 + 476
        (1501, 1501 + 3 + 2 * ROCE_FRAME + RETH),  # 1024 + 477 (-> 480)
        (GIB, GIB + (GIB // 1024) * ROCE_FRAME + RETH),  # 2^20 packets, one RETH
    ],
)
def test_rocev2_wire_bytes(n, expected):
    roce = make_transport("rocev2")
    assert roce.max_payload == 1024
    assert roce.wire_bytes(n) == expected


def test_rocev2_reth_only_on_the_first_packet():
    roce = make_transport("rocev2")
    for k in range(1, 6):
        assert roce.frames(1024 * k) == k
        assert roce.wire_bytes(1024 * k) == k * (1024 + ROCE_FRAME) + RETH
    # each extra packet costs its payload and the per-packet headers, never another RETH
    assert roce.wire_bytes(2048) - roce.wire_bytes(1024) == 1024 + ROCE_FRAME


@pytest.mark.parametrize(
    ("mtu", "path"), [(1500, 1024), (2200, 2048), (4155, 2048), (4156, 4096), (9000, 4096)]
)
def test_rocev2_path_mtu_follows_the_ip_mtu(mtu, path):
    # the first packet must fit: path + IP 20 + UDP 8 + BTH 12 + RETH 16 + ICRC 4 <= mtu
    assert make_transport("rocev2", mtu=mtu).max_payload == path


def test_rocev2_jumbo_and_explicit_path_mtu():
    assert (
        make_transport("rocev2", mtu=9000).wire_bytes(GIB)
        == GIB + (GIB // 4096) * ROCE_FRAME + RETH
    )
    roce = make_transport("rocev2", mtu=9000, path_mtu=1024)
    assert roce.wire_bytes(GIB) == GIB + (GIB // 1024) * ROCE_FRAME + RETH


# ---------------------------------------------------------------------- gRPC
def grpc_stream(m: int) -> int:
    """One call by hand: HEADERS + prefix + message + 9 per DATA frame of <= 16384."""
    return HEADERS + PREFIX + m + H2 * max(1, math.ceil((PREFIX + m) / MAX_FRAME))


@pytest.mark.parametrize(
    ("n", "stream"),
    [
        (0, HEADERS + PREFIX + H2),  # 55: an empty message still has a prefix and a DATA frame
        (1, HEADERS + PREFIX + 1 + H2),
        (16379, HEADERS + 16384 + H2),  # prefix + message = 16384: one DATA frame
        (16380, HEADERS + 16385 + 2 * H2),  # 16385: two DATA frames
        (16383, HEADERS + 16388 + 2 * H2),  # 16 KiB - 1
        (16384, HEADERS + 16389 + 2 * H2),  # 16 KiB
        (16385, HEADERS + 16390 + 2 * H2),  # 16 KiB + 1
        (4 * 2**20, HEADERS + 4194309 + 257 * H2),  # 4 MiB: 257 DATA frames, one call
    ],
)
def test_grpc_stream_bytes(n, stream):
    assert make_transport("grpc").stream_bytes(n) == stream


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, 55 + TCP_FRAME),
        (1, 56 + TCP_FRAME),
        (1499, 1554 + 2 * TCP_FRAME),  # 41 + 5 + 1499 + 9 = 1554 bytes: two segments
        (1500, 1555 + 2 * TCP_FRAME),
        (1501, 1556 + 2 * TCP_FRAME),
        (16384, 16448 + 12 * TCP_FRAME),  # 11 * 1460 < 16448 <= 12 * 1460
        # 2^30 = 256 calls of 4 MiB, one TCP stream of 256 * 4196663 bytes
        (GIB, 256 * 4196663 + 735854 * TCP_FRAME),
    ],
)
def test_grpc_wire_bytes(n, expected):
    assert 11 * 1460 < 16448 <= 12 * 1460
    assert 735853 * 1460 < 256 * 4196663 <= 735854 * 1460
    assert make_transport("grpc").wire_bytes(n) == expected


def test_grpc_above_max_message_splits_into_calls():
    grpc = make_transport("grpc")
    four = 4 * 2**20
    full = HEADERS + PREFIX + four + 257 * H2  # 4196663
    assert grpc.messages(four) == 1
    assert grpc.messages(four + 1) == 2
    assert grpc.stream_bytes(four + 1) == full + grpc_stream(1)
    assert grpc.stream_bytes(10 * 2**20) == 2 * full + grpc_stream(2 * 2**20)
    assert grpc.message_latency(four + 1) == pytest.approx(2 * 50e-6, rel=1e-15)


def test_grpc_oversize_error():
    grpc = make_transport("grpc", oversize="error")
    assert grpc.wire_bytes(4 * 2**20) == make_transport("grpc").wire_bytes(4 * 2**20)
    with pytest.raises(MessageTooLargeError, match=r"^network\.grpc\.max_message: a 4194305-byte"):
        grpc.wire_bytes(4 * 2**20 + 1)
    with pytest.raises(ScenarioError):  # a MessageTooLargeError is a ScenarioError
        grpc.message_latency(5 * 2**20)


def test_grpc_unlimited_and_larger_frames():
    grpc = make_transport("grpc", max_message="unlimited")
    assert grpc.messages(GIB) == 1
    assert grpc.stream_bytes(GIB) == HEADERS + PREFIX + GIB + H2 * math.ceil(
        (GIB + PREFIX) / MAX_FRAME
    )
    big = make_transport("grpc", max_frame="1MiB", max_message="64MiB")
    assert big.stream_bytes(2**20) == HEADERS + PREFIX + 2**20 + 2 * H2


# ---------------------------------------------------------------------- REST
def test_rest_json_estimate_by_hand():
    rest = make_transport("rest")  # json, 4-byte values, 22 characters per number
    # 0 bytes: body "[]" (2), head 205 + 1 digit
    assert rest.body_bytes(0) == 2
    assert rest.wire_bytes(0) == HEAD_FIXED + TYPE["json"] + 1 + 2 + TCP_FRAME
    # 1 byte: one number: "[" + 22 + "]" = 24
    assert rest.wire_bytes(1) == HEAD_FIXED + TYPE["json"] + 2 + 24 + TCP_FRAME
    # 1000 float32 (4000 bytes): 2 + 1000 * 22 + 999 commas = 23001; head 205 + 5 = 210
    stream = 23001 + HEAD_FIXED + TYPE["json"] + 5
    assert stream == 23211 and 15 * 1460 < stream <= 16 * 1460
    assert rest.body_bytes(4000) == 23001
    assert rest.wire_bytes(4000) == stream + 16 * TCP_FRAME


def test_rest_json_exact_on_arrays():
    rest = make_transport("rest")
    values = np.array([0.5, -1.25, 3.0], dtype=np.float32)
    assert json_size(values) == len("[0.5,-1.25,3.0]") == 15
    # float32 0.1 widens to 0.10000000149011612 (19 characters)
    assert json_size(np.float32([0.1])) == 2 + 19
    assert json_size(np.zeros((2, 2), dtype=np.int64)) == len("[[0,0],[0,0]]")
    body = 2 + 19
    assert (
        rest.wire_bytes(4, payload=np.float32([0.1]))
        == HEAD_FIXED + TYPE["json"] + 2 + body + TCP_FRAME
    )
    # the payload decides the body whatever nbytes says
    assert rest.body_bytes(123, payload=values) == 15


def test_rest_base64_and_binary():
    b64 = make_transport("rest", encoding="base64")
    assert [base64_size(n) for n in (0, 1, 2, 3, 4, 4000)] == [0, 4, 4, 4, 8, 5336]
    stream = 5336 + HEAD_FIXED + TYPE["base64"] + 4  # 5539
    assert 3 * 1460 < stream <= 4 * 1460
    assert b64.wire_bytes(4000) == stream + 4 * TCP_FRAME
    binary = make_transport("rest", encoding="binary")
    stream = 4000 + HEAD_FIXED + TYPE["binary"] + 4  # 4217
    assert 2 * 1460 < stream <= 3 * 1460
    assert binary.wire_bytes(4000) == stream + 3 * TCP_FRAME
    assert binary.wire_bytes(0) == HEAD_FIXED + TYPE["binary"] + 1 + TCP_FRAME


def test_rest_fixed_head_override():
    rest = make_transport("rest", encoding="binary", headers_bytes=100)
    assert rest.stream_bytes(12345) == 100 + 5 + 12345
    assert (
        make_transport(rest, headers_bytes="auto").stream_bytes(12345)
        == HEAD_FIXED + 24 + 5 + 12345
    )


def test_json_size_rejects_non_numbers():
    with pytest.raises(TypeError, match="numbers"):
        json_size(np.array(["a"]))
    assert json_size_estimate(1, 22) == 24


# ---------------------------------------------------------------- goodput
@pytest.mark.parametrize(
    ("name", "overrides", "expected"),
    [
        ("ideal", {}, 1.0),
        ("tcp", {}, 1460 / 1538),
        ("tcp", {"timestamps": True}, 1448 / 1538),
        ("tcp", {"mtu": 9000}, 8960 / 9038),
        ("udp", {}, 1472 / 1538),
        ("rocev2", {}, 1024 / 1106),
        ("rocev2", {"mtu": 9000}, 4096 / 4178),
        ("grpc", {"max_message": "unlimited"}, (16384 / 16393) * (1460 / 1538)),
        ("grpc", {}, (4194304 / 4196663) * (1460 / 1538)),
        ("rest", {"encoding": "binary"}, 1460 / 1538),
        ("rest", {"encoding": "base64"}, 0.75 * 1460 / 1538),
        ("rest", {}, (4 / 23) * 1460 / 1538),
    ],
)
def test_goodput_fraction(name, overrides, expected):
    profile = make_transport(name, **overrides)
    assert profile.goodput_fraction() == pytest.approx(expected, rel=1e-15)
    n = 2**36
    assert n / profile.wire_bytes(n) == pytest.approx(expected, rel=1e-5)


def test_goodput_headline_numbers():
    assert make_transport("tcp").goodput_fraction() == 1460 / 1538
    assert round(make_transport("tcp").goodput_fraction(), 4) == 0.9493
    assert make_transport("tcp", mtu=9000).goodput_fraction() > 0.99


# ------------------------------------------------------------- properties
SIZES = st.integers(min_value=0, max_value=3 * 2**22 + 17)


@pytest.mark.parametrize("name", list(TRANSPORTS))
@settings(max_examples=60, deadline=None)
@given(a=SIZES, b=SIZES)
def test_wire_bytes_is_monotone_and_covers_the_payload(name, a, b):
    profile = TRANSPORTS[name]
    lo, hi = min(a, b), max(a, b)
    assert profile.wire_bytes(lo) <= profile.wire_bytes(hi)
    assert profile.frames(lo) <= profile.frames(hi)
    wire, frames = profile.wire_bytes(hi), profile.frames(hi)
    assert wire >= profile.stream_bytes(hi) + frames * profile.frame_overhead >= hi
    if profile.max_payload is not None:
        assert (frames - 1) * profile.max_payload < max(profile.stream_bytes(hi), 1)
        assert frames * profile.max_payload >= profile.stream_bytes(hi)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=0, max_value=10**7), frac=st.floats(min_value=0.01, max_value=0.99))
def test_fractional_sizes_round_up(n, frac):
    tcp = TRANSPORTS["tcp"]
    assert tcp.wire_bytes(n + frac) == tcp.wire_bytes(n + 1)
    assert tcp.wire_bytes(float(n)) == tcp.wire_bytes(n) == tcp.wire_bytes(np.int64(n))


@pytest.mark.parametrize("bad", [-1, -0.5, math.inf, math.nan, "12", None, True])
def test_bad_sizes_are_value_errors(bad):
    with pytest.raises(ValueError, match="nbytes"):
        TRANSPORTS["tcp"].wire_bytes(bad)
