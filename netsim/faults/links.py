"""Network faults on a flow network: link state, routing around failures, lost and resent bytes.

:class:`LinkFaults` keeps, for every faulted link (an undirected edge: both directions
fail or degrade together), the reasons currently acting on it — down (a ``link_down``
or ``switch_down`` occurrence), degraded (``link_degrade``) or lossy (``loss_rate``) —
and turns them into the state of its two directed links in the network:

* **down**: capacity 0, and routing avoids the edge. The network re-routes the flows
  that cross it (:meth:`~netsim.network.flow.FlowNetwork.reroute_flows`): a flow with
  another path moves to it; one without stalls (rate 0) until the edge returns. Either
  way the bytes it had in flight — its rate times its route latency, at most what it had
  sent — are lost, and reliable transports send them again. A flow that stalls on an
  edge that will never come back (down without an end and no later ``link_up``) can
  never finish: the run stops with a :class:`~netsim.exceptions.SimulationError`
  naming the partition, instead of hanging.
* **degraded**: bandwidth = the smallest absolute ``bandwidth`` of the active
  degradations (else the link's own) times every active ``bandwidth_factor``; latency
  likewise (largest absolute ``latency``, times every ``latency_factor``). A latency
  change applies to flows that start after it.
* **lossy**: with loss rate ``p`` (combined ``1 − Π(1 − pᵢ)``) a reliable transport
  resends every lost packet, so the link delivers ``(1 − p)`` of its bandwidth as
  goodput and carries ``p / (1 − p)`` resent bytes per byte delivered, counted as
  ``bytes_resent``. Congestion-control reactions (TCP halving its window) are not
  modelled here.

When the edge returns, flows stalled on it resume where they are, flows stalled on
other failed edges try again to route around them, and new flows take the normal
routes again; flows already moved to a detour finish there.

Only network models with link state support these faults (``flow``; see
:func:`supports_network_faults`).
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable
from dataclasses import dataclass, field

import networkx as nx

from netsim.exceptions import RoutingError, ScenarioError, SimulationError
from netsim.topology import Router
from netsim.units import format_size, format_time

__all__ = ["LinkFaults", "FaultRouter", "Reason", "supports_network_faults", "find_edge"]

_FAULT_METHODS = ("set_link_capacity", "set_link_latency", "reroute_flows")


def supports_network_faults(network_class: type) -> bool:
    """Whether a network model class can apply link faults (it has link state to change)."""
    return all(callable(getattr(network_class, name, None)) for name in _FAULT_METHODS)


def find_edge(graph: nx.Graph, u: str, v: str, where: str) -> tuple[Hashable, Hashable]:
    """The topology edge ``u``-``v`` (either order), or a :class:`ScenarioError` naming ``where``."""
    for node in (u, v):
        if node not in graph:
            names = [str(n) for n in graph.nodes]
            close = difflib.get_close_matches(str(node), names, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ScenarioError(f"{where}: node {node!r} is not in the topology{hint}")
    if not graph.has_edge(u, v):
        neighbours = ", ".join(f"{u}-{n}" for n in list(graph.adj[u])[:8])
        raise ScenarioError(f"{where}: there is no link between {u!r} and {v!r}; {u!r} has: {neighbours}")
    return (u, v)


@dataclass(eq=False)
class Reason:
    """One fault occurrence acting on a link (identity matters: two are never equal).

    ``kind`` is ``down``, ``degrade`` or ``loss``; ``permanent`` marks a ``down`` that
    will never be lifted; ``record`` is the occurrence's record (bytes are added to it).
    """

    kind: str
    record: object = None
    permanent: bool = False
    open_ended: bool = False
    bandwidth: float | None = None
    bandwidth_factor: float = 1.0
    latency: float | None = None
    latency_factor: float = 1.0
    rate: float = 0.0


@dataclass
class _Edge:
    links: tuple[int, int]
    name: str
    reasons: list[Reason] = field(default_factory=list)

    def down(self) -> bool:
        return any(r.kind == "down" for r in self.reasons)


class FaultRouter:
    """A router that avoids failed edges, falling back to the normal path when none is left.

    ``path(src, dst)`` is the base router's path while nothing is down; otherwise the
    fewest-hop path (same mode and seed) on the topology without the failed edges, or,
    when the failures disconnect ``src`` from ``dst``, the base path (through a failed
    edge: the flow stalls there until the edge returns). Routers over each set of failed
    edges are cached.
    """

    def __init__(self, graph: nx.Graph, base) -> None:
        self.graph = graph
        self.base = base
        self.failed: set[tuple[Hashable, Hashable]] = set()
        self._routers: dict[frozenset, Router] = {}
        self.on_fallback = None  # called with the fallback path (to detect partitions)

    def path(self, src: Hashable, dst: Hashable) -> tuple:
        """The route from ``src`` to ``dst`` (nodes, both ends included)."""
        if not self.failed:
            return self.base.path(src, dst)
        key = frozenset(self.failed)
        router = self._routers.get(key)
        if router is None:
            view = nx.restricted_view(self.graph, [], list(self.failed))
            router = self._routers[key] = Router(view, mode=getattr(self.base, "mode", "shortest"), seed=getattr(self.base, "seed", 0))
        try:
            return router.path(src, dst)
        except RoutingError:
            path = tuple(self.base.path(src, dst))
            if self.on_fallback is not None:
                self.on_fallback(path)
            return path


class LinkFaults:
    """The faulted links of a network and their reasons (see the module docstring).

    Parameters
    ----------
    network : FlowNetwork
        A network with link state (:func:`supports_network_faults`); its router is
        replaced by a :class:`FaultRouter` around it.
    now : callable
        ``() -> float``, the simulated time (for messages).
    """

    def __init__(self, network, now) -> None:
        self.network = network
        self.router = FaultRouter(network.graph, network.router)
        self.router.on_fallback = self._check_path
        network.router = self.router
        self._now = now
        self._base_caps = list(network.capacity.tolist())
        self._base_lats = list(network.latency.tolist())
        self._edges: dict[tuple, _Edge] = {}
        # Loss accounting per directed link: (loss rate, link bytes when it was set).
        self._loss_mark: dict[int, tuple[float, float]] = {}
        self.bytes_lost = 0.0
        self.bytes_resent = 0.0

    # ------------------------------------------------------------------ reasons
    def edge(self, u: Hashable, v: Hashable) -> _Edge:
        """The state of edge ``u``-``v`` (created on first use)."""
        index = self.network.link_index
        a, b = index[(u, v)], index[(v, u)]
        key = (min(a, b), max(a, b))
        state = self._edges.get(key)
        if state is None:  # named as first asked for (a fault's link, in the user's order)
            state = self._edges[key] = _Edge(key, f"{u}-{v}")
        return state

    def add(self, edge: _Edge, reason: Reason) -> list:
        """Start ``reason`` on ``edge``; returns the flows it moved.

        A moved flow is ``(src, dst, old links, new links, bytes lost, bytes left)``.
        """
        lossy, was_down = self._lossy(edge), edge.down()
        edge.reasons.append(reason)
        self._account_loss(edge, lossy)
        return self._refresh(edge, was_down)

    def remove(self, edge: _Edge, reason: Reason) -> list:
        """End ``reason`` on ``edge`` (no effect if it already ended); returns the flows moved."""
        if reason not in edge.reasons:
            return []
        lossy, was_down = self._lossy(edge), edge.down()
        edge.reasons.remove(reason)
        self._account_loss(edge, lossy)
        return self._refresh(edge, was_down)

    @staticmethod
    def _lossy(edge: _Edge) -> list[Reason]:
        return [r for r in edge.reasons if r.kind == "loss"]

    def lift_open_downs(self, edge: _Edge) -> list[Reason]:
        """End every open-ended ``down`` reason of ``edge`` (a ``link_up``); returns them.

        What the repair moved is charged to each lifted reason's record.
        """
        lifted = [r for r in edge.reasons if r.kind == "down" and r.open_ended]
        for reason in lifted:
            self.charge(self.remove(edge, reason), reason.record, edge)
        return lifted

    # ------------------------------------------------------------------ effects
    def _refresh(self, edge: _Edge, was_down: bool) -> list:
        network = self.network
        down = edge.down()
        for link in edge.links:
            capacity, latency = self._state(link, edge)
            if capacity != network._caps[link]:
                network.set_link_capacity(link, capacity)
            if latency != network._lats[link]:
                network.set_link_latency(link, latency)
        if down == was_down:
            return []
        u, v = network.links[edge.links[0]]
        if down:
            self.router.failed.add((u, v))
            moved = network.reroute_flows(edge.links)
        else:  # its stalled flows go on (same route), and those stalled elsewhere try again
            self.router.failed.discard((u, v))
            stuck = [link for state in self._edges.values() if state.down() for link in state.links]
            moved = network.reroute_flows([*edge.links, *stuck])
        for flow in moved:
            self._check_flow(flow)
        return moved

    def _state(self, link: int, edge: _Edge) -> tuple[float, float]:
        """Capacity (bytes/s) and latency (s) of directed ``link`` under ``edge``'s reasons."""
        if edge.down():
            capacity = 0.0
        else:
            capacity = self._base_caps[link]
            absolute = [r.bandwidth for r in edge.reasons if r.kind == "degrade" and r.bandwidth is not None]
            if absolute:
                capacity = min(absolute)
            for r in edge.reasons:
                if r.kind == "degrade":
                    capacity *= r.bandwidth_factor
            capacity *= 1.0 - self._loss(edge)
        latency = self._base_lats[link]
        absolute = [r.latency for r in edge.reasons if r.kind == "degrade" and r.latency is not None]
        if absolute:
            latency = max(absolute)
        for r in edge.reasons:
            if r.kind == "degrade":
                latency *= r.latency_factor
        return capacity, latency

    @staticmethod
    def _loss(edge: _Edge) -> float:
        keep = 1.0
        for r in edge.reasons:
            if r.kind == "loss":
                keep *= 1.0 - r.rate
        return 1.0 - keep

    # --------------------------------------------------------------- accounting
    def _account_loss(self, edge: _Edge, previous: list[Reason]) -> None:
        """Close the loss interval of ``edge``'s links and open the next one.

        The bytes its links delivered since the last change, times ``p / (1 − p)`` at the
        loss rate ``p`` of that interval, were resent; they are shared among the
        ``previous`` loss reasons in proportion to their rates.
        """
        p = self._loss(edge)
        if not previous and p == 0.0:
            return
        sent = self.network.link_bytes()
        for link in edge.links:
            rate, mark = self._loss_mark.get(link, (0.0, 0.0))
            if rate > 0:
                self._add_resent((float(sent[link]) - mark) * rate / (1.0 - rate), previous)
            self._loss_mark[link] = (p, float(sent[link]))

    def _add_resent(self, resent: float, reasons: list[Reason]) -> None:
        if resent <= 0:
            return
        self.bytes_resent += resent
        network = self.network
        for name in ("bytes_sent", "bytes_retransmitted", "bytes_dropped"):
            if hasattr(network, name):
                setattr(network, name, getattr(network, name) + resent)
        total = sum(r.rate for r in reasons)
        for r in reasons:
            if r.record is not None and total > 0:
                r.record.bytes_resent += resent * r.rate / total

    def finish(self) -> None:
        """Close the open loss intervals (at the end of the run)."""
        for edge in self._edges.values():
            self._account_loss(edge, self._lossy(edge))

    def charge(self, moved: list, record, edge: _Edge | None = None) -> None:
        """Add what ``moved`` flows cost to ``record`` and the totals.

        Their lost bytes (also resent); without ``edge`` (a failure) they count as moved,
        with it (a repair) those that were waiting on ``edge`` count as stalled.
        """
        lost = sum(flow[4] for flow in moved)
        self.bytes_lost += lost
        self.bytes_resent += lost
        if record is None:
            return
        record.bytes_lost += lost
        record.bytes_resent += lost
        if edge is None:
            record.flows_moved += len(moved)
        else:
            record.flows_stalled += sum(1 for flow in moved if not set(flow[2]).isdisjoint(edge.links))

    # ----------------------------------------------------------------- partitions
    def _permanent(self, link: int) -> _Edge | None:
        for state in self._edges.values():
            if link in state.links and any(r.kind == "down" and r.permanent for r in state.reasons):
                return state
        return None

    def _check_flow(self, flow: tuple) -> None:
        src, dst, _old, links, _lost, left = flow
        for link in links:
            dead = self._permanent(link)
            if dead is not None:
                self._partition(dead, f"a flow {src} → {dst} with {format_size(left, 4)} left")

    def _check_path(self, path: tuple) -> None:
        index = self.network.link_index
        for hop in zip(path, path[1:], strict=False):
            dead = self._permanent(index[hop])
            if dead is not None:
                self._partition(dead, f"a new flow {path[0]} → {path[-1]}")

    def _partition(self, edge: _Edge, what: str) -> None:
        reason = next(r for r in edge.reasons if r.kind == "down" and r.permanent)
        source = getattr(reason.record, "label", "a fault")
        raise SimulationError(
            f"partition that never heals at t = {format_time(self._now(), 6)}: link {edge.name} is down for good "
            f"({source}: no end and no later link_up) and {what} has no other path; "
            "give the fault a duration or end, or add a link_up"
        )

    def down_edges(self) -> list[str]:
        """Names of the edges down now."""
        return [state.name for state in self._edges.values() if state.down()]
