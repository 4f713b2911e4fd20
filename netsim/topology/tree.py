"""Builders of hierarchical switch fabrics: k-ary trees and k-ary fat-trees.

Nodes follow the conventions of :mod:`netsim.topology.builders`: hosts
``"h0"``, ``"h1"``, ... first, then switches ``"s0"``, ``"s1"``, ... numbered
bottom-up (leaf or edge switches first, the root or core switches last). Switches
carry a node attribute ``level`` (1 = leaf/edge, increasing upwards) and every edge
an attribute ``level``: 0 for host links, ``l`` for links from a level-``l``
switch up to level ``l + 1``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import networkx as nx

from netsim.exceptions import TopologyError
from netsim.topology._params import (
    check_bandwidth,
    check_count,
    check_latency,
    check_levels,
    check_ratio,
)
from netsim.topology.builders import host_graph
from netsim.topology.validate import validate_topology
from netsim.units import format_bandwidth, format_time

__all__ = ["tree", "fat_tree"]


def _at(values: list[float] | None, default: float, level: int) -> float:
    """Value for ``level`` from a per-level list whose last entry repeats."""
    if values is None:
        return default
    return values[min(level, len(values) - 1)]


def tree(
    hosts: int,
    bandwidth: float | str,
    latency: float | str,
    fanout: int = 4,
    hosts_per_leaf: int | None = None,
    level_bandwidth: Sequence[float | str] | None = None,
    oversubscription: float | None = None,
    level_latency: Sequence[float | str] | None = None,
) -> nx.Graph:
    """Return a k-ary switch tree with hosts on its leaf switches.

    Host ``h_i`` is linked to leaf switch ``i // hosts_per_leaf``; leaf switch
    ``j`` to its parent ``j // fanout`` one level up, and so on until a single
    root. There are always at least two levels of switches: a lone leaf switch
    still gets a root above it.

    Link bandwidths per level (level 0 = host links, level ``l`` = uplinks of the
    level-``l`` switches) come from one of:

    * neither ``level_bandwidth`` nor ``oversubscription``: every link at ``bandwidth``;
    * ``level_bandwidth``: one value per level, from the host links upwards; the
      last value repeats for the levels above (``bandwidth`` is then unused);
    * ``oversubscription = r``: host links at ``bandwidth``; the uplink of a switch
      carries the sum of the bandwidths of the links below it divided by ``r``
      (so a partly filled switch gets a proportionally narrower uplink).

    Parameters
    ----------
    hosts : int
        Number of hosts, >= 1.
    bandwidth : float or str
        Bandwidth of the host links (and of every link by default), bytes/s per direction.
    latency : float or str
        One-way latency of every link unless ``level_latency`` is given, seconds.
    fanout : int, default 4
        Maximum number of child switches per switch, >= 2.
    hosts_per_leaf : int, optional
        Maximum number of hosts per leaf switch, >= 1; defaults to ``fanout``.
    level_bandwidth : list of float or str, optional
        Bandwidth per link level in bytes/s, from the host links (index 0) upwards.
    oversubscription : float, optional
        Ratio ``r > 0`` of the bandwidth below a switch to its uplink bandwidth.
        Exclusive with ``level_bandwidth``.
    level_latency : list of float or str, optional
        One-way latency per link level in seconds, from the host links upwards; the
        last value repeats.

    Returns
    -------
    networkx.Graph
        The tree. ``G.graph`` also holds ``levels`` (number of switch levels, equal
        to the number of link levels), ``fanout``, ``hosts_per_leaf``,
        ``oversubscription`` (or ``None``), ``level_bandwidth`` and ``level_latency``:
        the per-level values used (bytes/s and s; with oversubscription, the widest
        link of each level, i.e. that of a fully populated switch).

    Raises
    ------
    TopologyError
        If a parameter is invalid, naming it and its value.

    Examples
    --------
    >>> G = tree(16, "100Gbps", "1us", fanout=4, oversubscription=2)
    >>> G.graph["levels"], [n for n, lvl in G.nodes(data="level") if lvl == 1]
    (2, ['s0', 's1', 's2', 's3'])
    >>> G.graph["level_bandwidth"]
    [12500000000.0, 25000000000.0]
    >>> G.edges["s0", "s4"]["bandwidth"] == 4 * 12.5e9 / 2
    True
    >>> tree(2, 1e9, 0).graph["levels"]
    2
    """
    n = check_count("hosts", hosts)
    bw = check_bandwidth("bandwidth", bandwidth)
    lat = check_latency("latency", latency)
    k = check_count("fanout", fanout, minimum=2)
    per_leaf = k if hosts_per_leaf is None else check_count("hosts_per_leaf", hosts_per_leaf)
    if level_bandwidth is not None and oversubscription is not None:
        raise TopologyError(
            f"give level_bandwidth or oversubscription, not both "
            f"(got level_bandwidth={level_bandwidth!r}, oversubscription={oversubscription!r})"
        )
    ratio = None if oversubscription is None else check_ratio("oversubscription", oversubscription)
    bws = (
        None
        if level_bandwidth is None
        else check_levels("level_bandwidth", level_bandwidth, check_bandwidth)
    )
    lats = (
        None
        if level_latency is None
        else check_levels("level_latency", level_latency, check_latency)
    )

    counts = [math.ceil(n / per_leaf)]
    while len(counts) < 2 or counts[-1] > 1:
        counts.append(math.ceil(counts[-1] / k))
    depth = len(counts)

    description = (
        f"tree: {n} hosts, {per_leaf} per leaf, fanout {k}, {depth} switch levels ({counts})"
    )
    if ratio is not None:
        description += f", oversubscription {ratio:g}:1"
    G = host_graph(n, "tree", description)
    levels: list[list[str]] = []
    offset = 0
    for level, count in enumerate(counts, start=1):
        names = [f"s{offset + j}" for j in range(count)]
        G.add_nodes_from(names, kind="switch", level=level)
        levels.append(names)
        offset += count

    below: defaultdict[str, float] = defaultdict(float)
    used_bw = [0.0] * depth
    host_bw = _at(bws, bw, 0)
    for i, host in enumerate(G.graph["hosts"]):
        leaf = levels[0][i // per_leaf]
        G.add_edge(host, leaf, bandwidth=host_bw, latency=_at(lats, lat, 0), level=0)
        below[leaf] += host_bw
    used_bw[0] = host_bw
    for level in range(1, depth):
        for j, switch in enumerate(levels[level - 1]):
            parent = levels[level][j // k]
            up = below[switch] / ratio if ratio is not None else _at(bws, bw, level)
            G.add_edge(switch, parent, bandwidth=up, latency=_at(lats, lat, level), level=level)
            below[parent] += up
            used_bw[level] = max(used_bw[level], up)

    G.graph.update(
        levels=depth,
        fanout=k,
        hosts_per_leaf=per_leaf,
        oversubscription=ratio,
        level_bandwidth=used_bw,
        level_latency=[_at(lats, lat, level) for level in range(depth)],
    )
    return validate_topology(G)


def fat_tree(
    hosts: int,
    bandwidth: float | str,
    latency: float | str,
    k: int | None = None,
) -> nx.Graph:
    """Return a k-ary fat-tree (Al-Fares et al., 2008) with ``hosts`` hosts attached.

    ``k`` pods each hold ``k/2`` edge and ``k/2`` aggregation switches, fully
    meshed; ``(k/2)**2`` core switches link aggregation switch ``j`` of every pod to
    core switches ``j*k/2`` .. ``j*k/2 + k/2 - 1``. Each edge switch has ``k/2``
    host ports, filled in order (``h_i`` on edge switch ``i // (k/2)``), so the
    fabric holds up to ``k**3/4`` hosts; unused ports stay empty. Every link has the
    same bandwidth (the fabric is non-blocking) and there are ``(k/2)**2``
    equal-cost paths between hosts in different pods: use ECMP routing.

    Switches are numbered edge first, then aggregation, then core (node ``level`` 1,
    2, 3).

    Parameters
    ----------
    hosts : int
        Number of hosts, >= 1.
    bandwidth : float or str
        Bandwidth of every link, bytes/s per direction.
    latency : float or str
        One-way latency of every link, seconds.
    k : int, optional
        Switch radix, even and >= 2, with ``k**3/4 >= hosts``. Defaults to the
        smallest such ``k``. Stored as ``G.graph["k"]``.

    Returns
    -------
    networkx.Graph

    Raises
    ------
    TopologyError
        If a parameter is invalid or ``hosts`` exceeds ``k**3/4``.

    Examples
    --------
    >>> G = fat_tree(16, "100Gbps", "1us")
    >>> G.graph["k"], len(G) - 16, G.number_of_edges()
    (4, 20, 48)
    >>> sorted(G["h0"]), sorted(G["s0"])
    (['s0'], ['h0', 'h1', 's8', 's9'])
    """
    n = check_count("hosts", hosts)
    bw = check_bandwidth("bandwidth", bandwidth)
    lat = check_latency("latency", latency)
    if k is None:
        radix = 2
        while radix**3 // 4 < n:
            radix += 2
    else:
        radix = check_count("k", k, minimum=2)
        if radix % 2:
            raise TopologyError(f"k must be even, got {k!r}")
        if radix**3 // 4 < n:
            raise TopologyError(
                f"a fat-tree with k = {radix} holds at most {radix**3 // 4} hosts, got hosts = {n}"
            )
    half = radix // 2
    n_edge = radix * half
    description = (
        f"fat_tree: k = {radix}, {n} hosts, {radix} pods, {half * half} core switches, "
        f"{format_bandwidth(bw)}, {format_time(lat)} links"
    )
    G = host_graph(n, "fat_tree", description)
    G.graph.update(k=radix, pods=radix, levels=3)
    edge = [f"s{i}" for i in range(n_edge)]
    agg = [f"s{n_edge + i}" for i in range(n_edge)]
    core = [f"s{2 * n_edge + i}" for i in range(half * half)]
    for level, names in enumerate((edge, agg, core), start=1):
        G.add_nodes_from(names, kind="switch", level=level)
    for i, host in enumerate(G.graph["hosts"]):
        G.add_edge(host, edge[i // half], bandwidth=bw, latency=lat, level=0)
    for pod in range(radix):
        for i in range(half):
            for j in range(half):
                G.add_edge(
                    edge[pod * half + i], agg[pod * half + j], bandwidth=bw, latency=lat, level=1
                )
    for pod in range(radix):
        for j in range(half):
            for c in range(half):
                G.add_edge(
                    agg[pod * half + j], core[j * half + c], bandwidth=bw, latency=lat, level=2
                )
    return validate_topology(G)
