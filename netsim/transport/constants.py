"""Header sizes and protocol constants of the transport profiles, with their sources.

Every number here is a byte count (or a count of segments, or seconds, as named) and
each is used by :mod:`netsim.transport.profile` to compute exact wire sizes.

Ethernet (IEEE 802.3)
    ``ETH_PREAMBLE_IFG`` = preamble 7 + start-of-frame delimiter 1 + minimum inter-frame
    gap 12 = 20 bytes of line time per frame; ``ETH_HEADER_FCS`` = destination 6 + source
    6 + EtherType 2 + frame check sequence 4 = 18; ``ETH_MIN_FRAME`` = 64 (header through
    FCS; shorter frames are padded, so an IP packet shorter than 46 bytes is padded to 46).
IPv4 (RFC 791)
    ``IPV4_HEADER`` = 20 (no options). IPv6 (RFC 8200) would be 40.
TCP (RFC 9293, formerly RFC 793; RFC 7323 for timestamps)
    ``TCP_HEADER`` = 20 (no options); ``TCP_TIMESTAMPS`` = 12 more bytes per segment with
    the timestamps option (10 bytes padded to 12 with two NOPs, as Linux sends it).
    ``TCP_INITIAL_WINDOW`` = 10 segments (RFC 6928; Linux ``TCP_INIT_CWND``);
    ``TCP_MIN_RTO`` = 0.2 s (Linux ``TCP_RTO_MIN``).
UDP (RFC 768)
    ``UDP_HEADER`` = 8.
RoCEv2 (InfiniBand Architecture Specification, Annex A17 "RoCEv2")
    Ethernet + IPv4 + UDP (port 4791) + Base Transport Header ``IB_BTH`` = 12 + invariant
    CRC ``IB_ICRC`` = 4 on every packet; RDMA Extended Transport Header ``IB_RETH`` = 16
    on the first packet of an RDMA WRITE; payloads padded to a multiple of
    ``IB_PAYLOAD_ALIGN`` = 4 (BTH PadCnt). The path MTU (payload per packet) is one of
    ``IB_MTUS``. ``IB_MIN_RTO`` = 4.096 µs × 2^14 ≈ 67.1 ms: the local ACK timeout for the
    timeout exponent 14 used by the verbs examples (``ibv_rc_pingpong``).
HTTP/2 (RFC 9113) and gRPC ("gRPC over HTTP2", PROTOCOL-HTTP2.md in grpc/grpc)
    ``HTTP2_FRAME_HEADER`` = 9 bytes per frame; DATA frames carry at most
    ``HTTP2_MAX_FRAME`` = 16384 bytes (``SETTINGS_MAX_FRAME_SIZE`` initial value; the
    setting may be raised up to ``HTTP2_MAX_FRAME_LIMIT`` = 2^24 − 1);
    ``HTTP2_INITIAL_WINDOW`` = 65535 (flow-control window). Every gRPC message is
    prefixed by ``GRPC_PREFIX`` = 5 bytes (compressed flag 1 + length 4); the default
    maximum received message is ``GRPC_MAX_MESSAGE`` = 4 MiB.
    ``GRPC_HEADERS`` = 41: one request HEADERS frame, 9-byte frame header + a 32-byte
    HPACK block, the steady-state size on a warm connection where ``:method``,
    ``:scheme``, ``:path``, ``:authority``, ``content-type``, ``te``, ``user-agent`` and
    ``grpc-accept-encoding`` are indexed (1 byte each) and ``grpc-timeout`` and a few
    per-call fields are literals. (The first call on a connection sends them as literals,
    about 200 bytes; not modelled.) ``GRPC_RESPONSE`` = 48: response HEADERS (9 + 8),
    one empty response message in a DATA frame (9 + 5) and trailers HEADERS with
    ``grpc-status: 0`` (9 + 8).
HTTP/1.1 (RFC 9112)
    ``HTTP_REQUEST_TEMPLATE`` and ``HTTP_RESPONSE`` below are the exact texts whose lengths
    the ``rest`` profile charges: a ``python-requests``-style POST with keep-alive and a
    ``204 No Content`` reply.
"""

from __future__ import annotations

