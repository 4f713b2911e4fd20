"""Validate topologies and read their hosts and summary.

A topology is an undirected :class:`networkx.Graph` in which

* every node has ``kind`` ``"host"`` or ``"switch"``;
* every edge has ``bandwidth`` (bytes/s, per direction: links are full duplex),
  positive and finite, and ``latency`` (seconds, one way), non-negative and finite;
* ``G.graph["hosts"]`` lists the host nodes in rank order (optional: without it the
  hosts are taken in node insertion order) and ``G.graph["name"]`` names it;
* the graph is connected and has at least one host.

Examples
--------
>>> import networkx as nx
>>> G = nx.Graph(name="pair", hosts=["a", "b"])
>>> G.add_nodes_from(["a", "b"], kind="host")
>>> G.add_edge("a", "b", bandwidth=1e9, latency=1e-6)
>>> validate_topology(G) is G
True
>>> hosts(G)
['a', 'b']
>>> describe(G)["links"]
1
"""

from __future__ import annotations

import math
import numbers

import networkx as nx

from netsim.exceptions import TopologyError

__all__ = ["KINDS", "validate_topology", "hosts", "switches", "describe"]

#: Accepted values of the node attribute ``kind``.
KINDS = ("host", "switch")


def validate_topology(G: nx.Graph) -> nx.Graph:
    """Check that ``G`` is a valid topology and return it unchanged.

    Parameters
    ----------
    G : networkx.Graph
        The topology to check (see the module docstring for the rules).

    Returns
    -------
    networkx.Graph
        ``G`` itself, so builders can ``return validate_topology(G)``.

    Raises
    ------
    TopologyError
        On the first violation, naming the node or edge and the offending value:
        not an undirected simple graph, no nodes or no host, a node without a valid
        ``kind``, a bad ``G.graph["hosts"]`` list, a self-loop, a missing, non-positive
        or non-finite ``bandwidth``, a missing, negative or non-finite ``latency``, or
        a disconnected graph.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.Graph()
    >>> G.add_node("h0", kind="host")
    >>> G.add_node("s0", kind="router")
    >>> validate_topology(G)
    Traceback (most recent call last):
    ...
    netsim.exceptions.TopologyError: node 's0' has kind 'router'; accepted kinds: 'host', 'switch'
    """
    if not isinstance(G, nx.Graph) or G.is_directed() or G.is_multigraph():
        raise TopologyError(
            f"a topology must be an undirected networkx.Graph (not a multigraph), got {type(G).__name__}"
        )
    if G.number_of_nodes() == 0:
        raise TopologyError("the topology has no nodes; it needs at least one host")
    for node, kind in G.nodes(data="kind"):
        if kind not in KINDS:
            raise TopologyError(
                f"node {node!r} has kind {kind!r}; accepted kinds: 'host', 'switch'"
            )
    host_nodes = [node for node, kind in G.nodes(data="kind") if kind == "host"]
    if not host_nodes:
        raise TopologyError("the topology has no host (no node with kind 'host')")
    if "hosts" in G.graph:
        _check_rank_order(G, host_nodes)
    for u, v, data in G.edges(data=True):
        if u == v:
            raise TopologyError(f"edge ({u!r}, {v!r}) is a self-loop")
        _check_edge_value(u, v, data, "bandwidth", "bytes/s", allow_zero=False)
        _check_edge_value(u, v, data, "latency", "s", allow_zero=True)
    if not nx.is_connected(G):
        reached = nx.node_connected_component(G, host_nodes[0])
        stray = next(node for node in G if node not in reached)
        count = nx.number_connected_components(G)
        raise TopologyError(
            f"the topology is not connected ({count} components): node {stray!r} cannot reach host {host_nodes[0]!r}"
        )
    return G


def _check_rank_order(G: nx.Graph, host_nodes: list) -> None:
    ranked = G.graph["hosts"]
    if isinstance(ranked, str | bytes) or not isinstance(ranked, list | tuple):
        raise TopologyError(f'G.graph["hosts"] must be a list of host nodes, got {ranked!r}')
    seen = set()
    for rank, node in enumerate(ranked):
        if node not in G:
            raise TopologyError(
                f'G.graph["hosts"][{rank}] = {node!r} is not a node of the topology'
            )
        if G.nodes[node].get("kind") != "host":
            raise TopologyError(
                f'G.graph["hosts"][{rank}] = {node!r} is a {G.nodes[node].get("kind")}, not a host'
            )
        if node in seen:
            raise TopologyError(f'G.graph["hosts"][{rank}] = {node!r} is listed twice')
        seen.add(node)
    missing = [node for node in host_nodes if node not in seen]
    if missing:
        raise TopologyError(f'host {missing[0]!r} is missing from G.graph["hosts"]')


def _check_edge_value(u, v, data: dict, key: str, unit: str, allow_zero: bool) -> None:
    if key not in data:
        raise TopologyError(f"edge ({u!r}, {v!r}) has no {key!r} attribute ({unit})")
    value = data[key]
    bound = "non-negative" if allow_zero else "positive"
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        raise TopologyError(
            f"edge ({u!r}, {v!r}): {key} must be a {bound} finite number in {unit}, got {value!r}"
        )


def hosts(G: nx.Graph) -> list:
    """Return the host nodes of ``G`` in rank order.

    Parameters
    ----------
    G : networkx.Graph
        A topology.

    Returns
    -------
    list
        ``G.graph["hosts"]`` if present, else the nodes of kind ``"host"`` in
        insertion order.

    Examples
    --------
    >>> from netsim.topology import star
    >>> hosts(star(3, "10Gbps", "1us"))
    ['h0', 'h1', 'h2']
    """
    if "hosts" in G.graph:
        return list(G.graph["hosts"])
    return [node for node, kind in G.nodes(data="kind") if kind == "host"]


def switches(G: nx.Graph) -> list:
    """Return the switch nodes of ``G`` in insertion order.

    Examples
    --------
    >>> from netsim.topology import star
    >>> switches(star(3, "10Gbps", "1us"))
    ['s0']
    """
    return [node for node, kind in G.nodes(data="kind") if kind == "switch"]


def describe(G: nx.Graph) -> dict:
    """Summarise a topology.

    Parameters
    ----------
    G : networkx.Graph
        A topology.

    Returns
    -------
    dict
        ``name`` (str), ``hosts``, ``switches`` and ``links`` (counts),
        ``min_bandwidth`` and ``max_bandwidth`` (bytes/s per direction),
        ``min_latency`` and ``max_latency`` (s). The four extremes are ``None``
        when the topology has no link.

    Examples
    --------
    >>> from netsim.topology import dumbbell
    >>> d = describe(dumbbell(2, 2, 100.0, 1e-6, bottleneck_bandwidth=10.0))
    >>> d["hosts"], d["switches"], d["links"], d["min_bandwidth"], d["max_bandwidth"]
    (4, 2, 5, 10.0, 100.0)
    """
    bandwidths = [bw for _, _, bw in G.edges(data="bandwidth")]
    latencies = [lat for _, _, lat in G.edges(data="latency")]
    return {
        "name": G.graph.get("name", ""),
        "hosts": len(hosts(G)),
        "switches": len(switches(G)),
        "links": G.number_of_edges(),
        "min_bandwidth": min(bandwidths) if bandwidths else None,
        "max_bandwidth": max(bandwidths) if bandwidths else None,
        "min_latency": min(latencies) if latencies else None,
        "max_latency": max(latencies) if latencies else None,
    }
