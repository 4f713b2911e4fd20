"""Builders of flat topologies: star, ring, dumbbell and torus.

Every builder returns a validated :class:`networkx.Graph`: hosts ``"h0"``,
``"h1"``, ... (``kind="host"``, added first, in rank order, also listed in
``G.graph["hosts"]``), switches ``"s0"``, ``"s1"``, ... (``kind="switch"``), and
edges with ``bandwidth`` (bytes/s per direction; links are full duplex) and
``latency`` (seconds, one way). Bandwidths and latencies are numbers in SI base
units or strings with units (``"100Gbps"``, ``"2us"``).

The hierarchical switch fabrics (``tree``, ``fat_tree``) live in
:mod:`netsim.topology.tree`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx

from netsim.exceptions import TopologyError
from netsim.topology._params import check_bandwidth, check_count, check_latency
from netsim.topology.validate import validate_topology
from netsim.units import format_bandwidth, format_time

__all__ = ["star", "ring", "dumbbell", "torus", "host_graph"]


def host_graph(n: int, name: str, description: str) -> nx.Graph:
    """Return a graph holding hosts ``h0`` .. ``h{n-1}`` (in rank order) and no edges.

    Parameters
    ----------
    n : int
        Number of hosts.
    name, description : str
        Stored as ``G.graph["name"]`` and ``G.graph["description"]``.

    Examples
    --------
    >>> G = host_graph(2, "pair", "two hosts")
    >>> list(G.nodes(data="kind")), G.graph["hosts"]
    ([('h0', 'host'), ('h1', 'host')], ['h0', 'h1'])
    """
    names = [f"h{i}" for i in range(n)]
    G = nx.Graph(name=name, description=description, hosts=names)
    G.add_nodes_from(names, kind="host")
    return G


def _links(bandwidth: float, latency: float) -> str:
    return f"{format_bandwidth(bandwidth)}, {format_time(latency)} links"


def star(hosts: int, bandwidth: float | str, latency: float | str) -> nx.Graph:
    """Return a star: every host linked to one switch ``"s0"``.

    Parameters
    ----------
    hosts : int
        Number of hosts, >= 1.
    bandwidth : float or str
        Bandwidth of every link, bytes/s per direction (or e.g. ``"100Gbps"``).
    latency : float or str
        One-way latency of every link, seconds (or e.g. ``"1us"``).

    Returns
    -------
    networkx.Graph
        ``hosts + 1`` nodes and ``hosts`` edges ``(h_i, "s0")``.

    Raises
    ------
    TopologyError
        If a parameter is invalid; the message names it and its value.

    Examples
    --------
    >>> G = star(4, "100Gbps", "1us")
    >>> G.number_of_nodes(), G.number_of_edges(), G.graph["hosts"]
    (5, 4, ['h0', 'h1', 'h2', 'h3'])
    >>> G.edges["h0", "s0"]
    {'bandwidth': 12500000000.0, 'latency': 1e-06}
    """
    n = check_count("hosts", hosts)
    bw = check_bandwidth("bandwidth", bandwidth)
    lat = check_latency("latency", latency)
    G = host_graph(n, "star", f"star: {n} hosts on one switch, {_links(bw, lat)}")
    G.add_node("s0", kind="switch")
    G.add_edges_from(((h, "s0") for h in G.graph["hosts"]), bandwidth=bw, latency=lat)
    return validate_topology(G)


def ring(hosts: int, bandwidth: float | str, latency: float | str) -> nx.Graph:
    """Return a ring of hosts linked directly, ``h_i`` -- ``h_(i+1 mod n)``, without switches.

    Parameters
    ----------
    hosts : int
        Number of hosts ``n``, >= 1. ``n = 1`` gives a single node and ``n = 2`` a
        single edge.
    bandwidth : float or str
        Bandwidth of every link, bytes/s per direction.
    latency : float or str
        One-way latency of every link, seconds.

    Returns
    -------
    networkx.Graph
        ``n`` hosts and ``n`` edges (``n - 1`` for ``n <= 2``).

    Raises
    ------
    TopologyError
        If a parameter is invalid.

    Examples
    --------
    >>> G = ring(4, 1e9, 0)
    >>> sorted(G.edges)
    [('h0', 'h1'), ('h0', 'h3'), ('h1', 'h2'), ('h2', 'h3')]
    >>> ring(2, 1e9, 0).number_of_edges()
    1
    """
    n = check_count("hosts", hosts)
    bw = check_bandwidth("bandwidth", bandwidth)
    lat = check_latency("latency", latency)
    G = host_graph(n, "ring", f"ring: {n} hosts linked directly in a cycle, {_links(bw, lat)}")
    names = G.graph["hosts"]
    pairs = [(names[i], names[i + 1]) for i in range(n - 1)]
    if n > 2:
        pairs.append((names[-1], names[0]))
    G.add_edges_from(pairs, bandwidth=bw, latency=lat)
    return validate_topology(G)


def dumbbell(
    hosts_left: int,
    hosts_right: int,
    bandwidth: float | str,
    latency: float | str,
    bottleneck_bandwidth: float | str | None = None,
    bottleneck_latency: float | str | None = None,
) -> nx.Graph:
    """Return a dumbbell: two switches joined by one bottleneck link.

    Hosts ``h0`` .. ``h{L-1}`` hang off switch ``"s0"`` and the next ``R`` hosts off
    ``"s1"``; the edge ``("s0", "s1")`` is the bottleneck
    (``G.graph["bottleneck"] == ("s0", "s1")``).

    Parameters
    ----------
    hosts_left, hosts_right : int
        Number of hosts ``L`` and ``R`` on each side, each >= 1.
    bandwidth : float or str
        Bandwidth of the host links, bytes/s per direction.
    latency : float or str
        One-way latency of the host links, seconds.
    bottleneck_bandwidth : float or str, optional
        Bandwidth of the bottleneck link, bytes/s; defaults to ``bandwidth``.
    bottleneck_latency : float or str, optional
        One-way latency of the bottleneck link, seconds; defaults to ``latency``.

    Returns
    -------
    networkx.Graph
        ``L + R`` hosts, 2 switches and ``L + R + 1`` edges.

    Raises
    ------
    TopologyError
        If a parameter is invalid.

    Examples
    --------
    >>> G = dumbbell(2, 3, "10Gbps", "1us", bottleneck_bandwidth="1Gbps", bottleneck_latency="1ms")
    >>> G.graph["hosts"]
    ['h0', 'h1', 'h2', 'h3', 'h4']
    >>> G.edges["s0", "s1"]
    {'bandwidth': 125000000.0, 'latency': 0.001}
    >>> sorted(G["s1"])
    ['h2', 'h3', 'h4', 's0']
    """
    left = check_count("hosts_left", hosts_left)
    right = check_count("hosts_right", hosts_right)
    bw = check_bandwidth("bandwidth", bandwidth)
    lat = check_latency("latency", latency)
    neck_bw = (
        bw
        if bottleneck_bandwidth is None
        else check_bandwidth("bottleneck_bandwidth", bottleneck_bandwidth)
    )
    neck_lat = (
        lat
        if bottleneck_latency is None
        else check_latency("bottleneck_latency", bottleneck_latency)
    )
    description = (
        f"dumbbell: {left} + {right} hosts on two switches, {_links(bw, lat)}, "
        f"bottleneck {format_bandwidth(neck_bw)}, {format_time(neck_lat)}"
    )
    G = host_graph(left + right, "dumbbell", description)
    G.graph["bottleneck"] = ("s0", "s1")
    G.add_nodes_from(["s0", "s1"], kind="switch")
    names = G.graph["hosts"]
    G.add_edges_from(((h, "s0") for h in names[:left]), bandwidth=bw, latency=lat)
    G.add_edges_from(((h, "s1") for h in names[left:]), bandwidth=bw, latency=lat)
    G.add_edge("s0", "s1", bandwidth=neck_bw, latency=neck_lat)
    return validate_topology(G)


def _default_dims(n: int) -> tuple[int, ...]:
    """The most square 2-D shape ``(a, b)`` with ``a * b == n``, ``a >= b``; 1-D when ``n`` is prime."""
    b = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return (n,) if b == 1 else (n // b, b)


def torus(
    hosts: int,
    bandwidth: float | str,
    latency: float | str,
    dims: Sequence[int] | None = None,
) -> nx.Graph:
    """Return a torus of hosts linked directly to their grid neighbours (with wrap-around).

    Host ``h_i`` sits at the row-major coordinates of ``i`` in a grid of shape
    ``dims`` and is linked to the next host along each dimension, modulo its size
    (a dimension of size 2 gives one link, of size 1 none). A 1-D torus is a ring.

    Parameters
    ----------
    hosts : int
        Number of hosts, >= 1.
    bandwidth : float or str
        Bandwidth of every link, bytes/s per direction.
    latency : float or str
        One-way latency of every link, seconds.
    dims : sequence of int, optional
        Grid shape, each >= 1, whose product is ``hosts``. Defaults to the most
        square 2-D shape (1-D if ``hosts`` is prime). Stored as ``G.graph["dims"]``.

    Returns
    -------
    networkx.Graph

    Raises
    ------
    TopologyError
        If a parameter is invalid or ``dims`` does not multiply to ``hosts``.

    Examples
    --------
    >>> G = torus(12, "100Gbps", "1us")
    >>> G.graph["dims"], G.number_of_edges(), dict(G.degree)["h0"]
    ((4, 3), 24, 4)
    >>> sorted(G["h0"])
    ['h1', 'h2', 'h3', 'h9']
    """
    n = check_count("hosts", hosts)
    bw = check_bandwidth("bandwidth", bandwidth)
    lat = check_latency("latency", latency)
    if dims is None:
        shape = _default_dims(n)
    else:
        if isinstance(dims, str | bytes) or not isinstance(dims, Sequence) or len(dims) == 0:
            raise TopologyError(f"dims must be a non-empty list of integers, got {dims!r}")
        shape = tuple(check_count(f"dims[{i}]", d) for i, d in enumerate(dims))
        if math.prod(shape) != n:
            raise TopologyError(
                f"dims {list(dims)!r} hold {math.prod(shape)} hosts, but hosts = {n}"
            )
    description = f"torus: {n} hosts in a {'x'.join(map(str, shape))} torus, {_links(bw, lat)}"
    G = host_graph(n, "torus", description)
    G.graph["dims"] = shape
    names = G.graph["hosts"]
    strides = [math.prod(shape[d + 1 :]) for d in range(len(shape))]
    for i in range(n):
        for size, stride in zip(shape, strides, strict=True):
            if size < 2:
                continue
            coord = (i // stride) % size
            j = i + ((coord + 1) % size - coord) * stride
            G.add_edge(names[i], names[j], bandwidth=bw, latency=lat)
    return validate_topology(G)
