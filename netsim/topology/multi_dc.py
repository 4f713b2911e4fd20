"""Several datacenters joined by wide-area (WAN) links.

Each datacenter is any topology (a star, a tree, a fat-tree, a :func:`gpu_cluster`, a
file); its nodes are renamed ``dc<i>.<name>`` and every node gets the attribute ``dc``.
Hosts keep their order inside a datacenter and datacenters follow each other, so ranks
are datacenter-major: ``G.graph["hosts"]`` lists datacenter 0's hosts first, and
``G.graph["datacenters"]`` the hosts of each datacenter. With equal datacenters of
``a`` hosts, ``communication.group_size = a`` makes the hierarchical allreduce reduce
inside every datacenter first and cross the WAN with ``1/a`` of the vector per rank
(on a star the default grouping, by first-hop switch, already does that).

The WAN attaches at each datacenter's *border*: ``G.graph["border"]`` of its graph if
set (a GPU cluster's spines), else the top-level switches (a tree's root, a fat-tree's
core), else the switches farthest from the hosts (a star's switch). One border switch carries the WAN links
itself; several are joined to a gateway switch ``dc<i>.gw`` by links of the
datacenter's whole WAN bandwidth and no latency. Every pair of datacenters is joined by
one WAN link (a full mesh) of ``wan_bandwidth`` per direction whose one-way latency is
``wan_latency``, or :data:`FIBRE_LATENCY_PER_KM` × the distance.

Examples
--------
>>> from netsim.topology import star
>>> G = multi_dc(star(2, "100Gbps", "1us"), datacenters=2, wan_bandwidth="10Gbps", distance_km=1000)
>>> G.graph["hosts"], G.graph["datacenters"]
(['dc0.h0', 'dc0.h1', 'dc1.h0', 'dc1.h1'], [['dc0.h0', 'dc0.h1'], ['dc1.h0', 'dc1.h1']])
>>> G.edges["dc0.s0", "dc1.s0"]
{'bandwidth': 1250000000.0, 'latency': 0.005, 'wan': True, 'distance_km': 1000.0}
>>> G.nodes["dc1.h0"]["dc"]
1
"""

from __future__ import annotations

import math
import numbers
from collections import deque
from collections.abc import Sequence

import networkx as nx

from netsim.exceptions import TopologyError
from netsim.topology._params import check_bandwidth, check_count, check_latency
from netsim.topology.validate import hosts as host_list
from netsim.topology.validate import validate_topology
from netsim.units import format_bandwidth, format_time

__all__ = ["multi_dc", "fibre_latency", "border_switches", "FIBRE_LATENCY_PER_KM"]

FIBRE_LATENCY_PER_KM = 5e-6
"""One-way latency of optical fibre, s per km: light travels at about c/1.47, i.e. ~204,000 km/s,
so ≈ 5 µs per km (REFERENCES §6: "WAN between datacenters … ≈ 5 µs per km of fibre")."""


def fibre_latency(distance_km: float) -> float:
    """One-way propagation latency of ``distance_km`` kilometres of fibre, seconds.

    Raises
    ------
    TopologyError
        If the distance is not a finite number >= 0.

    Examples
    --------
    >>> fibre_latency(1000)
    0.005
    """
    if isinstance(distance_km, bool) or not isinstance(distance_km, numbers.Real):
        raise TopologyError(f"distance_km must be a number of kilometres >= 0, got {distance_km!r}")
    km = float(distance_km)
    if not math.isfinite(km) or km < 0:
        raise TopologyError(f"distance_km must be a finite number of kilometres >= 0, got {distance_km!r}")
    return km * FIBRE_LATENCY_PER_KM