__all__ = [
    "ETH_PREAMBLE_IFG",
    "ETH_HEADER_FCS",
    "ETH_MIN_FRAME",
    "IPV4_HEADER",
    "TCP_HEADER",
    "TCP_TIMESTAMPS",
    "TCP_INITIAL_WINDOW",
    "TCP_MIN_RTO",
    "UDP_HEADER",
    "IB_BTH",
    "IB_ICRC",
    "IB_RETH",
    "IB_PAYLOAD_ALIGN",
    "IB_MTUS",
    "IB_MIN_RTO",
    "HTTP2_FRAME_HEADER",
    "HTTP2_MAX_FRAME",
    "HTTP2_MAX_FRAME_LIMIT",
    "HTTP2_INITIAL_WINDOW",
    "GRPC_PREFIX",
    "GRPC_MAX_MESSAGE",
    "GRPC_HEADERS",
    "GRPC_RESPONSE",
    "HTTP_REQUEST_TEMPLATE",
    "HTTP_CONTENT_TYPES",
    "HTTP_RESPONSE",
    "ENCODINGS",
    "CODEC_RATES",
    "JSON_CHARS",
    "L4_HEADER",
]

ETH_PREAMBLE_IFG = 20
ETH_HEADER_FCS = 18
ETH_MIN_FRAME = 64
IPV4_HEADER = 20
TCP_HEADER = 20
TCP_TIMESTAMPS = 12
TCP_INITIAL_WINDOW = 10
TCP_MIN_RTO = 0.2
UDP_HEADER = 8
IB_BTH = 12
IB_ICRC = 4
IB_RETH = 16
IB_PAYLOAD_ALIGN = 4
IB_MTUS = (256, 512, 1024, 2048, 4096)
IB_MIN_RTO = 4.096e-6 * 2**14

HTTP2_FRAME_HEADER = 9
HTTP2_MAX_FRAME = 16384
HTTP2_MAX_FRAME_LIMIT = 2**24 - 1
HTTP2_INITIAL_WINDOW = 65535
GRPC_PREFIX = 5
GRPC_MAX_MESSAGE = 4 * 1024 * 1024
GRPC_HEADERS = HTTP2_FRAME_HEADER + 32
GRPC_RESPONSE = (
    (HTTP2_FRAME_HEADER + 8) + (HTTP2_FRAME_HEADER + GRPC_PREFIX) + (HTTP2_FRAME_HEADER + 8)
)

#: Request head of one ``rest`` message; ``{type}`` and ``{length}`` are filled per message.
HTTP_REQUEST_TEMPLATE = (
    "POST /v1/tensors HTTP/1.1\r\n"
    "Host: worker-0:8080\r\n"
    "User-Agent: python-requests/2.31.0\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Accept: */*\r\n"
    "Connection: keep-alive\r\n"
    "Content-Type: {type}\r\n"
    "Content-Length: {length}\r\n"
    "\r\n"
)
#: ``Content-Type`` of each ``rest`` payload encoding.
HTTP_CONTENT_TYPES = {
    "binary": "application/octet-stream",
    "base64": "text/plain",
    "json": "application/json",
}
#: The reply to every ``rest`` message (sent the other way).
HTTP_RESPONSE = (
    "HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: uvicorn\r\n\r\n"
)

#: Payload encodings of the ``rest`` profile.
ENCODINGS = ("binary", "base64", "json")
#: Default (encode, decode) rates per encoding, bytes of encoded text per second, one core:
#: ``binary`` is a copy (not charged); ``base64`` and ``json`` are round figures of CPython
#: 3.11 ``base64.b64encode``/``b64decode`` (~0.8 / ~0.4 GB/s) and ``json.dumps``/``loads`` of
#: a list of floats (~10–50 / ~50–100 MB/s) measured on one core.
CODEC_RATES = {
    "binary": (float("inf"), float("inf")),
    "base64": (800e6, 400e6),
    "json": (40e6, 80e6),
}
#: Default characters per number in a JSON body (separator excluded): the mean length of
#: ``repr(float(x))`` for float32 gradients of scale 1e-3–1e-2 widened to float64, as
#: ``ndarray.tolist()`` does (measured 21.6–22.5; 19.6 at scale 1).
JSON_CHARS = 22

#: Transport-layer header bytes inside the IP packet, per protocol (RoCEv2: UDP + BTH).
L4_HEADER = {"none": 0, "tcp": TCP_HEADER, "udp": UDP_HEADER, "rocev2": UDP_HEADER + IB_BTH}
