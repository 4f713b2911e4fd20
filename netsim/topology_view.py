"""Look at a topology: graph metrics (bisection bandwidth, oversubscription) and a drawing.

The metrics are pure functions of the graph (:func:`graph_metrics`,
:func:`bisection_bandwidth`, :func:`oversubscription`); :func:`draw_topology` draws
with matplotlib only. Topologies follow :mod:`netsim.topology`: node ``kind`` host or
switch, edge ``bandwidth`` in bytes/s per direction (links are full duplex) and
``latency`` in seconds.

**Levels.** Hosts are level 0. A switch's level is its ``level`` attribute when every
switch has one (trees and fat-trees set it), else its hop distance to the nearest
host (a top-of-rack switch is 1, a spine 2, ...).

**Bisection bandwidth** (bytes/s): split the hosts by rank into a first half (ranks
``0 .. n//2 - 1``) and a second half (the rest); it is the largest total rate the
first half can send to the second at once, when every link direction carries at most
its bandwidth and traffic may be split over any paths, switches and hosts forwarding
it. By max-flow/min-cut this is the capacity of the cheapest set of link directions
whose removal disconnects the halves; it is computed with
:func:`networkx.maximum_flow_value` on the directed link graph (two arcs per link).
Single-path routing may reach less. The **bisection ratio** divides it by the
injection bandwidth of the smaller side (the sum of the bandwidths of its hosts'
links): 1.0 is full bisection bandwidth.

**Oversubscription** of a switch: the bandwidth of its links to lower-level nodes
divided by that of its links to higher-level nodes (its uplinks); a switch without
uplinks but with links to switches of its own level (the two switches of a dumbbell)
uses those instead, and a switch with neither (a root, the switch of a star) has
none. Per level, the largest ratio among the level's switches; overall, the largest.

Examples
--------
>>> from netsim.topology import star, tree
>>> G = tree(16, "25Gbps", "1us", fanout=4, oversubscription=8)
>>> oversubscription(G)["per_level"]
{1: 8.0}
>>> bisection_bandwidth(G) * 8 / 1e9   # Gbps: two 12.5 Gbps leaf uplinks
25.0
>>> bisection_bandwidth(star(4, "10Gbps", "1us")) == 2 * 1.25e9
True
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

__all__ = [
    "graph_metrics",
    "bisection_bandwidth",
    "oversubscription",
    "node_levels",
    "topology_layout",
    "draw_topology",
    "LAYOUTS",
]

LAYOUTS = ("auto", "hierarchical", "circular", "grid", "spring")

_HOST_COLOR, _SWITCH_COLOR = "#0072B2", "#D55E00"
_EDGE_COLORS = ("#000000", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#0072B2")


def _hosts(G: nx.Graph) -> list:
    listed = G.graph.get("hosts")
    if listed:
        return list(listed)
    return [n for n, kind in G.nodes(data="kind") if kind == "host"]


def _switches(G: nx.Graph) -> list:
    return [n for n, kind in G.nodes(data="kind") if kind == "switch"]


def node_levels(G: nx.Graph) -> dict:
    """Level of every node: 0 for hosts; switches by ``level`` attribute or hop distance.

    Examples
    --------
    >>> from netsim.topology import dumbbell
    >>> node_levels(dumbbell(1, 1, 1e9, 0))
    {'h0': 0, 'h1': 0, 's0': 1, 's1': 1}
    """
    switches = _switches(G)
    levels = {n: 0 for n in G if n not in set(switches)}
    if switches and all(G.nodes[s].get("level") is not None for s in switches):
        levels.update({s: int(G.nodes[s]["level"]) for s in switches})
        return levels
    distance = nx.multi_source_dijkstra_path_length(G, _hosts(G), weight=lambda u, v, d: 1) if _hosts(G) else {}
    for s in switches:
        levels[s] = int(distance.get(s, 1))
    return levels


def bisection_bandwidth(G: nx.Graph) -> float:
    """Max-flow from the first half of the hosts (by rank) to the second, bytes/s.

    See the module docstring for the exact definition. 0.0 with fewer than two hosts.

    Examples
    --------
    >>> from netsim.topology import ring
    >>> bisection_bandwidth(ring(8, 1e9, 0))   # the two links crossing the cut
    2000000000.0
    """
    hosts = _hosts(G)
    if len(hosts) < 2:
        return 0.0
    half = len(hosts) // 2
    flow = nx.DiGraph()
    for u, v, bandwidth in G.edges(data="bandwidth"):
        flow.add_edge(u, v, capacity=float(bandwidth))
        flow.add_edge(v, u, capacity=float(bandwidth))
    source, sink = ("__source__",), ("__sink__",)
    for host in hosts[:half]:
        flow.add_edge(source, host)  # no capacity attribute: unbounded
    for host in hosts[half:]:
        flow.add_edge(host, sink)
    return float(nx.maximum_flow_value(flow, source, sink))


def oversubscription(G: nx.Graph) -> dict:
    """Downlink : uplink bandwidth ratio per switch, per level, and the largest.

    Returns
    -------
    dict
        ``per_switch`` (switch -> ratio), ``per_level`` (level -> largest ratio) and
        ``max`` (largest ratio, or ``None`` when no switch has uplinks).

    Examples
    --------
    >>> from netsim.topology import dumbbell
    >>> oversubscription(dumbbell(4, 4, 1e9, 0, bottleneck_bandwidth=1e9))["max"]
    4.0
    """
    levels = node_levels(G)
    per_switch = {}
    for s in _switches(G):
        down = up = lateral = 0.0
        for neighbour, data in G[s].items():
            other = levels[neighbour]
            if other < levels[s]:
                down += data["bandwidth"]
            elif other > levels[s]:
                up += data["bandwidth"]
            else:
                lateral += data["bandwidth"]
        uplink = up or lateral
        if uplink > 0 and down > 0:
            per_switch[s] = down / uplink
    per_level: dict[int, float] = {}
    for s, ratio in per_switch.items():
        per_level[levels[s]] = max(per_level.get(levels[s], 0.0), ratio)
    per_level = dict(sorted(per_level.items()))
    return {"per_switch": per_switch, "per_level": per_level, "max": max(per_switch.values()) if per_switch else None}


def graph_metrics(G: nx.Graph) -> dict:
    """Headline numbers of a topology.

    Returns
    -------
    dict
        ``name``, ``description``, ``hosts``, ``switches``, ``links`` (undirected),
        ``directed_links``, ``min_bandwidth`` / ``max_bandwidth`` (bytes/s per
        direction), ``min_latency`` / ``max_latency`` (s), ``bisection_bandwidth``
        (bytes/s), ``bisection_ratio`` (fraction of the smaller half's injection
        bandwidth), ``oversubscription`` (level -> ratio) and ``max_oversubscription``
        (``None`` without uplinks). See the module docstring for the definitions.

    Examples
    --------
    >>> from netsim.topology import star
    >>> m = graph_metrics(star(4, "10Gbps", "1us"))
    >>> m["hosts"], m["switches"], m["links"], m["bisection_ratio"], m["max_oversubscription"]
    (4, 1, 4, 1.0, None)
    """
    hosts = _hosts(G)
    bandwidths = [bw for _, _, bw in G.edges(data="bandwidth")]
    latencies = [lat for _, _, lat in G.edges(data="latency")]
    bisection = bisection_bandwidth(G)
    half = len(hosts) // 2
    inject = [sum(d["bandwidth"] for _, _, d in G.edges(h, data=True)) for h in hosts]
    smaller = min(sum(inject[:half]), sum(inject[half:])) if len(hosts) >= 2 else 0.0
    ratios = oversubscription(G)
    return {
        "name": G.graph.get("name", ""),
        "description": G.graph.get("description", ""),
        "hosts": len(hosts),
        "switches": len(_switches(G)),
        "links": G.number_of_edges(),
        "directed_links": 2 * G.number_of_edges(),
        "min_bandwidth": min(bandwidths) if bandwidths else None,
        "max_bandwidth": max(bandwidths) if bandwidths else None,
        "min_latency": min(latencies) if latencies else None,
        "max_latency": max(latencies) if latencies else None,
        "bisection_bandwidth": bisection,
        "bisection_ratio": bisection / smaller if smaller > 0 else None,
        "oversubscription": ratios["per_level"],
        "max_oversubscription": ratios["max"],
    }


def topology_layout(G: nx.Graph, layout: str = "auto") -> dict:
    """Node positions ``{node: (x, y)}`` for drawing.

    ``auto`` picks ``hierarchical`` when there are switches (hosts in rank order at the
    bottom, each switch level above, a switch centred over what it connects below),
    ``grid`` for a 2-D torus, ``circular`` otherwise (a ring: ranks clockwise from the
    top). ``spring`` is a seeded force-directed layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; accepted: {', '.join(LAYOUTS)}")
    if layout == "auto":
        dims = G.graph.get("dims")
        if _switches(G):
            layout = "hierarchical"
        elif dims is not None and len(dims) == 2 and min(dims) > 1:
            layout = "grid"
        else:
            layout = "circular"
    if layout == "hierarchical":
        return _hierarchical(G)
    if layout == "grid":
        rows, cols = (G.graph.get("dims") or (1, len(G)))[:2]
        return {h: (float(i % cols), -float(i // cols)) for i, h in enumerate(_hosts(G))} | {
            n: (float(cols), 0.0) for n in G if n not in set(_hosts(G))
        }
    if layout == "circular":
        nodes = _hosts(G) + [n for n in G if n not in set(_hosts(G))]
        count = len(nodes)
        return {n: (math.sin(2 * math.pi * i / count), math.cos(2 * math.pi * i / count)) for i, n in enumerate(nodes)}
    return {n: tuple(p) for n, p in nx.spring_layout(G, seed=0).items()}


def _hierarchical(G: nx.Graph) -> dict:
    """Hosts at y = 0 in rank order; each switch level above, over what it connects below."""
    levels = node_levels(G)
    hosts = _hosts(G)
    pos = {h: (float(i), 0.0) for i, h in enumerate(hosts)}
    width = max(len(hosts) - 1, 1)
    for level in sorted({lvl for lvl in levels.values() if lvl > 0}):
        members = [n for n in G if levels[n] == level]
        wanted = []
        for order, node in enumerate(members):
            below = [pos[m][0] for m in G[node] if m in pos and levels[m] < level]
            wanted.append((float(np.mean(below)) if below else math.inf, order, node))
        wanted.sort()
        gap = width / len(members) if len(members) > 1 else 1.0
        xs: list[float] = []
        for desired, _, _ in wanted:
            x = desired if math.isfinite(desired) else (xs[-1] + gap if xs else 0.0)
            xs.append(max(x, xs[-1] + gap) if xs else x)
        finite = [d for d, _, _ in wanted if math.isfinite(d)]
        shift = float(np.mean(xs)) - (float(np.mean(finite)) if finite else width / 2)
        for (_, _, node), x in zip(wanted, xs, strict=True):
            pos[node] = (x - shift, float(level))
    return pos


def draw_topology(G: nx.Graph, *, layout: str = "auto", title: str | None = None, ax=None) -> Figure:
    """Draw hosts (blue circles) and switches (vermillion squares), links by bandwidth.

    Link width and colour grow with bandwidth (one legend entry per bandwidth).
    Switch-to-switch links are labelled with their bandwidth when there are at most 16
    of them (host links are not: the legend gives theirs); in a topology without
    switches every link is labelled when there are at most 16. Node names are written
    when there are at most 40 nodes.

    Parameters
    ----------
    G : networkx.Graph
        A topology.
    layout : str, default "auto"
        One of :data:`LAYOUTS` (see :func:`topology_layout`).
    title : str, optional
        Defaults to the graph's name and a summary of its size.
    ax : matplotlib Axes, optional
    """
    pos = topology_layout(G, layout)
    hosts, switches = _hosts(G), _switches(G)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    if ax is None:
        width = min(max(4.5, 0.45 * (span_x + 2) + 2.5), 16)
        height = min(max(3.5, 1.3 * (span_y + 1.5) + 0.8), 10) if span_y else 3.5
        if span_x and span_y and abs(span_x - span_y) < 0.5 * max(span_x, span_y):
            width = height = max(width, height) * 0.8 + 1
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.subplots()
    fig = ax.figure
    classes = sorted({float(bw) for _, _, bw in G.edges(data="bandwidth")})
    low, high = (classes[0], classes[-1]) if classes else (1.0, 1.0)

    def style(bandwidth: float) -> tuple[float, str]:
        if high == low:
            return 2.0, _EDGE_COLORS[0]
        scale = math.log(bandwidth / low) / math.log(high / low)
        return 1.0 + 3.5 * scale, _EDGE_COLORS[classes.index(bandwidth) % len(_EDGE_COLORS)]

    edges = list(G.edges(data="bandwidth"))
    trunk = [(u, v) for u, v, _ in edges if u in set(switches) and v in set(switches)]
    if switches:
        labelled = set(trunk) if len(trunk) <= 16 else set()
    else:
        labelled = {(u, v) for u, v, _ in edges} if len(edges) <= 16 else set()
    placed: list[tuple[float, float]] = []
    for u, v, bandwidth in edges:
        (x1, y1), (x2, y2) = pos[u], pos[v]
        curve = 0.3 if layout in ("auto", "grid") and not switches and math.dist((x1, y1), (x2, y2)) > 1.5 and G.graph.get("dims") else 0.0
        lw, color = style(float(bandwidth))
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-", connectionstyle=f"arc3,rad={curve}", linewidth=lw, color=color, zorder=1, shrinkA=0, shrinkB=0))
        middle = ((x1 + x2) / 2, (y1 + y2) / 2)
        if (u, v) in labelled and all(abs(middle[0] - a) > 0.9 or abs(middle[1] - b) > 0.2 for a, b in placed):
            placed.append(middle)
            ax.text(*middle, _bandwidth(bandwidth), fontsize=7, ha="center", va="center", zorder=3, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    size = 220 if len(G) <= 40 else 90
    ax.scatter([pos[h][0] for h in hosts], [pos[h][1] for h in hosts], s=size, marker="o", color=_HOST_COLOR, edgecolor="white", zorder=2)
    ax.scatter([pos[s][0] for s in switches], [pos[s][1] for s in switches], s=size * 1.3, marker="s", color=_SWITCH_COLOR, edgecolor="white", zorder=2)
    if len(G) <= 40:
        circular = not switches and not (G.graph.get("dims") and layout in ("auto", "grid"))
        box = {"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
        for node, (x, y) in pos.items():
            if circular:
                ax.text(x * 1.17, y * 1.17, str(node), fontsize=8, ha="center", va="center")
            elif node in set(switches):
                ax.text(x, y + 0.14, str(node), fontsize=8, ha="center", va="bottom", zorder=4, bbox=box)
            else:
                ax.text(x, y - 0.14, str(node), fontsize=8, ha="center", va="top", rotation=90 if len(hosts) > 16 else 0)
    handles = [Line2D([], [], marker="o", linestyle="", color=_HOST_COLOR, markersize=8, label=f"host ({len(hosts)})")]
    if switches:
        handles.append(Line2D([], [], marker="s", linestyle="", color=_SWITCH_COLOR, markersize=8, label=f"switch ({len(switches)})"))
    handles += [Line2D([], [], color=style(bw)[1], linewidth=style(bw)[0], label=f"{_bandwidth(bw)} link") for bw in reversed(classes)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize="small")
    pad = 0.6
    if not switches and not G.graph.get("dims"):
        pad = 0.35
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - (0.55 if switches else pad), max(ys) + (0.4 if switches else pad))
    ax.set_aspect("equal" if not switches else "auto")
    ax.axis("off")
    name = G.graph.get("name", "topology")
    ax.set_title(title or f"{name}: {len(hosts)} hosts, {len(switches)} switches, {G.number_of_edges()} links")
    return fig


def _bandwidth(bytes_per_second: float) -> str:
    bits = float(bytes_per_second) * 8
    for factor, unit in ((1e12, "Tbps"), (1e9, "Gbps"), (1e6, "Mbps"), (1e3, "kbps")):
        if bits >= factor:
            return f"{bits / factor:.3g} {unit}"
    return f"{bits:.3g} bps"
