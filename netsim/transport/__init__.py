"""Transport protocol profiles: what a message costs on the wire and in time.

A profile (:class:`TransportProfile`, built by name with :func:`make_transport`) turns a
message of ``n`` payload bytes into exact wire bytes (every frame's headers, padding and
line overhead, plus application framing), a per-message software latency, a handshake on
a new connection and, for TCP, the slow-start time. It is pure data and arithmetic (no
SimPy): every network model applies the same rules.

========= ===================================================================================
name      profile
========= ===================================================================================
ideal     no overhead (the network models' behaviour without a transport)
tcp       TCP/IPv4 over Ethernet: 1460/1538 goodput, 1-RTT handshake, slow start (IW 10)
udp       UDP/IPv4 over Ethernet: 1472/1538 goodput, unreliable
rocev2    RDMA WRITE over RoCEv2: BTH + ICRC per packet, RETH on the first, lossless, go-back-N
grpc      gRPC over HTTP/2 over TCP: prefix, DATA frames, HEADERS per call, 4 MiB messages
rest      HTTP/1.1 POST per message over TCP: text head, JSON/base64/binary body
========= ===================================================================================

Examples
--------
>>> from netsim.transport import make_transport
>>> tcp = make_transport("tcp")
>>> tcp.wire_bytes(1_000_000), tcp.frames(1_000_000)
(1053430, 685)
>>> round(tcp.goodput_fraction(), 4)
0.9493
>>> make_transport("rocev2", mtu=9000).max_payload
4096

Modules: :mod:`~netsim.transport.constants` (header sizes and their sources),
:mod:`~netsim.transport.encoding` (base64/JSON/HTTP/gRPC byte counts),
:mod:`~netsim.transport.slow_start` (the slow-start model),
:mod:`~netsim.transport.loss` (expected cost of random frame loss),
:mod:`~netsim.transport.profile`, :mod:`~netsim.transport.timing`,
:mod:`~netsim.transport.validate`, :mod:`~netsim.transport.registry`,
:mod:`~netsim.transport.tables` (a profile from a scenario's ``[network]`` tables).
"""

from netsim.transport.encoding import base64_size, json_size, json_size_estimate
from netsim.transport.loss import mathis_rate, route_loss, transmissions_per_frame
from netsim.transport.profile import TransportProfile
from netsim.transport.registry import (
    ALIASES,
    DEFAULT_TRANSPORT,
    OPTIONS,
    TRANSPORTS,
    canonical_name,
    make_transport,
    transport_names,
)
from netsim.transport.tables import TABLES, transport_from_tables
from netsim.transport.validate import MessageTooLargeError, TransportOptionError

__all__ = [
    "TransportProfile",
    "TRANSPORTS",
    "ALIASES",
    "OPTIONS",
    "DEFAULT_TRANSPORT",
    "make_transport",
    "transport_names",
    "canonical_name",
    "transport_from_tables",
    "TABLES",
    "MessageTooLargeError",
    "TransportOptionError",
    "route_loss",
    "mathis_rate",
    "transmissions_per_frame",
    "base64_size",
    "json_size",
    "json_size_estimate",
]
