"""The registry, make_transport's overrides and every ScenarioError path."""

from __future__ import annotations

import dataclasses
import doctest
import math

import pytest

from netsim.exceptions import ScenarioError
from netsim.transport import (
    ALIASES,
    DEFAULT_TRANSPORT,
    OPTIONS,
    TRANSPORTS,
    MessageTooLargeError,
    TransportProfile,
    constants,
    encoding,
    make_transport,
    profile,
    registry,
    slow_start,
    timing,
    transport_names,
)


def test_registry():
    assert transport_names() == ["ideal", "tcp", "udp", "rocev2", "grpc", "rest"]
    assert DEFAULT_TRANSPORT == "ideal"
    for name, prof in TRANSPORTS.items():
        assert prof.name == name
        assert prof.description and "\n" not in prof.description and len(prof.description) < 100
        assert make_transport(name) is prof
        family = prof.application if prof.application != "none" else prof.protocol
        assert family in OPTIONS
    for alias, name in ALIASES.items():
        assert make_transport(alias) is TRANSPORTS[name]


def test_profile_fields():
    tcp, udp, roce = TRANSPORTS["tcp"], TRANSPORTS["udp"], TRANSPORTS["rocev2"]
    assert (tcp.mtu, tcp.max_payload, tcp.frame_overhead, tcp.frame_bytes) == (1500, 1460, 78, 1538)
    assert (tcp.reliable, tcp.lossless, tcp.slow_start, tcp.initial_window) == (
        True,
        False,
        True,
        10,
    )
    assert (tcp.min_rto, tcp.congestion_control, tcp.handshake_rtts) == (0.2, "newreno", 1)
    assert (udp.max_payload, udp.reliable, udp.handshake_rtts) == (1472, False, 0)
    assert (roce.lossless, roce.slow_start, roce.congestion_control) == (True, False, "none")
    assert roce.min_rto == pytest.approx(4.096e-6 * 2**14)
    assert (roce.l4_header, roce.trailer, roce.first_frame_extra, roce.payload_align) == (
        20,
        4,
        16,
        4,
    )
    assert TRANSPORTS["grpc"].max_message == 4 * 2**20
    assert TRANSPORTS["grpc"].response_bytes == 17 + 14 + 17
    assert TRANSPORTS["rest"].response_bytes == len(constants.HTTP_RESPONSE) == 81
    assert TRANSPORTS["ideal"].max_payload is None


