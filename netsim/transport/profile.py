"""The transport profile: a protocol stack as data, with exact per-message formulas.

A :class:`TransportProfile` says what one message of ``n`` payload bytes costs on the
wire and in time, for every network model alike:

* :meth:`~TransportProfile.wire_bytes`: payload + application framing + every frame's
  headers, padding and line overhead, an exact integer;
* :meth:`~TransportProfile.message_latency`: software time per message (+ encoding);
* :meth:`~TransportProfile.handshake_time`: connection set-up on a new connection;
* :meth:`~TransportProfile.slow_start_time`: TCP slow start (:mod:`~netsim.transport.slow_start`).

Message semantics (all profiles)
--------------------------------
* One ``transfer`` is one application message. Its *stream* (payload after encoding,
  plus application framing) is cut into frames of at most :attr:`max_payload` bytes;
  every frame but the last is full.
* A 0-byte message is still one frame on a framed transport (a header-only TCP segment,
  an empty UDP datagram, a 0-length RDMA WRITE); on ``ideal`` it is 0 bytes.
* Frames shorter than the Ethernet minimum (64 bytes, header to FCS) are padded; RoCE
  payloads are padded to a multiple of 4 (BTH PadCnt).
* Fractional sizes are rounded up to whole bytes.
* Not counted: ACKs and responses (they travel the other way; see
  :attr:`TransportProfile.response_bytes`), retransmissions, connection set-up bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

from netsim.transport.constants import (
    HTTP2_FRAME_HEADER,
    HTTP2_MAX_FRAME,
    IB_ICRC,
    IB_MTUS,
    IB_PAYLOAD_ALIGN,
    IB_RETH,
    JSON_CHARS,
    L4_HEADER,
    TCP_TIMESTAMPS,
)
from netsim.transport.encoding import (
    base64_size,
    grpc_call_bytes,
    http_request_head,
    json_size,
    json_size_estimate,
)
from netsim.transport.loss import LossMixin
from netsim.transport.timing import TimingMixin
from netsim.transport.validate import MessageTooLargeError, as_bytes, validate_profile

__all__ = ["TransportProfile"]


@dataclass(frozen=True)
class TransportProfile(TimingMixin, LossMixin):
    """A transport protocol stack: framing, per-message costs, connection behaviour.

    Build one with :func:`netsim.transport.make_transport`; the constructor validates
    consistency and raises :class:`~netsim.exceptions.ScenarioError` naming
    ``network.<field>``. Sizes are integers in bytes, times floats in seconds, rates
    floats in bytes/s.

    Parameters
    ----------
    name : str
        Registry name (``"tcp"``, ...).
    description : str
        One line.
    protocol : str
        ``"none"`` (no framing), ``"tcp"``, ``"udp"`` or ``"rocev2"``. Sets the L4 header
        (:attr:`l4_header`), the RoCE ICRC, RETH and payload alignment.
    mtu : int or None
        IP MTU, bytes (IP header included, Ethernet excluded): 1500 standard, 9000
        jumbo; 68–65535. ``None``: unframed (``ideal`` only): a message is one frame.
    path_mtu : int or None
        RoCE payload bytes per packet (256, 512, 1024, 2048 or 4096); ``None``: the
        largest whose first packet (payload + IP + UDP + BTH + RETH + ICRC) fits in `mtu`
        (1024 at MTU 1500, 4096 at 9000), as RDMA NICs choose their active MTU.
    l1_overhead : int
        Line time per frame outside the frame: preamble 7 + SFD 1 + inter-frame gap 12 = 20.
    l2_overhead : int
        Ethernet header 14 + FCS 4 = 18 (22 with an 802.1Q tag).
    min_frame : int
        Minimum Ethernet frame, header through FCS (64); shorter frames are padded.
    ip_header : int
        IP header per frame: 20 (IPv4); 40 for IPv6.
    timestamps : bool
        TCP timestamps option (RFC 7323): 12 more header bytes per segment (MSS 1448 at
        MTU 1500). Linux enables it by default; off here so goodput is 1460/1538.
    application : str
        Per-message framing: ``"none"``, ``"grpc"`` (gRPC over HTTP/2) or ``"http"``
        (one HTTP/1.1 request per message).
    headers_bytes : int or None
        ``grpc``: bytes of the request HEADERS frame, 9-byte frame header included (41).
        ``http``: request line + headers except the ``Content-Length`` digits; ``None``:
        the template of :mod:`~netsim.transport.constants` (199–213 bytes by encoding).
    max_frame : int
        ``grpc``: largest HTTP/2 DATA frame payload (16384; up to 2^24 − 1).
    max_message : int or None
        ``grpc``: largest message, bytes (4 MiB, gRPC's default receive limit); ``None``:
        unlimited.
    oversize : str
        ``grpc``, a payload above `max_message`: ``"split"`` (default) sends
        ``⌈n / max_message⌉`` calls of at most `max_message` bytes, each with its own
        HEADERS, prefix and software latency; ``"error"`` raises
        :class:`MessageTooLargeError` (gRPC's ``RESOURCE_EXHAUSTED``).
    encoding : str
        ``http`` body encoding: ``"binary"`` (raw bytes), ``"base64"`` (``4⌈n/3⌉``, padded)
        or ``"json"`` (a JSON array of the numbers, see :meth:`body_bytes`).
    value_bytes : int
        ``json`` without an array at hand: bytes per number of the payload (4: float32),
        so an ``n``-byte payload holds ``⌈n / value_bytes⌉`` numbers.
    json_chars : int
        ``json`` without an array at hand: characters per number, separator excluded (22).
    encode_rate, decode_rate : float or None
        Serialisation speed at the sender and receiver, bytes of encoded body per second;
        ``inf``: free; ``None``: the encoding's default (binary free, base64 0.8/0.4 GB/s,
        json 40/80 MB/s; gRPC's protobuf copy free).
    response_bytes : int
        Bytes of the reply each message gets, sent the other way (gRPC 48, REST 81; 0: no
        reply). Not part of :meth:`wire_bytes`; HTTP/1.1 sends no next request on the
        connection before it.
    software_latency : float
        Software time per message (sender + receiver stacks), s.
    handshake_rtts : int
        Round trips to open a connection before the first byte (TCP 1; add 1 for TLS 1.3).
    reliable : bool
        Lost frames are retransmitted (TCP, RoCE RC) rather than lost (UDP).
    lossless : bool
        The fabric never drops (PFC for RoCE); the packet model then never drops frames.
    congestion_control : str
        Window algorithm: ``"newreno"`` (AIMD: the packet model runs it; the fluid models
        cap the rate under random loss by the Mathis formula, :meth:`loss_limited_rate`)
        or ``"none"``.
    retransmission : str
        How a reliable profile recovers a lost frame: ``"selective"`` (resend that frame:
        TCP's fast retransmit) or ``"go_back_n"`` (resend it and every frame sent after
        it: RoCE RC queue pairs). See :meth:`retransmitted_bytes`.
    slow_start : bool
        TCP slow start applies (:meth:`slow_start_time`).
    initial_window : int
        Initial congestion window, segments (10, RFC 6928; Linux uses 10 at any MSS).
    min_rto : float
        Smallest retransmission timeout, s (Linux TCP 0.2; DC tuning ~1 ms; RoCE 67.1 ms).
    window : int or None
        Largest payload bytes in flight (receive window); caps the rate at
        :meth:`max_rate`. ``None``: no cap (Linux and gRPC auto-tune their windows).
    """

    name: str
    description: str = ""
    protocol: str = "none"
    mtu: int | None = None
    path_mtu: int | None = None
    l1_overhead: int = 0
    l2_overhead: int = 0
    min_frame: int = 0
    ip_header: int = 0
    timestamps: bool = False
    application: str = "none"
    headers_bytes: int | None = 0
    max_frame: int = HTTP2_MAX_FRAME
    max_message: int | None = None
    oversize: str = "split"
    encoding: str = "binary"
    value_bytes: int = 4
    json_chars: int = JSON_CHARS
    encode_rate: float | None = None
    decode_rate: float | None = None
    response_bytes: int = 0
    software_latency: float = 0.0
    handshake_rtts: int = 0
    reliable: bool = True
    lossless: bool = True
    congestion_control: str = "none"
    retransmission: str = "selective"
    slow_start: bool = False
    initial_window: int = 10
    min_rto: float = 0.0
    window: int | None = None

    # ------------------------------------------------------------------ checks
    def __post_init__(self) -> None:
        validate_profile(self)

    # --------------------------------------------------------------- framing
    @cached_property
    def passthrough(self) -> bool:
        """Whether the profile adds nothing: no header bytes, framing, time or window.

        ``ideal`` (with or without an ``mtu``). The network models then keep a transfer's
        size as given (fractional bytes too) and their times exactly as without a
        transport.
        """
        return (
            self.protocol == "none"
            and self.application == "none"
            and self.l1_overhead == self.l2_overhead == self.min_frame == self.ip_header == 0
            and self.software_latency == 0
            and self.handshake_rtts == 0
            and not self.slow_start
            and self.window is None
        )

    @property
    def _roce_headers(self) -> int:
        """IP bytes around the payload of a RoCE first packet (IP, UDP, BTH, RETH, ICRC)."""
        return self.ip_header + L4_HEADER["rocev2"] + IB_RETH + IB_ICRC

    @property
    def l4_header(self) -> int:
        """Transport header bytes per frame: TCP 20 (+12 with timestamps), UDP 8, RoCEv2 UDP 8 + BTH 12."""
        return L4_HEADER[self.protocol] + (TCP_TIMESTAMPS if self.timestamps else 0)

    @property
    def trailer(self) -> int:
        """Bytes after the payload inside the IP packet: RoCE ICRC 4, else 0."""
        return IB_ICRC if self.protocol == "rocev2" else 0

    @property
    def first_frame_extra(self) -> int:
        """Extra header bytes on the first frame of a message: RoCE RETH 16, else 0."""
        return IB_RETH if self.protocol == "rocev2" else 0

    @property
    def payload_align(self) -> int:
        """Frame payloads are padded to a multiple of this (RoCE 4, else 1)."""
        return IB_PAYLOAD_ALIGN if self.protocol == "rocev2" else 1

    @cached_property
    def max_payload(self) -> int | None:
        """Stream bytes per frame: TCP MSS (``mtu − IP − TCP``), UDP ``mtu − 28``, RoCE path MTU.

        ``None`` when unframed (``ideal`` without an MTU).
        """
        if self.mtu is None:
            return None
        if self.protocol == "rocev2":
            if self.path_mtu is not None:
                return self.path_mtu
            room = self.mtu - self._roce_headers
            return max(m for m in IB_MTUS if m <= room)
        return self.mtu - self.ip_header - self.l4_header - self.trailer

    @cached_property
    def frame_overhead(self) -> int:
        """Wire bytes of a full frame beyond its payload (TCP at MTU 1500: 78; RoCE: 82)."""
        if self.mtu is None:
            return 0
        return self.l1_overhead + self.l2_overhead + self.ip_header + self.l4_header + self.trailer

    @cached_property
    def frame_bytes(self) -> int:
        """Wire bytes of a full frame (TCP at MTU 1500: 1538), or 0 when unframed."""
        return 0 if self.max_payload is None else self.max_payload + self.frame_overhead

    # -------------------------------------------------------------- messages
    def messages(self, nbytes: float) -> int:
        """Application messages (gRPC calls) one transfer of `nbytes` becomes (1 unless split).

        Raises
        ------
        MessageTooLargeError
            If `nbytes` exceeds `max_message` and `oversize` is ``"error"``.
        """
        n = as_bytes(nbytes)
        if self.application != "grpc" or self.max_message is None or n <= self.max_message:
            return 1
        if self.oversize == "error":
            raise MessageTooLargeError(
                f"network.grpc.max_message: a {n}-byte gRPC message exceeds the limit of "
                f"{self.max_message} bytes; raise network.grpc.max_message or set "
                "network.grpc.oversize = 'split'"
            )
        return -(-n // self.max_message)

    def body_bytes(self, nbytes: float, payload: object = None) -> int:
        """Bytes of the encoded payload (before application framing).

        ``binary`` (and non-HTTP profiles): ``n``. ``base64``: ``4⌈n/3⌉``. ``json``: with
        an array `payload`, the exact length of its compact JSON text
        (:func:`~netsim.transport.encoding.json_size`); without, ``k = ⌈n / value_bytes⌉``
        numbers of ``json_chars`` characters: ``2 + k·json_chars + max(k − 1, 0)``.
        """
        n = as_bytes(nbytes)
        if self.application != "http" or self.encoding == "binary":
            return n
        if self.encoding == "base64":
            return base64_size(n)
        if payload is not None:
            return json_size(payload)
        return json_size_estimate(-(-n // self.value_bytes), self.json_chars)

    def stream_bytes(self, nbytes: float, payload: object = None) -> int:
        """Bytes handed to the transport for one message: body + application framing.

        gRPC: per call ``HEADERS + 5 + m + 9·max(1, ⌈(5 + m)/max_frame⌉)`` for its ``m``
        payload bytes. HTTP: request head (with ``Content-Length`` digits) + body.
        """
        n = as_bytes(nbytes)
        if self.application == "grpc":
            calls = self.messages(n)
            if calls == 1:
                return grpc_call_bytes(n, self.headers_bytes, self.max_frame)
            full = grpc_call_bytes(self.max_message, self.headers_bytes, self.max_frame)
            last = n - (calls - 1) * self.max_message
            return (calls - 1) * full + grpc_call_bytes(last, self.headers_bytes, self.max_frame)
        if self.application == "http":
            body = self.body_bytes(n, payload)
            return http_request_head(body, self.encoding, self.headers_bytes) + body
        return n

    def frames(self, nbytes: float, payload: object = None) -> int:
        """Frames (packets) of one message: ``max(1, ⌈stream / max_payload⌉)``; 1 if unframed."""
        stream = self.stream_bytes(nbytes, payload)
        size = self.max_payload
        if size is None:
            return 1
        return max(1, -(-stream // size))

    def wire_bytes(self, nbytes: float, payload: object = None) -> int:
        """Exact bytes on the wire for one message of `nbytes` payload bytes.

        ``stream + frames·frame_overhead + first_frame_extra + padding``, where padding
        brings the last frame's payload to a multiple of :attr:`payload_align` and the
        last frame to :attr:`min_frame`. Unframed: the stream bytes.

        Parameters
        ----------
        nbytes : float
            Payload bytes (``>= 0``, rounded up to an integer).
        payload : array_like, optional
            The numbers sent, for an exact ``json`` body; ignored otherwise.

        Returns
        -------
        int
            Bytes, preamble and inter-frame gap included.

        Raises
        ------
        ValueError
            If `nbytes` is negative or not finite.
        MessageTooLargeError
            See :meth:`messages`.

        Examples
        --------
        >>> from netsim.transport import make_transport
        >>> make_transport("tcp").wire_bytes(1460)   # one full frame
        1538
        >>> make_transport("tcp").wire_bytes(0)      # a header-only segment, padded to 64 + 20
        84
        """
        stream = self.stream_bytes(nbytes, payload)
        size = self.max_payload
        if size is None:
            return stream
        frames = max(1, -(-stream // size))
        last = stream - (frames - 1) * size
        align_pad = -last % self.payload_align
        extra = self.first_frame_extra
        last_ip = self.ip_header + self.l4_header + self.trailer + last + align_pad
        if frames == 1:
            last_ip += extra
        eth_pad = max(0, self.min_frame - self.l2_overhead - last_ip)
        return stream + frames * self.frame_overhead + extra + align_pad + eth_pad

    def goodput_fraction(self) -> float:
        """Payload bytes per wire byte for a very long transfer: ``lim n / wire_bytes(n)``.

        TCP at MTU 1500: 1460/1538 ≈ 0.949 (1448/1538 with timestamps); at 9000:
        8960/9038 ≈ 0.991. gRPC and REST multiply in their framing (and encoding) overhead.
        """
        return float(1 / self._expansion())

    def _expansion(self) -> Fraction:
        """Wire bytes per payload byte in the limit, exactly."""
        if self.application == "grpc":
            if self.max_message is None:
                stream = Fraction(self.max_frame + HTTP2_FRAME_HEADER, self.max_frame)
            else:
                m = self.max_message
                stream = Fraction(grpc_call_bytes(m, self.headers_bytes, self.max_frame), m)
        elif self.application == "http":
            stream = {
                "binary": Fraction(1),
                "base64": Fraction(4, 3),
                "json": Fraction(self.json_chars + 1, self.value_bytes),
            }[self.encoding]
        else:
            stream = Fraction(1)
        if self.max_payload is None:
            return stream
        return stream * Fraction(self.frame_bytes, self.max_payload)
