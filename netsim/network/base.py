"""The network interface every model implements, and what they share.

A network model turns ``transfer(src, dst, nbytes)`` into a SimPy event that fires
when the last byte arrives at ``dst``. Collectives and workloads call nothing else.

Shared here: the directed link table (both directions of every full-duplex edge of
the topology graph are independent links), cached routes, argument checks, the
transport profile and loss rate every transfer goes through, and the counters behind
:meth:`Network.link_stats` and :meth:`Network.transport_summary`.

Sizes: ``transfer(src, dst, nbytes)`` takes *payload* bytes; the transport profile
(:mod:`netsim.transport`; ``ideal`` by default) turns them into *wire* bytes, which the
links carry and count. With ``ideal`` the two are the same number.

Counters (bytes): ``payload_bytes`` (payload of network transfers), ``bytes_sent``
(wire bytes offered to the network, retransmissions included), ``bytes_delivered``
and ``bytes_dropped`` (``bytes_sent = bytes_delivered + bytes_dropped``), and
``bytes_retransmitted`` (part of ``bytes_sent``). The fluid models count expected
values; the packet model counts frames.

Conventions: sizes in bytes (floats; fractional bytes allowed), bandwidths in
bytes/s, times in seconds.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import simpy
from simpy.core import NORMAL
from simpy.events import PENDING

from netsim.exceptions import RoutingError, TopologyError
from netsim.transport import DEFAULT_TRANSPORT, TRANSPORTS, TransportProfile
from netsim.transport.loss import check_loss

__all__ = ["Network", "Route", "deliver"]


class Route(NamedTuple):
    """A cached route between two nodes.

    Attributes
    ----------
    links : tuple of int
        Directed link indices crossed, in order (empty when source = destination).
    latency : float
        Sum of the links' one-way latencies, seconds.
    bottleneck : float
        Smallest link bandwidth on the route, bytes/s (``inf`` for an empty route).
    """

    links: tuple[int, ...]
    latency: float
    bottleneck: float


def deliver(env: simpy.Environment, event: simpy.Event, value: Any, delay: float) -> None:
    """Trigger `event` with `value` after `delay` seconds (one heap push, as ``Timeout`` does).

    Parameters
    ----------
    env : simpy.Environment
        The environment `event` belongs to.
    event : simpy.Event
        An untriggered event.
    value : object
        The event's value.
    delay : float
        Delay from ``env.now``, seconds (``>= 0``).
    """
    event._ok = True
    event._value = value
    env.schedule(event, NORMAL, delay)


class Network(ABC):
    """Abstract base of the network models.

    Parameters
    ----------
    env : simpy.Environment
        The simulation environment.
    graph : networkx.Graph
        Topology: edge attributes ``bandwidth`` (bytes/s, per direction) and
        ``latency`` (seconds, one way). Each edge gives two directed links.
    router : object
        Any object with ``path(src, dst) -> sequence of nodes`` (``src`` and
        ``dst`` included), e.g. :class:`netsim.topology.Router`.
    transport : TransportProfile, optional
        Protocol profile of every transfer (default: ``ideal``, no overhead).
    loss_rate : float, optional
        Probability that a link loses a frame, in ``[0, 1)`` (default 0).

    Attributes
    ----------
    transport : TransportProfile
        The protocol profile.
    loss_rate : float
        Per-link frame loss probability.
    link_index : dict
        ``(u, v) -> int``: index of the directed link from ``u`` to ``v``.
    links : list of tuple
        ``links[i] = (u, v)``, inverse of `link_index`.
    capacity : numpy.ndarray
        Bandwidth of every directed link, bytes/s.
    latency : numpy.ndarray
        One-way latency of every directed link, seconds.
    bytes_sent : float
        Wire bytes offered by transfers with ``src != dst`` (retransmissions included);
        with ``ideal`` and no loss, the sum of their ``nbytes``.
    payload_bytes : float
        Sum of ``nbytes`` over transfers with ``src != dst``.
    bytes_delivered, bytes_dropped, bytes_retransmitted : float
        Wire bytes that arrived, that were lost or discarded, and that were sent again
        (``bytes_sent = bytes_delivered + bytes_dropped``).
    transfers : int
        Number of ``transfer`` calls (including local copies).
    flows_completed : int
        Number of network flows (``src != dst``) whose last byte has been sent.

    Raises
    ------
    TopologyError
        If an edge lacks a valid ``bandwidth`` or ``latency``.
    ValueError
        If `transport` is not a profile or `loss_rate` is not in ``[0, 1)``.
    """

    #: Registry name of the model (set by subclasses).
    name: str = ""

    def __init__(
        self,
        env: simpy.Environment,
        graph: nx.Graph,
        router: Any,
        *,
        transport: TransportProfile | None = None,
        loss_rate: float = 0.0,
    ):
        if transport is None:
            transport = TRANSPORTS[DEFAULT_TRANSPORT]
        elif not isinstance(transport, TransportProfile):
            raise ValueError(
                f"transport must be a TransportProfile (netsim.transport.make_transport), got {transport!r}"
            )
        self.transport = transport
        self.loss_rate = check_loss(loss_rate, "loss_rate")
        self.env = env
        self.graph = graph
        self.router = router
        self.link_index: dict[tuple[Hashable, Hashable], int] = {}
        self.links: list[tuple[Hashable, Hashable]] = []
        caps: list[float] = []
        lats: list[float] = []
        for u, v, data in graph.edges(data=True):
            try:
                bandwidth = float(data["bandwidth"])
                latency = float(data["latency"])
            except (KeyError, TypeError, ValueError) as exc:
                raise TopologyError(
                    f"edge ({u!r}, {v!r}) needs numeric 'bandwidth' (bytes/s) and 'latency' (s)"
                ) from exc
            if not bandwidth > 0 or math.isnan(latency) or latency < 0:
                raise TopologyError(
                    f"edge ({u!r}, {v!r}): bandwidth must be > 0 and latency >= 0, "
                    f"got bandwidth={bandwidth!r}, latency={latency!r}"
                )
            for a, b in ((u, v), (v, u)):
                self.link_index[(a, b)] = len(self.links)
                self.links.append((a, b))
                caps.append(bandwidth)
                lats.append(latency)
        self.capacity = np.array(caps, dtype=np.float64)
        self.latency = np.array(lats, dtype=np.float64)
        self._caps = caps  # Python floats for the hot paths
        self._lats = lats
        # Route cache: _routes[src][dst] (nested dicts: no key tuple per lookup).
        self._routes: dict[Hashable, dict[Hashable, Route]] = {}
        n = len(self.links)
        self._link_bytes = [0.0] * n
        self._link_flows = [0] * n
        self.bytes_sent = 0.0
        self.payload_bytes = 0.0
        self.bytes_delivered = 0.0
        self.bytes_dropped = 0.0
        self.bytes_retransmitted = 0.0
        self.transfers = 0
        self.recorder = None  # a netsim.network.recorder.FlowRecorder, when recording
        self.flows_completed = 0

    # ------------------------------------------------------------------ routes
    def route(self, src: Hashable, dst: Hashable) -> Route:
        """The (cached) route from `src` to `dst`.

        Raises
        ------
        RoutingError
            If a node is unknown, or the router's path is not a chain of edges from
            `src` to `dst`.
        """
        try:
            return self._routes[src][dst]
        except (KeyError, TypeError):  # not cached, or an unhashable node
            pass
        for node in (src, dst):
            if node not in self.graph:
                raise RoutingError(f"unknown node {node!r}: not in the topology")
        if src == dst:
            route = Route((), 0.0, math.inf)
        else:
            try:
                path = tuple(self.router.path(src, dst))
            except (nx.NetworkXNoPath, nx.NodeNotFound) as exc:
                raise RoutingError(f"no route from {src!r} to {dst!r}") from exc
            if len(path) < 2 or path[0] != src or path[-1] != dst or len(set(path)) != len(path):
                raise RoutingError(
                    f"router returned {path!r}, not a simple path from {src!r} to {dst!r}"
                )
            try:
                links = tuple(self.link_index[hop] for hop in zip(path, path[1:], strict=False))
            except KeyError as exc:
                raise RoutingError(
                    f"router path {path!r} from {src!r} to {dst!r} uses {exc.args[0]!r}, not an edge"
                ) from None
            latency = 0.0
            for link in links:
                latency += self._lats[link]
            route = Route(links, latency, min(self._caps[link] for link in links))
        self._routes.setdefault(src, {})[dst] = route
        return route

    @staticmethod
    def _check(nbytes: float, event: simpy.Event | None) -> None:
        """Validate a transfer's size and optional event (slow path of ``transfer``)."""
        if not 0 <= nbytes < math.inf:
            raise ValueError(f"nbytes must be a finite number >= 0, got {nbytes!r}")
        if event is not None and event._value is not PENDING:
            raise ValueError("event= must be an untriggered event")

    # --------------------------------------------------------------- interface
    @abstractmethod
    def transfer(
        self,
        src: Hashable,
        dst: Hashable,
        nbytes: float,
        *,
        value: Any = None,
        event: simpy.Event | None = None,
        max_rate: float = math.inf,
    ) -> simpy.Event:
        """Send `nbytes` from `src` to `dst`; the returned event fires on delivery.

        Parameters
        ----------
        src, dst : node
            Topology nodes (hosts, usually).
        nbytes : float
            Payload bytes (finite, ``>= 0``, fractional allowed); the transport profile
            makes them wire bytes. Zero bytes still pay the route latency (and, with a
            framed transport, a header-only frame); ``src == dst`` is a local copy
            delivered with no delay and no transport cost.
        value : object, optional
            Value of the event when it fires (the payload).
        event : simpy.Event, optional
            An untriggered event to fire instead of a new one (a mailbox slot).
        max_rate : float, optional
            Upper bound on the flow's rate, wire bytes/s (e.g. a window limit).

        Returns
        -------
        simpy.Event
            Fires when the last byte arrives at `dst`, with value `value`.

        Raises
        ------
        RoutingError
            If `src` or `dst` is unknown or unreachable.
        ValueError
            If `nbytes` is negative, infinite or NaN, `max_rate` is not positive, or
            `event` is already triggered.
        """

    # ---------------------------------------------------------------- counters
    def transport_summary(self) -> dict[str, Any]:
        """Transport counters of the run so far, for reports.

        Returns
        -------
        dict
            ``transport`` (profile name), ``loss_rate``, ``payload_bytes``,
            ``bytes_retransmitted``, ``bytes_dropped`` (bytes) and ``goodput_fraction``
            (``payload_bytes / bytes_sent``; 1.0 before any byte is sent).
        """
        sent = self.bytes_sent
        return {
            "transport": self.transport.name,
            "loss_rate": self.loss_rate,
            "payload_bytes": float(self.payload_bytes),
            "bytes_retransmitted": float(self.bytes_retransmitted),
            "bytes_dropped": float(self.bytes_dropped),
            "goodput_fraction": float(self.payload_bytes / sent) if sent > 0 else 1.0,
        }

    def link_bytes(self) -> np.ndarray:
        """Bytes that have crossed each directed link so far (``bytes``)."""
        return np.array(self._link_bytes, dtype=np.float64)

    @abstractmethod
    def link_busy_time(self) -> np.ndarray:
        """Seconds each directed link has carried at least one flow, up to ``env.now``."""

    def link_flows(self) -> np.ndarray:
        """Number of flows that have started on each directed link."""
        return np.array(self._link_flows, dtype=np.int64)

    def link_stats(self) -> list[dict[str, Any]]:
        """Per directed link counters, up to ``env.now``.

        Returns
        -------
        list of dict
            One dict per directed link with keys ``src``, ``dst``, ``bandwidth``
            (bytes/s), ``latency`` (s), ``bytes`` (wire bytes), ``busy_time`` (s), ``flows`` and
            ``utilisation`` (``bytes / (bandwidth * now)``, 0 at time 0). Flows still
            active count their bytes sent so far and their busy time up to now.
        """
        now = self.env.now
        nbytes = self.link_bytes()
        busy = self.link_busy_time()
        flows = self.link_flows()
        stats = []
        for i, (u, v) in enumerate(self.links):
            bandwidth = self._caps[i]
            stats.append(
                {
                    "src": u,
                    "dst": v,
                    "bandwidth": bandwidth,
                    "latency": self._lats[i],
                    "bytes": float(nbytes[i]),
                    "busy_time": float(busy[i]),
                    "flows": int(flows[i]),
                    "utilisation": float(nbytes[i]) / (bandwidth * now) if now > 0 else 0.0,
                }
            )
        return stats

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.graph.number_of_nodes()} nodes, "
            f"{len(self.links)} directed links, {self.transfers} transfers>"
        )