def test_profiles_are_frozen_and_hashable():
    tcp = TRANSPORTS["tcp"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tcp.mtu = 9000
    assert hash(tcp) == hash(make_transport("tcp", mtu=1500))
    assert make_transport("tcp", mtu=1500) == tcp


def test_overrides_are_parsed_with_units():
    tcp = make_transport("tcp", mtu="9KB", min_rto="1ms", software_latency="20us", window="4MiB")
    assert (tcp.mtu, tcp.min_rto, tcp.window) == (9000, 1e-3, 4 * 2**20)
    assert tcp.software_latency == pytest.approx(20e-6, rel=1e-15)
    assert make_transport("tcp", mtu=9000.0).mtu == 9000
    assert make_transport("tcp", initial_window=4.0).initial_window == 4
    assert make_transport("tcp", window="unlimited").window is None
    assert make_transport("grpc", max_message="unlimited").max_message is None
    assert make_transport("grpc", max_message="64MiB").max_message == 64 * 2**20
    assert make_transport("rocev2", path_mtu=512).max_payload == 512
    assert (
        make_transport(make_transport("rocev2", path_mtu=512), path_mtu="auto").max_payload == 1024
    )
    rest = make_transport("rest", encode_rate="2GB/s", decode_rate="unlimited")
    assert rest.codec_rates() == (2e9, math.inf)
    assert make_transport(rest, encode_rate="auto").codec_rates() == (40e6, math.inf)
    assert make_transport("tcp", ip_header=40).max_payload == 1440  # IPv6
    assert make_transport("tcp", l2_overhead=22).frame_bytes == 1542  # 802.1Q tag
    assert make_transport("tcp", congestion_control="none").congestion_control == "none"
    assert make_transport("rocev2", lossless=False).lossless is False


# ------------------------------------------------------------- error paths
@pytest.mark.parametrize(
    ("name", "match"),
    [
        (
            "tpc",
            r"^network\.transport: unknown transport 'tpc' \(did you mean 'tcp'\?\); accepted: ideal, tcp, udp, rocev2, grpc, rest",
        ),
        ("rocev3", r"did you mean 'rocev2'"),
        ("carrier-pigeon", r"unknown transport 'carrier-pigeon'; accepted: ideal, tcp"),
        (5, r"unknown transport 5"),
        (None, r"unknown transport None"),
    ],
)
def test_unknown_transport(name, match):
    with pytest.raises(ScenarioError, match=match):
        make_transport(name)


@pytest.mark.parametrize(
    ("name", "overrides", "match"),
    [
        # unknown and inapplicable options
        (
            "tcp",
            {"mtuu": 9000},
            r"^network\.mtuu: unknown transport option \(did you mean 'mtu'\?\); options of 'tcp': mtu, ",
        ),
        ("tcp", {"name": "x"}, r"^network\.name: not an option of transport 'tcp'"),
        ("tcp", {"encoding": "json"}, r"^network\.encoding: not an option of transport 'tcp'"),
        ("udp", {"timestamps": True}, r"^network\.timestamps: not an option of transport 'udp'"),
        ("udp", {"min_rto": "1ms"}, r"^network\.min_rto: not an option of transport 'udp'"),
        (
            "ideal",
            {"path_mtu": 1024},
            r"^network\.path_mtu: not an option of transport 'ideal'; options of 'ideal': mtu, software_latency",
        ),
        (
            "rocev2",
            {"initial_window": 4},
            r"^network\.initial_window: not an option of transport 'rocev2'",
        ),
        ("grpc", {"encoding": "json"}, r"^network\.encoding: not an option"),
        ("rest", {"max_message": 10}, r"^network\.max_message: not an option"),
        # sizes
        (
            "tcp",
            {"mtu": "abc"},
            r"^network\.mtu: cannot read 'abc' as a size; accepted forms: 25MiB",
        ),
        ("tcp", {"mtu": "9 parsecs"}, r"^network\.mtu: unknown unit 'parsecs'"),
        ("tcp", {"mtu": 1500.5}, r"^network\.mtu: expected a whole number, got 1500\.5"),
        ("tcp", {"mtu": -1500}, r"^network\.mtu: size must not be negative"),
        ("tcp", {"mtu": True}, r"^network\.mtu: expected a size, got the boolean True"),
        ("tcp", {"mtu": 67}, r"^network\.mtu: expected a whole number >= 68, got 67"),
        (
            "tcp",
            {"mtu": 70000},
            r"^network\.mtu: an IP MTU is 68\.\.65535 bytes \(1500 standard, 9000 jumbo\), got 70000",
        ),
        (
            "tcp",
            {"mtu": 68, "ip_header": 48},
            r"^network\.mtu: 68 leaves no payload after 68 header bytes",
        ),
        (
            "tcp",
            {"window": "big"},
            r"^network\.window: cannot read 'big' as a size; .*, or 'unlimited'$",
        ),
        ("tcp", {"window": 0}, r"^network\.window: expected a whole number >= 1, got 0"),
        (
            "tcp",
            {"ip_header": None},
            r"^network\.ip_header: expected a size \(number or string\), got NoneType",
        ),
        (
            "rocev2",
            {"path_mtu": 3000},
            r"^network\.path_mtu: 3000 is not an InfiniBand MTU; accepted: 256, 512, 1024, 2048, 4096",
        ),
        (
            "rocev2",
            {"path_mtu": 4096},
            r"^network\.path_mtu: 4096 needs an IP MTU of at least 4156 bytes, but network\.mtu = 1500",
        ),
        (
            "rocev2",
            {"mtu": 300},
            r"^network\.mtu: 300 leaves no room for the smallest RoCE path MTU 256 .*use at least 316",
        ),
        ("grpc", {"max_message": 0}, r"^network\.max_message: expected a whole number >= 1, got 0"),
        (
            "grpc",
            {"max_frame": 1000},
            r"^network\.max_frame: expected a whole number >= 16384, got 1000",
        ),
        (
            "grpc",
            {"max_frame": 2**24},
            r"^network\.max_frame: at most 2\^24 - 1 = 16777215 \(RFC 9113\), got 16777216",
        ),
        ("grpc", {"headers_bytes": -1}, r"^network\.headers_bytes: size must not be negative"),
        (
            "grpc",
            {"headers_bytes": "auto"},
            r"^network\.headers_bytes: gRPC needs the HEADERS frame size",
        ),
        ("rest", {"value_bytes": 0}, r"^network\.value_bytes: expected a whole number >= 1, got 0"),
        # counts
        (
            "tcp",
            {"initial_window": 0},
            r"^network\.initial_window: expected a whole number >= 1, got 0",
        ),
        (
            "tcp",
            {"initial_window": 2.5},
            r"^network\.initial_window: expected a whole number, got 2\.5",
        ),
        (
            "tcp",
            {"initial_window": "10"},
            r"^network\.initial_window: expected a whole number, got '10'",
        ),
        (
            "tcp",
            {"handshake_rtts": -1},
            r"^network\.handshake_rtts: expected a whole number >= 0, got -1",
        ),
        (
            "tcp",
            {"handshake_rtts": True},
            r"^network\.handshake_rtts: expected a whole number, got True",
        ),
        ("rest", {"json_chars": 0}, r"^network\.json_chars: expected a whole number >= 1, got 0"),
        # times
        (
            "tcp",
            {"min_rto": "fast"},
            r"^network\.min_rto: cannot read 'fast' as a time; accepted forms: 1\.5us",
        ),
        ("tcp", {"min_rto": "1 fortnight"}, r"^network\.min_rto: unknown unit 'fortnight'"),
        ("tcp", {"min_rto": -1}, r"^network\.min_rto: time must not be negative"),
        ("tcp", {"software_latency": math.inf}, r"^network\.software_latency: time must be finite"),
        # rates
        (
            "rest",
            {"encode_rate": 0},
            r"^network\.encode_rate: a rate must be > 0; accepted forms: 100Gbps",
        ),
        (
            "rest",
            {"decode_rate": "quick"},
            r"^network\.decode_rate: cannot read 'quick' as a bandwidth",
        ),
        # booleans
        ("tcp", {"timestamps": "yes"}, r"^network\.timestamps: expected true or false, got 'yes'"),
        ("tcp", {"slow_start": 1}, r"^network\.slow_start: expected true or false, got 1"),
        ("udp", {"lossless": None}, r"^network\.lossless: expected true or false, got None"),
        # choices
        (
            "rest",
            {"encoding": "jsn"},
            r"^network\.encoding: 'jsn' is not accepted \(did you mean 'json'\?\); accepted: binary, base64, json",
        ),
        (
            "rest",
            {"encoding": "yaml"},
            r"^network\.encoding: 'yaml' is not accepted; accepted: binary, base64, json",
        ),
        (
            "grpc",
            {"oversize": "truncate"},
            r"^network\.oversize: 'truncate' is not accepted; accepted: split, error",
        ),
        ("grpc", {"oversize": "splt"}, r"did you mean 'split'"),
        (
            "tcp",
            {"congestion_control": "cubic"},
            r"^network\.congestion_control: 'cubic' is not accepted; accepted: none, newreno",
        ),
        ("tcp", {"congestion_control": "newrno"}, r"did you mean 'newreno'"),
    ],
)
def test_bad_overrides(name, overrides, match):
    with pytest.raises(ScenarioError, match=match):
        make_transport(name, **overrides)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        (
            {"protocol": "sctp"},
            r"^network\.protocol: 'sctp' is not accepted; accepted: none, tcp, udp, rocev2",
        ),
        (
            {"application": "soap"},
            r"^network\.application: 'soap' is not accepted; accepted: none, grpc, http",
        ),
        (
            {"application": "grpc", "protocol": "udp", "mtu": 1500},
            r"^network\.application: 'grpc' runs over TCP, not 'udp'",
        ),
        (
            {"protocol": "udp", "mtu": 1500, "timestamps": True},
            r"^network\.timestamps: only TCP-based transports",
        ),
        (
            {"protocol": "udp", "mtu": 1500, "slow_start": True},
            r"^network\.slow_start: only TCP-based transports",
        ),
        (
            {"protocol": "tcp", "mtu": 1500, "path_mtu": 1024},
            r"^network\.path_mtu: only rocev2 has a path MTU",
        ),
        ({"protocol": "tcp"}, r"^network\.mtu: 'x' needs an IP MTU in bytes, e\.g\. 1500 or 9000"),
        (
            {"protocol": "tcp", "mtu": 1500, "application": "grpc", "headers_bytes": None},
            r"^network\.headers_bytes: gRPC needs",
        ),
        ({"reliable": "yes"}, r"^network\.reliable: expected true or false"),
        (
            {"software_latency": "1us"},
            r"^network\.software_latency: expected a finite time >= 0 s, got '1us'",
        ),
        ({"min_rto": True}, r"^network\.min_rto: expected a finite time"),
        ({"encode_rate": -1.0}, r"^network\.encode_rate: expected a rate > 0 bytes/s"),
        ({"l1_overhead": 2.0}, r"^network\.l1_overhead: expected a whole number >= 0, got 2\.0"),
    ],
)
def test_constructor_validation(fields, match):
    with pytest.raises(ScenarioError, match=match):
        TransportProfile(name="x", **fields)


def test_message_too_large_is_a_scenario_error():
    assert issubclass(MessageTooLargeError, ScenarioError)


@pytest.mark.parametrize("module", [constants, encoding, profile, registry, slow_start, timing])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_package_docstring_examples():
    import netsim.transport

    result = doctest.testmod(netsim.transport, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