def border_switches(G: nx.Graph) -> list:
    """The switches of ``G`` a WAN link attaches to.

    ``G.graph["border"]`` if present, else the switches of the highest ``level`` when
    every switch has one (a tree's root, a fat-tree's core), else the switches at the
    largest hop distance from the nearest host; in node order.

    Raises
    ------
    TopologyError
        If ``G`` has no switch.

    Examples
    --------
    >>> from netsim.topology import tree
    >>> border_switches(tree(8, "100Gbps", "1us", fanout=2))
    ['s6']
    """
    if G.graph.get("border"):
        return list(G.graph["border"])
    switch_nodes = [node for node, kind in G.nodes(data="kind") if kind == "switch"]
    if not switch_nodes:
        raise TopologyError(f"topology {G.graph.get('name', '')!r} has no switch to attach a WAN link to")
    levels = [G.nodes[s].get("level") for s in switch_nodes]
    if all(isinstance(level, numbers.Real) for level in levels):
        top = max(levels)
        return [s for s, level in zip(switch_nodes, levels, strict=True) if level == top]
    distance = dict.fromkeys(host_list(G), 0)
    queue = deque(distance)
    while queue:
        u = queue.popleft()
        for v in G.adj[u]:
            if v not in distance:
                distance[v] = distance[u] + 1
                queue.append(v)
    far = max(distance[s] for s in switch_nodes)
    return [s for s in switch_nodes if distance[s] == far]


def _distances(distance_km: object, k: int) -> list[list[float]]:
    """A ``k × k`` matrix of kilometres from a number or a symmetric matrix."""
    if isinstance(distance_km, numbers.Real) and not isinstance(distance_km, bool):
        fibre_latency(distance_km)
        return [[float(distance_km)] * k for _ in range(k)]
    if isinstance(distance_km, str | bytes) or not isinstance(distance_km, Sequence) or len(distance_km) != k:
        raise TopologyError(
            f"distance_km must be a number or a {k} x {k} matrix (one row per datacenter), got {distance_km!r}"
        )
    rows = []
    for i, row in enumerate(distance_km):
        if isinstance(row, str | bytes) or not isinstance(row, Sequence) or len(row) != k:
            raise TopologyError(f"distance_km[{i}] must be a row of {k} numbers, got {row!r}")
        for j, value in enumerate(row):
            try:
                fibre_latency(value)
            except TopologyError:
                raise TopologyError(f"distance_km[{i}][{j}] must be a finite number >= 0, got {value!r}") from None
        rows.append([float(v) for v in row])
    for i in range(k):
        for j in range(i):
            if rows[i][j] != rows[j][i]:
                raise TopologyError(
                    f"distance_km must be symmetric: [{i}][{j}] = {rows[i][j]:g} but [{j}][{i}] = {rows[j][i]:g}"
                )
    return rows


