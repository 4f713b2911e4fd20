"""Time costs of a transport profile (a mixin of :class:`~netsim.transport.TransportProfile`).

Software latency and encoding per message, connection handshakes, the receive-window rate
cap, TCP slow start (:mod:`netsim.transport.slow_start`) and their sum for an uncontended
message, :meth:`TimingMixin.transfer_time`. Times in seconds, rates in wire bytes/s.
"""

from __future__ import annotations

import math

from netsim.transport import slow_start as _ss
from netsim.transport.constants import CODEC_RATES
from netsim.transport.validate import as_time

__all__ = ["TimingMixin"]

_INF = math.inf


class TimingMixin:
    """Time methods of :class:`~netsim.transport.TransportProfile` (uses its fields and framing)."""

    def codec_rates(self) -> tuple[float, float]:
        """(encode, decode) rates in bytes of encoded body per second (``inf``: free)."""
        default = CODEC_RATES[self.encoding] if self.application == "http" else (_INF, _INF)
        encode = default[0] if self.encode_rate is None else self.encode_rate
        decode = default[1] if self.decode_rate is None else self.decode_rate
        return float(encode), float(decode)

    def message_latency(self, nbytes: float = 0, payload: object = None) -> float:
        """Software time of one message, s: ``calls·software_latency + body/encode + body/decode``.

        With the defaults only ``rest`` with ``base64`` or ``json`` has an encoding term;
        ``message_latency()`` is the per-message constant.
        """
        calls = self.messages(nbytes)
        encode, decode = self.codec_rates()
        time = calls * self.software_latency
        if encode < _INF or decode < _INF:
            body = self.body_bytes(nbytes, payload)
            time += body / encode + body / decode
        return time

    def handshake_time(self, rtt: float) -> float:
        """Connection set-up before the first byte of a new connection: ``handshake_rtts·rtt``, s."""
        return self.handshake_rtts * as_time(rtt)

    def max_rate(self, rtt: float) -> float:
        """Rate cap of the receive window, wire bytes/s: ``window·frame_bytes / (max_payload·rtt)``.

        ``inf`` without a window or with ``rtt == 0``.
        """
        rtt = as_time(rtt)
        if self.window is None or rtt == 0:
            return _INF
        if self.max_payload is None:
            return self.window / rtt
        return self.window * self.frame_bytes / (self.max_payload * rtt)

    def slow_start_rounds(
        self,
        nbytes: float,
        rate: float,
        rtt: float,
        payload: object = None,
        cwnd: int | None = None,
    ) -> int:
        """RTTs one message waits for ACKs in slow start (0 without slow start).

        See :mod:`netsim.transport.slow_start`: ``min(r₁, r₂)`` with segments
        ``k = frames(n)``, full segments of ``frame_bytes`` wire bytes, ``IW = cwnd``
        (the congestion window the message starts with, segments; default
        ``initial_window``: a new connection), ``rate`` in wire bytes/s, ``rtt`` in s.
        """
        if not self.slow_start:
            _ss.check_rate_rtt(rate, rtt)
            return 0
        k = self.frames(nbytes, payload)
        window = self.initial_window if cwnd is None else cwnd
        return _ss.slow_start_rounds(k, window, self.frame_bytes, rate, rtt)

    def slow_start_time(
        self,
        nbytes: float,
        rate: float,
        rtt: float,
        payload: object = None,
        cwnd: int | None = None,
    ) -> float:
        """Time from the first to the last wire byte of one message sent at up to `rate`, s.

        With slow start: ``r·rtt + (wire_bytes(n) − IW·(2^r − 1)·frame_bytes) / rate``,
        ``r = slow_start_rounds(n, rate, rtt)``: rounds of ``IW·2^i`` full segments, each
        waiting one `rtt` for the ACK clock, until the window reaches the
        bandwidth-delay product ``rate·rtt`` (then streaming at `rate`) or holds the
        rest of the data. Without: ``wire_bytes(n) / rate``. `rate` is the flow's
        rate in wire bytes/s (cap it at :meth:`max_rate` first); `rtt` in s; `cwnd` the
        window the message starts with, segments (default ``IW = initial_window``; a
        warm connection's is larger).

        Examples
        --------
        >>> from netsim.transport import make_transport
        >>> tcp = make_transport("tcp")
        >>> tcp.slow_start_time(14600, 1.25e9, 1e-3) == tcp.wire_bytes(14600) / 1.25e9
        True
        >>> round(tcp.slow_start_time(14601, 1.25e9, 1e-3) * 1e6, 3)   # one RTT + 1 segment
        1000.067
        """
        wire = self.wire_bytes(nbytes, payload)
        if not self.slow_start:
            _ss.check_rate_rtt(rate, rtt)
            return wire / rate
        k = self.frames(nbytes, payload)
        window = self.initial_window if cwnd is None else cwnd
        return _ss.slow_start_time(k, wire, window, self.frame_bytes, rate, rtt)

    def slow_start_delay(
        self,
        nbytes: float,
        rate: float,
        rtt: float,
        payload: object = None,
        cwnd: int | None = None,
    ) -> float:
        """What slow start adds to ``wire_bytes(n)/rate``: ``r·rtt − IW·(2^r − 1)·frame_bytes/rate`` (≥ 0), s.

        ``IW = cwnd`` (default ``initial_window``), ``r = slow_start_rounds(n, rate, rtt)``.
        """
        rounds = self.slow_start_rounds(nbytes, rate, rtt, payload, cwnd)
        if rounds == 0:
            return 0.0
        window = self.initial_window if cwnd is None else cwnd
        return rounds * rtt - window * ((1 << rounds) - 1) * self.frame_bytes / rate

    def transfer_time(
        self,
        nbytes: float,
        rate: float,
        latency: float,
        *,
        rtt: float | None = None,
        new_connection: bool = False,
        payload: object = None,
        loss: float = 0.0,
        cwnd: int | None = None,
    ) -> float:
        """Uncontended delivery time of one message, s: the profile's alpha-beta time.

        ``handshake_time(rtt)`` (if `new_connection`) ``+ message_latency(n) +
        slow_start_time(n, r, rtt, cwnd=cwnd) + retransmitted_bytes(n, r, rtt, loss) / r +
        latency`` at the rate ``r = min(rate, max_rate(rtt), loss_limited_rate(rtt, loss))``,
        with ``rtt = 2·latency`` unless given. For ``ideal``: ``latency + n / rate``, the
        flow model's time.

        Parameters
        ----------
        nbytes : float
            Payload bytes.
        rate : float
            Bottleneck bandwidth of the route, bytes/s.
        latency : float
            One-way route latency, s.
        rtt : float, optional
            Round-trip time, s (default ``2·latency``).
        new_connection : bool, optional
            Pay the handshake.
        payload : array_like, optional
            See :meth:`wire_bytes`.
        loss : float, optional
            Probability that a frame is lost on the route (:func:`~netsim.transport.loss.route_loss`).
        cwnd : int, optional
            Congestion window the message starts with, segments (default ``initial_window``).
        """
        latency = as_time(latency)
        rtt = 2 * latency if rtt is None else as_time(rtt)
        rate = min(rate, self.max_rate(rtt), self.loss_limited_rate(rtt, loss))
        time = self.handshake_time(rtt) if new_connection else 0.0
        time += self.message_latency(nbytes, payload)
        time += self.slow_start_time(nbytes, rate, rtt, payload, cwnd)
        return time + self.retransmitted_bytes(nbytes, rate, rtt, loss) / rate + latency
