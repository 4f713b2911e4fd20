"""gRPC and REST over the packet model's TCP: framing, responses, one request at a time."""

import pytest

from tests.network.packet.helpers import build, line, make_transport, run_transfers

B = 1.25e9
L = 1e-3


def test_rest_sends_one_request_per_connection_at_a_time():
    rest = make_transport("rest", encoding="binary")
    env, net = build(line([B], [L]), rest)
    first, second = run_transfers(env, net, [("h0", "h1", 1000), ("h0", "h1", 1000)])
    # The second request leaves after the first's response is back (one latency each
    # way after delivery) and its own software time.
    assert second - first >= L + rest.software_latency + L
    assert net.control_bytes >= 2 * (rest.response_bytes + 54)  # two responses (+ ACKs)


def test_grpc_multiplexes_calls_on_one_connection():
    grpc = make_transport("grpc")
    env, net = build(line([B], [L]), grpc)
    first, second = run_transfers(env, net, [("h0", "h1", 1000), ("h0", "h1", 1000)])
    assert second - first < L / 10


@pytest.mark.parametrize("name", ["grpc", "rest"])
def test_wire_bytes_are_the_profiles(name):
    tp = make_transport(name)
    env, net = build(line([B], [L]), tp)
    run_transfers(env, net, [("h0", "h1", 50_000)])
    assert net.offered_bytes == tp.wire_bytes(50_000)
    assert net.bytes_delivered == tp.wire_bytes(50_000)
    assert net.packet_stats()["frames_sent"] == tp.frames(50_000)


def test_first_message_pays_the_handshake_once():
    tcp = make_transport("tcp")
    env, net = build(line([B], [L]), tcp)
    a = net.transfer("h0", "h1", 100)
    env.run(a)
    first = env.now
    start = env.now
    b = net.transfer("h0", "h1", 100)
    env.run(b)
    assert first > 3 * L  # handshake round trip + one way
    assert env.now - start < 1.1 * L + tcp.software_latency


def test_rest_without_responses_frees_the_connection_at_delivery():
    rest = make_transport("rest", encoding="binary", response_bytes=0)
    env, net = build(line([B], [L]), rest)
    first, second = run_transfers(env, net, [("h0", "h1", 1000), ("h0", "h1", 1000)])
    assert second - first == pytest.approx(rest.software_latency + L + 1000 / B, rel=0.01)