def multi_dc(
    datacenter: nx.Graph | Sequence[nx.Graph],
    datacenters: int | None = None,
    wan_bandwidth: float | str = "100Gbps",
    distance_km: float | Sequence[Sequence[float]] | None = None,
    wan_latency: float | str | None = None,
) -> nx.Graph:
    """Return datacenters joined pairwise by WAN links.

    Parameters
    ----------
    datacenter : networkx.Graph or sequence of networkx.Graph
        One topology, copied ``datacenters`` times, or one per datacenter.
    datacenters : int, optional
        Number of datacenters, >= 2 (default 2 for one graph; the list's length otherwise).
    wan_bandwidth : float or str, default "100Gbps"
        Bandwidth of every WAN link, bytes/s per direction (REFERENCES §6: 1-100 Gbps).
    distance_km : float or matrix, optional
        Fibre distance between datacenters, km: one number for every pair or a
        symmetric matrix. Latency = distance × :data:`FIBRE_LATENCY_PER_KM`.
    wan_latency : float or str, optional
        One-way latency of every WAN link, s; instead of ``distance_km``.

    Returns
    -------
    networkx.Graph
        ``G.graph`` also holds ``datacenters`` (hosts per datacenter), ``wan_links``
        (border pairs), ``wan_bandwidth`` (bytes/s), ``wan_latency`` (s, the largest),
        and ``gpus_per_node`` when every datacenter is a GPU cluster with the same one.
        WAN edges carry ``wan = True`` and ``distance_km`` (``None`` with ``wan_latency``).

    Raises
    ------
    TopologyError
        If a parameter is invalid, naming it and its value.

    Examples
    --------
    >>> from netsim.topology import gpu_cluster
    >>> G = multi_dc(gpu_cluster(nodes=2, gpus_per_node=2), datacenters=3, wan_latency="2ms")
    >>> len(G.graph["hosts"]), G.graph["gpus_per_node"], len(G.graph["wan_links"])
    (12, 2, 3)
    >>> G.nodes["dc2.h3"]["node"], G.nodes["dc2.h3"]["dc"]
    (1, 2)
    """
    if isinstance(datacenter, nx.Graph):
        k = 2 if datacenters is None else check_count("datacenters", datacenters, minimum=2)
        graphs = [datacenter] * k
    elif isinstance(datacenter, Sequence) and datacenter and all(isinstance(g, nx.Graph) for g in datacenter):
        graphs = list(datacenter)
        k = len(graphs)
        if k < 2:
            raise TopologyError(f"datacenter: give at least 2 topologies, got {k}")
        if datacenters is not None and check_count("datacenters", datacenters, minimum=2) != k:
            raise TopologyError(f"datacenters = {datacenters} but {k} datacenter topologies were given")
    else:
        raise TopologyError(f"datacenter must be a topology (networkx.Graph) or a list of them, got {datacenter!r}")
    bw = check_bandwidth("wan_bandwidth", wan_bandwidth)
    if (distance_km is None) == (wan_latency is None):
        raise TopologyError(
            f"give distance_km or wan_latency (one of them), got distance_km={distance_km!r}, wan_latency={wan_latency!r}"
        )
    km = None if distance_km is None else _distances(distance_km, k)
    fixed = None if wan_latency is None else check_latency("wan_latency", wan_latency)

    G = nx.Graph(name="multi_dc")
    ranks: list = []
    per_dc: list[list] = []
    attach: list = []
    for i, inner in enumerate(graphs):
        validate_topology(inner)
        rename = {node: f"dc{i}.{node}" for node in inner}
        for node, data in inner.nodes(data=True):
            G.add_node(rename[node], **data, dc=i)
        for u, v, data in inner.edges(data=True):
            G.add_edge(rename[u], rename[v], **data)
        members = [rename[h] for h in host_list(inner)]
        per_dc.append(members)
        ranks.extend(members)
        border = [rename[b] for b in border_switches(inner)]
        if len(border) == 1:
            attach.append(border[0])
        else:
            gateway = f"dc{i}.gw"
            G.add_node(gateway, kind="switch", role="gateway", dc=i)
            for b in border:
                G.add_edge(gateway, b, bandwidth=(k - 1) * bw, latency=0.0)
            attach.append(gateway)
    links = []
    for i in range(k):
        for j in range(i + 1, k):
            lat = fixed if km is None else fibre_latency(km[i][j])
            G.add_edge(attach[i], attach[j], bandwidth=bw, latency=lat, wan=True,
                       distance_km=None if km is None else km[i][j])
            links.append((attach[i], attach[j]))
    latencies = [G.edges[u, v]["latency"] for u, v in links]
    G.graph.update(
        hosts=ranks,
        datacenters=per_dc,
        wan_links=links,
        wan_bandwidth=bw,
        wan_latency=max(latencies),
        description=(
            f"multi_dc: {k} datacenters ({', '.join(g.graph.get('name', '?') for g in graphs)}) "
            f"joined by {format_bandwidth(bw)} WAN links of {format_time(max(latencies))}"
        ),
    )
    gpus = {g.graph.get("gpus_per_node") for g in graphs}
    if len(gpus) == 1 and None not in gpus:
        G.graph["gpus_per_node"] = gpus.pop()
    return validate_topology(G)
