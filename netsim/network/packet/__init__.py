"""The packet-level network model: frames, store-and-forward queues, transport engines.

Modules: :mod:`~netsim.network.packet.network` (the model and its event loop),
:mod:`~netsim.network.packet.ports` (NICs, switch queues, tail drop, ECN, PFC),
:mod:`~netsim.network.packet.tcp` (NewReno), :mod:`~netsim.network.packet.gbn`
(go-back-N and datagrams), :mod:`~netsim.network.packet.endpoints` (frames, timers,
deliveries), :mod:`~netsim.network.packet.state` (records),
:mod:`~netsim.network.packet.counters`, :mod:`~netsim.network.packet.options`.
See ``docs/packet_model.md``.
"""

from netsim.network.packet.network import PacketNetwork
from netsim.network.packet.options import (
    DEFAULT_BUFFER,
    DEFAULT_ECN_THRESHOLD,
    PACKET_OPTIONS,
    PacketOptions,
    parse_packet_options,
)

__all__ = [
    "PacketNetwork",
    "PacketOptions",
    "parse_packet_options",
    "DEFAULT_BUFFER",
    "DEFAULT_ECN_THRESHOLD",
    "PACKET_OPTIONS",
]
