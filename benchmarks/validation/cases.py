"""Cases run both in netsim and in an external simulator (SimGrid, ns-3).

Each :class:`ExternalCase` is a netsim topology plus a list of flows ``(src, dst, bytes,
start_s)``; what is compared is the delivery time of one flow (``measure``) or of the
last one. :func:`netsim_times` runs a case on a netsim model; :func:`to_spec` turns it
into the JSON the external workers read (links, per-pair routes from netsim's own router,
so both simulators use the same paths). Units: bytes, bytes/s, seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx

from netsim.topology import Router, dumbbell, star
from netsim.topology.builders import host_graph
from netsim.topology.validate import validate_topology
from netsim.validation.harness import chain, run_collective, run_transfers

__all__ = [
    "ExternalCase",
    "SIMGRID_CASES",
    "NS3_CASES",
    "netsim_times",
    "netsim_time",
    "worst_error",
    "to_spec",
    "table",
]

GBPS = 1e9 / 8
US, MS = 1e-6, 1e-3
MB = 1_000_000


@dataclass
class ExternalCase:
    """One cross-simulator case.

    Attributes
    ----------
    name, description : str
    graph : networkx.Graph
        netsim topology (hosts ``h0`` ..).
    flows : list of tuple
        ``(src, dst, bytes, start_s)``; or, with ``ring``, empty.
    measure : int or None
        Index of the flow whose delivery time is compared; ``None``: the last delivery.
    ring : int
        Bytes of a ring allreduce over every host instead of flows (0: flows).
    buffer : int
        Bytes per switch output port (tail drop); 0: too deep to drop.
    transport : dict
        Transport profile for netsim: ``{"name": ..., **overrides}`` (default: ideal cut
        into 1500-byte frames without headers).
    """

    name: str
    description: str
    graph: nx.Graph
    flows: list = field(default_factory=list)
    measure: int | None = None
    ring: int = 0
    transport: dict = field(default_factory=lambda: {"name": "ideal", "mtu": 1500})
    buffer: int = 0


def _parking_lot(latency: float) -> nx.Graph:
    G = host_graph(6, "parking_lot", "s0 - s1 - s2 at 1 Gbps, two 10 Gbps hosts on each")
    G.add_nodes_from(["s0", "s1", "s2"], kind="switch")
    G.add_edges_from([("s0", "s1"), ("s1", "s2")], bandwidth=GBPS, latency=latency)
    for i in range(6):
        G.add_edge(f"h{i}", f"s{i // 2}", bandwidth=10 * GBPS, latency=latency)
    return validate_topology(G)


def _held_back() -> nx.Graph:
    G = host_graph(4, "held_back", "h0 on a 0.25 Gbps link and h1 share a 1 Gbps link")
    G.add_nodes_from(["s0", "s1"], kind="switch")
    G.add_edge("h0", "s0", bandwidth=GBPS / 4, latency=US)
    G.add_edge("h1", "s0", bandwidth=10 * GBPS, latency=US)
    G.add_edge("s0", "s1", bandwidth=GBPS, latency=US)
    G.add_edge("s1", "h2", bandwidth=10 * GBPS, latency=US)
    G.add_edge("s1", "h3", bandwidth=10 * GBPS, latency=US)
    return validate_topology(G)


def _simgrid_cases() -> list[ExternalCase]:
    n = 10 * MB
    return [
        ExternalCase("p2p_1hop", "10 MB over one 1 Gbps, 10 us link", chain([GBPS], [10 * US]), [("h0", "h1", n, 0.0)]),
        ExternalCase(
            "p2p_3hop",
            "10 MB over 10/1/10 Gbps links of 1/50/1 us",
            chain([10 * GBPS, GBPS, 10 * GBPS], [US, 50 * US, US]),
            [("h0", "h1", n, 0.0)],
        ),
        ExternalCase(
            "share_bottleneck",
            "2 x 10 MB through a 1 Gbps, 10 us dumbbell bottleneck",
            dumbbell(2, 2, GBPS, US, bottleneck_latency=10 * US),
            [("h0", "h2", n, 0.0), ("h1", "h3", n, 0.0)],
        ),
        ExternalCase(
            "incast_4to1",
            "4 x 10 MB into one host of a 1 Gbps, 1 us star",
            star(5, GBPS, US),
            [(f"h{i}", "h0", n, 0.0) for i in range(1, 5)],
        ),
        ExternalCase(
            "parking_lot",
            "20 MB over 2 switch links vs 10 MB and 15 MB on one each (zero latency)",
            _parking_lot(0.0),
            [("h0", "h4", 2 * n, 0.0), ("h1", "h2", n, 0.0), ("h3", "h5", 1.5 * n, 0.0)],
            measure=0,
        ),
        ExternalCase(
            "late_joiner",
            "second 10 MB flow joins halfway, 1 Gbps star: first flow's time",
            star(3, GBPS, US),
            [("h0", "h2", n, 0.0), ("h1", "h2", n, n / (2 * GBPS))],
            measure=0,
        ),
        ExternalCase(
            "held_back",
            "max-min: 15 MB flow beside one held to 0.25 Gbps on its own link",
            _held_back(),
            [("h0", "h2", n, 0.0), ("h1", "h3", 1.5 * n, 0.0)],
            measure=1,
        ),
        ExternalCase(
            "ring_allreduce",
            "ring allreduce of 8 MB over an 8-host 10 Gbps, 1 us star",
            star(8, 10 * GBPS, US),
            ring=8 * MB,
        ),
    ]


def _ns3_cases() -> list[ExternalCase]:
    # ns-3's point-to-point links carry PPP frames (2-byte header, no preamble/IFG/FCS);
    # netsim's TCP profile is set to the same framing and no software latency.
    ppp = {"name": "tcp", "l1_overhead": 0, "l2_overhead": 2, "min_frame": 0, "software_latency": 0}
    n = 10 * MB
    return [
        ExternalCase("tcp_1hop", "TCP 10 MB over one 1 Gbps, 10 us link", chain([GBPS], [10 * US]), [("h0", "h1", n, 0.0)], transport=ppp),
        ExternalCase(
            "tcp_3hop",
            "TCP 10 MB over three 1 Gbps, 10 us links",
            chain([GBPS] * 3, [10 * US] * 3),
            [("h0", "h1", n, 0.0)],
            transport=ppp,
        ),
        ExternalCase(
            "tcp_share_bottleneck",
            "TCP 2 x 10 MB through a 100 Mbps dumbbell bottleneck (1 Gbps hosts)",
            dumbbell(2, 2, GBPS, 10 * US, bottleneck_bandwidth=GBPS / 10, bottleneck_latency=100 * US),
            [("h0", "h2", n, 0.0), ("h1", "h3", n, 0.0)],
            transport=ppp,
        ),
        ExternalCase(
            "tcp_incast_4to1",
            "TCP 4 x 2 MB into one host of a 1 Gbps, 10 us star",
            star(5, GBPS, 10 * US),
            [(f"h{i}", "h0", 2 * MB, 0.0) for i in range(1, 5)],
            transport=ppp,
        ),
        *(
            ExternalCase(
                f"tcp_incast_4to1_{buffer // 1000}kB",
                f"as tcp_incast_4to1 with {buffer // 1000} kB switch ports (tail drop: losses, RTOs)",
                star(5, GBPS, 10 * US),
                [(f"h{i}", "h0", 2 * MB, 0.0) for i in range(1, 5)],
                transport=ppp,
                buffer=buffer,
            )
            for buffer in (20_000, 30_000)
        ),
        ExternalCase(
            "tcp_slow_start",
            "TCP 1 MB over a 10 ms one-way, 1 Gbps path (2 links): handshake + slow start",
            chain([GBPS, GBPS], [5 * MS, 5 * MS]),
            [("h0", "h1", MB, 0.0)],
            transport=ppp,
        ),
    ]


SIMGRID_CASES = _simgrid_cases()
NS3_CASES = _ns3_cases()


def _transport(case: ExternalCase):
    from netsim.transport import make_transport

    options = dict(case.transport)
    return make_transport(options.pop("name"), **options)


def netsim_times(case: ExternalCase, model: str, **options) -> list[float]:
    """Delivery time of every flow of `case` on netsim model `model`, s (a ring: its time).

    ``options`` go to the model; the packet model gets the case's ``buffer`` (if any)
    over ``options["buffer"]``.
    """
    transport = _transport(case)
    if case.buffer and model == "packet":
        options["buffer"] = case.buffer
    if case.ring:
        return [run_collective(model, case.graph, "ring_allreduce", case.ring, transport=transport, **options)]
    flows = [(s, d, b, t) for s, d, b, t in case.flows]
    return run_transfers(model, case.graph, flows, transport=transport, **options)


def netsim_time(case: ExternalCase, model: str, **options) -> float:
    """Compared time of `case` (flow `measure`, or the last delivery) on `model`, s."""
    done = netsim_times(case, model, **options)
    return max(done) if case.measure is None or case.ring else done[case.measure]


def worst_error(ours: list[float], theirs: list[float]) -> float:
    """Largest relative difference over flows (NaN unless both lists are per flow)."""
    if len(ours) != len(theirs) or len(ours) < 2:
        return math.nan
    return max(abs(a / b - 1) for a, b in zip(ours, theirs, strict=True))


def to_spec(case: ExternalCase) -> dict:
    """The case as the external workers read it: hosts, links, routes, flows (JSON-ready)."""
    G = case.graph
    router = Router(G)
    links, index = [], {}
    for k, (u, v, data) in enumerate(G.edges(data=True)):
        link_id = f"l{k}"
        index[(u, v)], index[(v, u)] = (link_id, "UP"), (link_id, "DOWN")
        links.append([link_id, float(data["bandwidth"]), float(data["latency"]), u, v])
    hosts = list(G.graph["hosts"])
    pairs = {(s, d) for s, d, _, _ in case.flows}
    if case.ring:
        pairs |= {(hosts[i], hosts[(i + 1) % len(hosts)]) for i in range(len(hosts))}
    routes = {}
    for s, d in sorted(pairs):
        path = router.path(s, d)
        routes[f"{s} {d}"] = [list(index[hop]) for hop in zip(path, path[1:], strict=False)]
    return {
        "name": case.name,
        "hosts": hosts,
        "switches": [n for n, kind in G.nodes(data="kind") if kind == "switch"],
        "links": links,
        "routes": routes,
        "paths": {f"{s} {d}": list(router.path(s, d)) for s, d in sorted(pairs)},
        "flows": [[s, d, float(b), float(t)] for s, d, b, t in case.flows],
        "measure": case.measure,
        "ring": case.ring,
        "transport": case.transport,
        "buffer": case.buffer,
    }


def table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table of `rows` (``*_ms`` times in ms, ``*_err`` relative differences)."""

    def cell(key: str, value) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            if key.endswith("_ms"):
                return f"{value:.4f}"
            if key.endswith("_err"):
                return f"{value:+.2e}"
            return f"{value:.6g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(cell(c, row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)
