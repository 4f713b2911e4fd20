"""Routes through a topology: fewest hops, with reproducible tie-breaks or seeded ECMP.

A :class:`Router` answers ``path(src, dst)`` with a tuple of nodes. Routes are
shortest in hops. Among equal-cost next hops, ``mode="shortest"`` takes the
neighbour added to the graph first, and ``mode="ecmp"`` makes a pseudo-random
choice from a stable hash of ``(seed, src, dst, current node)``, so different pairs
spread over different paths while the same seed gives the same paths in every
process (no use of Python's per-process ``hash()``).

How: a breadth-first search from the destination gives hop distances (cached per
destination, and stopped as soon as the source is reached, to be resumed by later
queries); the route then walks from the source, each step to a neighbour one hop
closer. A destination with a single neighbour (a host on its switch) shares the
search of that neighbour, so all hosts of a star or leaf switch cost one search.
"""

from __future__ import annotations

import hashlib
import numbers
from collections import deque
from collections.abc import Hashable

import networkx as nx

from netsim.exceptions import RoutingError, ScenarioError

__all__ = ["Router", "ROUTING_MODES"]

#: Routing modes and what they do.
ROUTING_MODES = {
    "shortest": "fewest hops; ties go to the neighbour added to the graph first",
    "ecmp": "fewest hops; ties split by a seeded hash of (source, destination), per hop",
}


class Router:
    """Shortest-path routes over a topology, cached per (source, destination) pair.

    The router reads the graph's structure once, at construction: build a new
    router after changing the graph's nodes or edges.

    Parameters
    ----------
    graph : networkx.Graph
        The topology. Routes may pass through any node, hosts included (a ring
        forwards through hosts).
    mode : {"shortest", "ecmp"}, default "shortest"
        How to choose among equal-cost next hops (see :data:`ROUTING_MODES`).
    seed : int, default 0
        Non-negative seed of the ECMP choices (unused by ``"shortest"``).

    Raises
    ------
    ScenarioError
        If ``mode`` or ``seed`` is invalid.

    Examples
    --------
    >>> from netsim.topology import ring
    >>> router = Router(ring(6, "10Gbps", "1us"))
    >>> router.path("h0", "h2")
    ('h0', 'h1', 'h2')
    >>> router.path("h0", "h3")  # two equal routes: h1 was added before h5
    ('h0', 'h1', 'h2', 'h3')
    >>> router.links("h0", "h2")
    (('h0', 'h1'), ('h1', 'h2'))
    >>> router.path("h4", "h4")
    ('h4',)
    """

    def __init__(self, graph: nx.Graph, mode: str = "shortest", seed: int = 0) -> None:
        if mode not in ROUTING_MODES:
            raise ScenarioError(
                f"routing mode {mode!r} is not accepted; accepted: {', '.join(ROUTING_MODES)}"
            )
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ScenarioError(f"routing seed must be a non-negative integer, got {seed!r}")
        self.graph = graph
        self.mode = mode
        self.seed = int(seed)
        self._nodes: list = list(graph.nodes)
        self._index: dict = {node: i for i, node in enumerate(self._nodes)}
        index = self._index
        self._adj: list[list[int]] = [
            sorted(index[v] for v in graph.adj[u] if v != u) for u in self._nodes
        ]
        self._searches: dict[int, tuple[dict[int, int], deque]] = {}
        self._paths: dict[tuple, tuple] = {}
        self._keys: list[bytes] = []
        if mode == "ecmp":
            self._keys = [repr(node).encode() for node in self._nodes]
            self._seed_key = str(self.seed).encode()

    def __repr__(self) -> str:
        name = self.graph.graph.get("name", "")
        return f"Router({name!r}, mode={self.mode!r}, seed={self.seed}, nodes={len(self._nodes)})"

    def path(self, src: Hashable, dst: Hashable) -> tuple:
        """Return the route from ``src`` to ``dst``.

        Parameters
        ----------
        src, dst : node
            Nodes of the graph.

        Returns
        -------
        tuple
            The nodes from ``src`` to ``dst`` inclusive, fewest hops; ``(src,)`` when
            ``src == dst``. The same pair always gets the same route.

        Raises
        ------
        RoutingError
            If a node is not in the graph or no path joins them.
        """
        key = (src, dst)
        try:
            return self._paths[key]
        except KeyError:
            pass
        except TypeError:
            raise RoutingError(f"unknown node in route request {src!r} -> {dst!r}") from None
        s, d = self._lookup(src, "source"), self._lookup(dst, "destination")
        route = tuple(self._nodes[i] for i in self._route(s, d))
        self._paths[key] = route
        return route

    def links(self, src: Hashable, dst: Hashable) -> tuple:
        """Return the directed links ``(u, v)`` of :meth:`path` in order (empty when ``src == dst``).

        Raises
        ------
        RoutingError
            As :meth:`path`.
        """
        route = self.path(src, dst)
        return tuple(zip(route[:-1], route[1:], strict=True))

    def hops(self, src: Hashable, dst: Hashable) -> int:
        """Return the number of links on the route from ``src`` to ``dst``.

        Raises
        ------
        RoutingError
            As :meth:`path`.
        """
        return len(self.path(src, dst)) - 1

    def _lookup(self, node: Hashable, role: str) -> int:
        try:
            return self._index[node]
        except (KeyError, TypeError):
            raise RoutingError(f"unknown {role} node {node!r}: not in the topology") from None

    def _route(self, s: int, d: int) -> list[int]:
        if s == d:
            return [s]
        neighbours = self._adj[d]
        if len(neighbours) == 1:
            # Every route into a single-homed node ends with its only neighbour.
            anchor = neighbours[0]
            if s == anchor:
                return [s, d]
            return self._walk(s, anchor, d) + [d]
        return self._walk(s, d, d)

    def _distances(self, target: int, s: int) -> dict[int, int]:
        """Hop distances to ``target``; the search runs until it has reached ``s``."""
        search = self._searches.get(target)
        if search is None:
            search = ({target: 0}, deque([target]))
            self._searches[target] = search
        dist, queue = search
        adj = self._adj
        while s not in dist:
            if not queue:
                raise RoutingError(
                    f"no path from {self._nodes[s]!r} to {self._nodes[target]!r}: they are not connected"
                )
            u = queue.popleft()
            du = dist[u] + 1
            for v in adj[u]:
                if v not in dist:
                    dist[v] = du
                    queue.append(v)
        return dist

    def _walk(self, s: int, target: int, d: int) -> list[int]:
        """Walk from ``s`` to ``target``; ``d`` is the requested destination (seeds ECMP)."""
        try:
            dist = self._distances(target, s)
        except RoutingError:
            raise RoutingError(
                f"no path from {self._nodes[s]!r} to {self._nodes[d]!r}: they are not connected"
            ) from None
        adj = self._adj
        ecmp = self.mode == "ecmp"
        route = [s]
        u = s
        left = dist[s]
        while left > 0:
            left -= 1
            if ecmp:
                closer = [v for v in adj[u] if dist.get(v) == left]
                u = closer[self._pick(s, d, u, len(closer))] if len(closer) > 1 else closer[0]
            else:
                u = next(v for v in adj[u] if dist.get(v) == left)
            route.append(u)
        return route

    def _pick(self, s: int, d: int, u: int, count: int) -> int:
        """Stable pseudo-random index in ``range(count)`` from (seed, src, dst, node)."""
        keys = self._keys
        digest = hashlib.blake2b(
            b"\x00".join((self._seed_key, keys[s], keys[d], keys[u])), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big") % count
