"""The transport profiles by name, and :func:`make_transport` for scenario values.

========= ===================================================================================
name      profile
========= ===================================================================================
ideal     no overhead: payload bytes only, no software latency, handshake or slow start
tcp       TCP/IPv4 over Ethernet, MTU 1500 (MSS 1460): 78 wire bytes per frame, 1-RTT
          handshake, slow start from 10 segments, NewReno, min RTO 200 ms
udp       UDP/IPv4 over Ethernet: 66 wire bytes per datagram of up to 1472 bytes, unreliable
rocev2    RDMA WRITE over RoCEv2 (RC): Ethernet + IPv4 + UDP + BTH + ICRC per packet, RETH on
          the first, path MTU 1024 (4096 with jumbo frames), lossless fabric (PFC)
grpc      gRPC over HTTP/2 over TCP: HEADERS frame + 5-byte prefix per call, 9 bytes per
          16 KiB DATA frame, 4 MiB messages (larger ones split), 50 µs per call
rest      one HTTP/1.1 POST per message over a TCP keep-alive connection: ~200-byte text
          head, JSON body (or base64 / binary), encoder and decoder time, 100 µs per request
========= ===================================================================================

Aliases: ``roce`` and ``rdma`` for ``rocev2``, ``http`` for ``rest``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math

from netsim.exceptions import ScenarioError
from netsim.transport.constants import (
    ENCODINGS,
    ETH_HEADER_FCS,
    ETH_MIN_FRAME,
    ETH_PREAMBLE_IFG,
    GRPC_HEADERS,
    GRPC_MAX_MESSAGE,
    GRPC_RESPONSE,
    HTTP_RESPONSE,
    IB_MIN_RTO,
    IPV4_HEADER,
    TCP_INITIAL_WINDOW,
    TCP_MIN_RTO,
)
from netsim.transport.profile import TransportProfile
from netsim.transport.validate import (
    CONGESTION_CONTROLS,
    OVERSIZE,
    RETRANSMISSIONS,
    TransportOptionError,
)
from netsim.units import BANDWIDTH_FORMS, parse_bandwidth, parse_size, parse_time

__all__ = [
    "TRANSPORTS",
    "ALIASES",
    "OPTIONS",
    "DEFAULT_TRANSPORT",
    "make_transport",
    "transport_names",
    "parse_option",
    "canonical_name",
]

_ETHERNET = {
    "mtu": 1500,
    "l1_overhead": ETH_PREAMBLE_IFG,
    "l2_overhead": ETH_HEADER_FCS,
    "min_frame": ETH_MIN_FRAME,
    "ip_header": IPV4_HEADER,
}
_TCP = _ETHERNET | {
    "protocol": "tcp",
    "handshake_rtts": 1,
    "reliable": True,
    "lossless": False,
    "congestion_control": "newreno",
    "slow_start": True,
    "initial_window": TCP_INITIAL_WINDOW,
    "min_rto": TCP_MIN_RTO,
}


def _profile(name: str, description: str, **fields: object) -> tuple[str, TransportProfile]:
    return name, TransportProfile(name=name, description=description, **fields)


#: Every registered profile with its defaults, by name (``profile.description`` is one line).
TRANSPORTS: dict[str, TransportProfile] = dict(
    [
        _profile(
            "ideal", "no overhead: payload bytes only, no software latency, handshake or slow start"
        ),
        _profile(
            "tcp",
            "TCP/IPv4 over Ethernet (MSS 1460): 78 B per frame, 1-RTT handshake, slow start, NewReno",
            **_TCP,
            software_latency=10e-6,
        ),
        _profile(
            "udp",
            "UDP/IPv4 over Ethernet: 66 B per datagram of up to 1472 B, no handshake, unreliable",
            **_ETHERNET,
            protocol="udp",
            reliable=False,
            lossless=False,
            software_latency=5e-6,
        ),
        _profile(
            "rocev2",
            "RDMA WRITE over RoCEv2: Eth+IPv4+UDP+BTH+ICRC per packet, RETH on the first, lossless, go-back-N",
            **_ETHERNET,
            protocol="rocev2",
            reliable=True,
            lossless=True,
            retransmission="go_back_n",
            min_rto=IB_MIN_RTO,
            software_latency=1e-6,
        ),
        _profile(
            "grpc",
            "gRPC over HTTP/2 over TCP: 5 B prefix, 9 B per 16 KiB DATA frame, HEADERS per call",
            **_TCP,
            application="grpc",
            headers_bytes=GRPC_HEADERS,
            max_message=GRPC_MAX_MESSAGE,
            response_bytes=GRPC_RESPONSE,
            software_latency=50e-6,
        ),
        _profile(
            "rest",
            "HTTP/1.1 POST per message over TCP keep-alive: text head, JSON/base64/binary body",
            **_TCP,
            application="http",
            headers_bytes=None,
            encoding="json",
            response_bytes=len(HTTP_RESPONSE),
            software_latency=100e-6,
        ),
    ]
)
#: Other accepted names.
ALIASES = {"roce": "rocev2", "rdma": "rocev2", "http": "rest"}
#: The profile that leaves the network models' times unchanged.
DEFAULT_TRANSPORT = "ideal"

# ------------------------------------------------------------------- options
_LINK = ("mtu", "l1_overhead", "l2_overhead", "min_frame", "ip_header")
_TCP_OPTIONS = (
    *_LINK,
    "software_latency",
    "handshake_rtts",
    "lossless",
    "window",
    "timestamps",
    "slow_start",
    "initial_window",
    "min_rto",
    "congestion_control",
)
_CODEC = ("response_bytes", "encode_rate", "decode_rate")
#: Overridable fields per family (``application`` if any, else ``protocol``).
OPTIONS: dict[str, tuple[str, ...]] = {
    "none": ("mtu", "software_latency"),
    "tcp": _TCP_OPTIONS,
    "udp": (*_LINK, "software_latency", "lossless"),
    "rocev2": (
        *_LINK,
        "path_mtu",
        "software_latency",
        "handshake_rtts",
        "lossless",
        "min_rto",
        "retransmission",
    ),  # fmt: skip
    "grpc": (*_TCP_OPTIONS, "headers_bytes", "max_frame", "max_message", "oversize", *_CODEC),
    "http": (*_TCP_OPTIONS, "encoding", "headers_bytes", "value_bytes", "json_chars", *_CODEC),
}

_SIZES = {
    "mtu", "path_mtu", "l1_overhead", "l2_overhead", "min_frame", "ip_header", "headers_bytes",
    "max_frame", "max_message", "response_bytes", "value_bytes", "window",
}  # fmt: skip
_COUNTS = {"handshake_rtts", "initial_window", "json_chars"}
_TIMES = {"software_latency", "min_rto"}
_RATES = {"encode_rate", "decode_rate"}
_BOOLS = {"lossless", "timestamps", "slow_start"}
_CHOICES = {
    "encoding": ENCODINGS,
    "oversize": OVERSIZE,
    "congestion_control": CONGESTION_CONTROLS,
    "retransmission": RETRANSMISSIONS,
}
#: Fields that accept a word for "no value", and the word.
_NULLS = {
    "max_message": "unlimited",
    "window": "unlimited",
    "path_mtu": "auto",
    "headers_bytes": "auto",
    "encode_rate": "auto",
    "decode_rate": "auto",
}


def transport_names() -> list[str]:
    """Registered profile names, in registry order."""
    return list(TRANSPORTS)


def canonical_name(name: object) -> object:
    """The registered name of `name` (``"roce"`` -> ``"rocev2"``); anything else unchanged."""
    return ALIASES.get(name, name) if isinstance(name, str) else name


def _hint(word: object, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _whole(field: str, value: float, raw: object) -> int:
    if value != math.floor(value):
        raise TransportOptionError(field, f"expected a whole number, got {raw!r}")
    return int(value)


def parse_option(field: str, raw: object) -> object:
    """One override value, parsed into the field's type (SI units).

    Raises
    ------
    TransportOptionError
        A :class:`~netsim.exceptions.ScenarioError` naming ``network.<field>``.
    """
    try:
        return _parse(field, raw)
    except TransportOptionError:
        raise
    except ScenarioError as exc:  # from netsim.units, which names f"network.{field}"
        detail = str(exc).removeprefix(f"network.{field}: ")
        raise TransportOptionError(field, detail) from None


def _parse(field: str, raw: object) -> object:
    where = f"network.{field}"
    null = _NULLS.get(field)
    if null is not None and (raw is None or raw == null):
        return None
    if field in _RATES and raw in ("unlimited", math.inf):
        return math.inf
    if field in _SIZES:
        try:
            value = parse_size(raw, where)
        except ScenarioError as exc:
            raise ScenarioError(f"{exc}, or {null!r}" if null else str(exc)) from None
        return _whole(field, value, raw)
    if field in _COUNTS:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise TransportOptionError(field, f"expected a whole number, got {raw!r}")
        return _whole(field, float(raw), raw)
    if field in _TIMES:
        return parse_time(raw, where)
    if field in _RATES:
        value = parse_bandwidth(raw, where)
        if value == 0:
            raise TransportOptionError(
                field,
                f"a rate must be > 0; accepted forms: {BANDWIDTH_FORMS}, 'unlimited' or 'auto'",
            )
        return value
    if field in _BOOLS:
        if not isinstance(raw, bool):
            raise TransportOptionError(field, f"expected true or false, got {raw!r}")
        return raw
    choices = _CHOICES[field]
    if not isinstance(raw, str) or raw not in choices:
        raise TransportOptionError(
            field, f"{raw!r} is not accepted{_hint(raw, choices)}; accepted: {', '.join(choices)}"
        )
    return raw


def make_transport(name: str | TransportProfile, /, **overrides: object) -> TransportProfile:
    """A registered transport profile, with some fields overridden.

    Parameters
    ----------
    name : str or TransportProfile
        A key of :data:`TRANSPORTS` or :data:`ALIASES` (or a profile to modify).
    **overrides
        Field values as a scenario gives them: sizes as ``9000`` or ``"9KB"``
        (``mtu``, ``path_mtu``, ``window``, ``max_message``, ...; whole bytes), times as
        ``"1ms"`` (``min_rto``, ``software_latency``), rates as ``"1GB/s"``
        (``encode_rate``, ``decode_rate``), booleans, counts (``initial_window``,
        ``handshake_rtts``, ``json_chars``) and choices (``encoding``, ``oversize``,
        ``congestion_control``). ``"unlimited"`` lifts ``max_message``/``window``;
        ``"auto"`` restores a derived default (``path_mtu``, ``headers_bytes``, rates).
        Which fields a profile accepts: :data:`OPTIONS` of its family.

    Returns
    -------
    TransportProfile

    Raises
    ------
    ScenarioError
        Naming ``network.transport`` (unknown name) or ``network.<field>`` (unknown or
        inapplicable option, unreadable or inconsistent value), with what is accepted and
        a close match when there is one.

    Examples
    --------
    >>> make_transport("tcp", mtu=9000).max_payload
    8960
    >>> make_transport("tcp", min_rto="1ms").min_rto
    0.001
    >>> make_transport("tpc")
    Traceback (most recent call last):
    ...
    netsim.transport.validate.TransportOptionError: network.transport: unknown transport 'tpc' (did you mean 'tcp'?); accepted: ideal, tcp, udp, rocev2, grpc, rest (aliases: roce, rdma, http)
    """
    if isinstance(name, TransportProfile):
        base = name
    else:
        key = ALIASES.get(name, name) if isinstance(name, str) else None
        base = TRANSPORTS.get(key) if key is not None else None
        if base is None:
            raise TransportOptionError(
                "transport",
                f"unknown transport {name!r}{_hint(name, [*TRANSPORTS, *ALIASES])}; "
                f"accepted: {', '.join(TRANSPORTS)} (aliases: {', '.join(ALIASES)})",
            )
    if not overrides:
        return base
    family = base.application if base.application != "none" else base.protocol
    accepted = OPTIONS[family]
    values = {}
    for field, raw in overrides.items():
        if field not in accepted:
            if field in {f.name for f in dataclasses.fields(TransportProfile)}:
                what = f"not an option of transport {base.name!r}"
            else:
                what = "unknown transport option"
            raise TransportOptionError(
                field,
                f"{what}{_hint(field, accepted)}; options of {base.name!r}: {', '.join(accepted)}",
            )
        values[field] = parse_option(field, raw)
    return dataclasses.replace(base, **values)
