"""Validation of transport profiles and argument conversion shared by the package.

Every inconsistency of a profile is a :class:`~netsim.exceptions.ScenarioError` naming
``network.<field>``, the value and what is accepted.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from netsim.exceptions import ScenarioError
from netsim.transport.constants import (
    ENCODINGS,
    HTTP2_MAX_FRAME,
    HTTP2_MAX_FRAME_LIMIT,
    IB_MTUS,
)

if TYPE_CHECKING:
    from netsim.transport.profile import TransportProfile

__all__ = [
    "MessageTooLargeError",
    "TransportOptionError",
    "PROTOCOLS",
    "APPLICATIONS",
    "OVERSIZE",
    "CONGESTION_CONTROLS",
    "RETRANSMISSIONS",
    "validate_profile",
    "field_error",
    "check_int",
    "as_bytes",
    "as_time",
]

#: Transport protocols a profile can run on.
PROTOCOLS = ("none", "tcp", "udp", "rocev2")
#: Application framings a profile can add per message (``grpc`` and ``http`` need TCP).
APPLICATIONS = ("none", "grpc", "http")
#: What ``grpc`` does with a payload above ``max_message``.
OVERSIZE = ("split", "error")
#: Congestion-control algorithms the packet model knows.
CONGESTION_CONTROLS = ("none", "newreno")
#: How a reliable profile recovers a lost frame: resend that frame (``selective``: TCP with
#: fast retransmit) or every frame sent since it (``go_back_n``: RoCE RC queue pairs).
RETRANSMISSIONS = ("selective", "go_back_n")
_INF = math.inf


class MessageTooLargeError(ScenarioError):
    """A message exceeds ``network.grpc.max_message`` and the profile says ``oversize = "error"``."""


class TransportOptionError(ScenarioError):
    """A bad profile field: the message is ``network.<field>: <detail>``.

    :attr:`field` and :attr:`detail` let a caller name the field by its own path
    (the scenario names ``network.tcp.initial_window``, see :mod:`netsim.transport.tables`).
    """

    def __init__(self, field: str, detail: str):
        super().__init__(f"network.{field}: {detail}")
        self.field = field
        self.detail = detail


def field_error(field: str, message: str) -> TransportOptionError:
    """A :class:`TransportOptionError` (a :class:`ScenarioError`) for ``network.<field>``."""
    return TransportOptionError(field, message)


def validate_profile(p: TransportProfile) -> None:
    """Check every field of `p` and their consistency.

    Raises
    ------
    ScenarioError
        Naming ``network.<field>``, the value and what is accepted.
    """
    for field, choices in (
        ("protocol", PROTOCOLS),
        ("application", APPLICATIONS),
        ("oversize", OVERSIZE),
        ("encoding", ENCODINGS),
        ("congestion_control", CONGESTION_CONTROLS),
        ("retransmission", RETRANSMISSIONS),
    ):
        if getattr(p, field) not in choices:
            raise field_error(
                field, f"{getattr(p, field)!r} is not accepted; accepted: {', '.join(choices)}"
            )
    for field in ("timestamps", "reliable", "lossless", "slow_start"):
        if not isinstance(getattr(p, field), bool):
            raise field_error(field, f"expected true or false, got {getattr(p, field)!r}")
    for field, low in (
        ("l1_overhead", 0), ("l2_overhead", 0), ("min_frame", 0), ("ip_header", 0),
        ("value_bytes", 1), ("json_chars", 1), ("response_bytes", 0),
        ("handshake_rtts", 0), ("initial_window", 1),
    ):  # fmt: skip
        check_int(field, getattr(p, field), low)
    for field in ("headers_bytes", "max_message", "window", "path_mtu"):
        if getattr(p, field) is not None:
            check_int(field, getattr(p, field), 1 if field != "headers_bytes" else 0)
    if p.application == "grpc" and p.headers_bytes is None:
        raise field_error(
            "headers_bytes", "gRPC needs the HEADERS frame size in bytes (default 41)"
        )
    check_int("max_frame", p.max_frame, HTTP2_MAX_FRAME)
    if p.max_frame > HTTP2_MAX_FRAME_LIMIT:
        raise field_error(
            "max_frame", f"at most 2^24 - 1 = {HTTP2_MAX_FRAME_LIMIT} (RFC 9113), got {p.max_frame}"
        )
    for field in ("software_latency", "min_rto"):
        value = getattr(p, field)
        if not (
            isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < _INF
        ):
            raise field_error(field, f"expected a finite time >= 0 s, got {value!r}")
    for field in ("encode_rate", "decode_rate"):
        value = getattr(p, field)
        if value is not None and not (
            isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        ):
            raise field_error(field, f"expected a rate > 0 bytes/s (or 'unlimited'), got {value!r}")
    tcp = p.protocol == "tcp"
    if p.application != "none" and not tcp:
        raise field_error("application", f"{p.application!r} runs over TCP, not {p.protocol!r}")
    for field, on in (("timestamps", p.timestamps), ("slow_start", p.slow_start)):
        if on and not tcp:
            raise field_error(
                field, f"only TCP-based transports have it (tcp, grpc, rest), not {p.name!r}"
            )
    if p.path_mtu is not None and p.protocol != "rocev2":
        raise field_error("path_mtu", f"only rocev2 has a path MTU, not {p.name!r}")
    _check_mtu(p)


def _check_mtu(p: TransportProfile) -> None:
    if p.mtu is None:
        if p.protocol != "none":
            raise field_error("mtu", f"{p.name!r} needs an IP MTU in bytes, e.g. 1500 or 9000")
        return
    check_int("mtu", p.mtu, 68)
    if p.mtu > 65535:
        raise field_error(
            "mtu", f"an IP MTU is 68..65535 bytes (1500 standard, 9000 jumbo), got {p.mtu}"
        )
    if p.protocol == "rocev2":
        room = p.mtu - p._roce_headers
        if p.path_mtu is None:
            if room < IB_MTUS[0]:
                raise field_error(
                    "mtu",
                    f"{p.mtu} leaves no room for the smallest RoCE path MTU {IB_MTUS[0]} "
                    f"(+{p._roce_headers} header bytes); use at least {IB_MTUS[0] + p._roce_headers}",
                )
        elif p.path_mtu not in IB_MTUS:
            raise field_error(
                "path_mtu",
                f"{p.path_mtu} is not an InfiniBand MTU; accepted: {', '.join(map(str, IB_MTUS))}",
            )
        elif p.path_mtu > room:
            raise field_error(
                "path_mtu",
                f"{p.path_mtu} needs an IP MTU of at least {p.path_mtu + p._roce_headers} "
                f"bytes, but network.mtu = {p.mtu}",
            )
    elif p.mtu - p.ip_header - p.l4_header < 1:
        raise field_error(
            "mtu", f"{p.mtu} leaves no payload after {p.ip_header + p.l4_header} header bytes"
        )


def check_int(field: str, value: object, low: int) -> None:
    """Raise a ScenarioError for ``network.<field>`` unless `value` is an int ``>= low`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise field_error(field, f"expected a whole number >= {low}, got {value!r}")


def as_bytes(nbytes: float) -> int:
    """A message size as whole bytes (fractions rounded up); ``ValueError`` unless a finite number >= 0."""
    if isinstance(nbytes, int) and not isinstance(nbytes, bool):
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes!r}")
        return nbytes
    if isinstance(nbytes, bool) or not isinstance(nbytes, numbers.Real):
        raise ValueError(f"nbytes must be a number of bytes, got {nbytes!r}")
    if not 0 <= nbytes < _INF:
        raise ValueError(f"nbytes must be a finite number >= 0, got {nbytes!r}")
    return math.ceil(nbytes)


def as_time(value: float) -> float:
    """A duration in seconds, checked finite and ``>= 0`` (``ValueError`` otherwise)."""
    if not 0 <= value < _INF:
        raise ValueError(f"a time must be finite and >= 0 s, got {value!r}")
    return float(value)
