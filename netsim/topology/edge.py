"""Edge networks: devices on 4G/5G radio links to a base station, an edge server and a cloud.

Hosts, in rank order: the devices ``d0 .. d<n-1>``, then the cloud ``"cloud"`` (unless
``cloud=False``) and the edge server ``"edge"`` — or the edge server before the cloud
when ``server = "cloud"``: the *last* host is the one a parameter server runs on. Both
are wired to the base station switch ``"bs"`` (``edge_*`` and ``cloud_*`` links).
Host attribute ``role``: device, edge or cloud.

**Asymmetric radio links.** netsim's links are full duplex with one bandwidth for both
directions (an edge's ``bandwidth``), so each device has two one-way paths of three
links to ``"bs"``, an uplink and a downlink::

    d<i> ─ d<i>.ul ─ d<i>.ul2 ─ bs        uplink bandwidth; radio latency on the first link
    d<i> ─ d<i>.dl ─ d<i>.dl2 ─ bs        downlink bandwidth; radio latency on the first link

Both paths have the same length; shortest-path routing breaks the tie towards the
neighbour added first, and the nodes are added so that a route *from* a device starts
on its uplink (``d<i>.ul`` before ``d<i>.dl``) and a route *to* a device ends on its
downlink (``d<i>.dl2`` before ``d<i>.ul2``), device-to-device routes included (they
pass through ``"bs"``, as cellular traffic does). The reverse direction of each radio
link is never used. This needs ``routing = "shortest"``: ECMP would split the tie at
random. The two extra links per path have no latency and the path's bandwidth, so
they cost nothing in the fluid and analytic models.

**Jitter** (seeded, static): each device's uplink and downlink latency is drawn once,
when the topology is built, uniformly from ``[radio_latency − jitter, radio_latency +
jitter]`` (clipped at 0) by ``numpy.random.default_rng(jitter_seed)``, device by device
(uplink, then downlink). So devices differ — a BSP step waits for the slowest — while
every message of one device sees the same latency (links have one latency each).

**Loss** (expected value): a fraction ``loss`` of radio transmissions is lost and
retransmitted by the link layer (HARQ), so a radio link delivers ``bandwidth × (1 −
loss)`` bytes/s of goodput: that is its ``bandwidth`` attribute; ``nominal_bandwidth``
and ``loss`` are kept on the edge. Retransmission delays are not modelled.

Examples
--------
>>> G = edge(2, access="4g", jitter=0)
>>> G.graph["hosts"]
['d0', 'd1', 'cloud', 'edge']
>>> from netsim.topology import Router
>>> Router(G).path("d0", "edge"), Router(G).path("edge", "d0")
(('d0', 'd0.ul', 'd0.ul2', 'bs', 'edge'), ('edge', 'bs', 'd0.dl2', 'd0.dl', 'd0'))
>>> G.edges["d0", "d0.ul"]["bandwidth"] == 20e6 / 8 * 0.9, G.edges["d0", "d0.ul"]["latency"]
(True, 0.04)
"""

from __future__ import annotations

import difflib
import math
import numbers

import networkx as nx
import numpy as np

from netsim.exceptions import TopologyError
from netsim.topology._params import check_bandwidth, check_count, check_latency
from netsim.topology.validate import validate_topology
from netsim.units import format_bandwidth, format_time

__all__ = ["edge", "ACCESS_PRESETS"]

#: Radio access presets: per-device uplink and downlink, one-way radio latency, jitter, loss.
ACCESS_PRESETS: dict[str, dict] = {
    # 4G LTE: uplink 5-50 Mbps and one-way latency 20-60 ms (REFERENCES §6): 20 Mbps,
    # 40 ms ± 20 ms (the jitter spans the whole range across devices). Downlink 4x the
    # uplink, LTE's design ratio (300 Mbps down / 75 Mbps up, 3GPP Release 8 targets).
    # Loss 0.1: the 10 % block error rate that LTE/NR link adaptation aims at for a first
    # transmission (CQI definition, 3GPP TS 36.213 / TS 38.214), repaired by HARQ.
    "4g": {
        "uplink": "20Mbps",
        "downlink": "80Mbps",
        "radio_latency": "40ms",
        "jitter": "20ms",
        "loss": 0.1,
    },
    # 5G: uplink 50-300 Mbps and one-way latency 5-20 ms (REFERENCES §6): 100 Mbps,
    # 12.5 ms ± 7.5 ms; downlink 4x, loss 0.1 as for 4G.
    "5g": {
        "uplink": "100Mbps",
        "downlink": "400Mbps",
        "radio_latency": "12.5ms",
        "jitter": "7.5ms",
        "loss": 0.1,
    },
}

SERVERS = ("edge", "cloud")
"""Accepted values of ``server``: which host comes last (where a parameter server runs)."""


def _check_loss(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TopologyError(f"loss must be a number in [0, 1), got {value!r}")
    loss = float(value)
    if not (math.isfinite(loss) and 0 <= loss < 1):
        raise TopologyError(f"loss must be a number in [0, 1), got {value!r}")
    return loss


def edge(
    devices: int,
    access: str = "5g",
    uplink: float | str | None = None,
    downlink: float | str | None = None,
    radio_latency: float | str | None = None,
    jitter: float | str | None = None,
    loss: float | None = None,
    jitter_seed: int = 0,
    edge_bandwidth: float | str = "10Gbps",
    edge_latency: float | str = "50us",
    cloud: bool = True,
    cloud_bandwidth: float | str = "10Gbps",
    cloud_latency: float | str = "10ms",
    server: str = "edge",
) -> nx.Graph:
    """Return ``devices`` devices on radio links to a base station with an edge server and a cloud.

    Parameters
    ----------
    devices : int
        Number of devices, >= 1.
    access : str, default "5g"
        Radio preset (:data:`ACCESS_PRESETS`: ``"4g"``, ``"5g"``) filling every radio
        parameter left ``None``.
    uplink, downlink : float or str, optional
        Nominal radio bandwidth of each device, bytes/s, device to base station and back.
    radio_latency : float or str, optional
        Mean one-way radio latency, s.
    jitter : float or str, optional
        Half-width of the uniform spread of each device's latency, s (0: all equal).
    loss : float, optional
        Fraction of radio transmissions lost and retransmitted, in ``[0, 1)``.
    jitter_seed : int, default 0
        Seed of the latency draws (a non-negative integer).
    edge_bandwidth, edge_latency : float or str
        Link between the base station and the edge server (default 10 Gbps and 50 µs:
        10 km of fibre at 5 µs/km, REFERENCES §6).
    cloud : bool, default True
        Add the cloud host.
    cloud_bandwidth, cloud_latency : float or str
        Link between the base station and the cloud (default 10 Gbps, REFERENCES §6 WAN
        1-100 Gbps, and 10 ms: 2,000 km of fibre at 5 µs/km).
    server : {"edge", "cloud"}, default "edge"
        The host placed last in rank order (where a parameter server runs).

    Returns
    -------
    networkx.Graph
        ``G.graph`` also holds ``devices`` (device hosts), ``server`` (the last host),
        ``access``, ``uplink`` and ``downlink`` (goodput, bytes/s), ``loss``, and
        ``radio_latency`` (per device, ``(uplink, downlink)`` one-way seconds).

    Raises
    ------
    TopologyError
        If a parameter is invalid, naming it and its value.

    Examples
    --------
    >>> G = edge(3, server="cloud", jitter_seed=7)
    >>> G.graph["hosts"][-2:], G.graph["server"]
    (['edge', 'cloud'], 'cloud')
    >>> all(5e-3 <= lat <= 20e-3 for pair in G.graph["radio_latency"] for lat in pair)
    True
    """
    n = check_count("devices", devices)
    if not isinstance(access, str) or access not in ACCESS_PRESETS:
        close = difflib.get_close_matches(str(access).lower(), list(ACCESS_PRESETS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TopologyError(f"access: unknown preset {access!r}{hint}; accepted: {', '.join(ACCESS_PRESETS)}")
    preset = ACCESS_PRESETS[access]
    up = check_bandwidth("uplink", preset["uplink"] if uplink is None else uplink)
    down = check_bandwidth("downlink", preset["downlink"] if downlink is None else downlink)
    lat = check_latency("radio_latency", preset["radio_latency"] if radio_latency is None else radio_latency)
    spread = check_latency("jitter", preset["jitter"] if jitter is None else jitter)
    drop = _check_loss(preset["loss"] if loss is None else loss)
    seed = check_count("jitter_seed", jitter_seed, minimum=0)
    if not isinstance(cloud, bool):
        raise TopologyError(f"cloud must be true or false, got {cloud!r}")
    if server not in SERVERS:
        raise TopologyError(f"server must be one of {', '.join(SERVERS)}, got {server!r}")
    if server == "cloud" and not cloud:
        raise TopologyError("server = 'cloud' needs cloud = true")
    edge_bw = check_bandwidth("edge_bandwidth", edge_bandwidth)
    edge_lat = check_latency("edge_latency", edge_latency)
    cloud_bw = check_bandwidth("cloud_bandwidth", cloud_bandwidth)
    cloud_lat = check_latency("cloud_latency", cloud_latency)

    rng = np.random.default_rng(seed)
    draws = rng.uniform(-spread, spread, size=(n, 2)) if spread > 0 else np.zeros((n, 2))
    latencies = [(max(0.0, lat + float(a)), max(0.0, lat + float(b))) for a, b in draws]
    good_up, good_down = up * (1 - drop), down * (1 - drop)

    names = [f"d{i}" for i in range(n)]
    wired = ["edge"] if not cloud else (["cloud", "edge"] if server == "edge" else ["edge", "cloud"])
    description = (
        f"edge: {n} devices on {access} ({format_bandwidth(up)} up, {format_bandwidth(down)} down, "
        f"{format_time(lat)} ± {format_time(spread)}, loss {drop:g}), edge server"
        + (" and cloud" if cloud else "")
        + f"; parameter server host: {server}"
    )
    G = nx.Graph(name="edge", description=description, hosts=names + wired)
    G.add_nodes_from(names, kind="host", role="device")
    for host in wired:
        G.add_node(host, kind="host", role=host)
    G.add_node("bs", kind="switch", role="base_station", level=3)
    radio = {"loss": drop}
    for i, device in enumerate(names):
        ul, dl, dl2, ul2 = f"{device}.ul", f"{device}.dl", f"{device}.dl2", f"{device}.ul2"
        for node, level in ((ul, 1), (dl, 1), (dl2, 2), (ul2, 2)):  # this order: see the module doc
            G.add_node(node, kind="switch", role="radio", level=level)
        lat_up, lat_down = latencies[i]
        up_link = {"bandwidth": good_up, "nominal_bandwidth": up, "direction": "up", **radio}
        down_link = {"bandwidth": good_down, "nominal_bandwidth": down, "direction": "down", **radio}
        G.add_edge(device, ul, latency=lat_up, **up_link)
        G.add_edge(ul, ul2, latency=0.0, **up_link)
        G.add_edge(ul2, "bs", latency=0.0, **up_link)
        G.add_edge(device, dl, latency=lat_down, **down_link)
        G.add_edge(dl, dl2, latency=0.0, **down_link)
        G.add_edge(dl2, "bs", latency=0.0, **down_link)
    G.add_edge("edge", "bs", bandwidth=edge_bw, latency=edge_lat)
    if cloud:
        G.add_edge("cloud", "bs", bandwidth=cloud_bw, latency=cloud_lat)
    G.graph.update(
        devices=names,
        server=wired[-1],
        access=access,
        uplink=good_up,
        downlink=good_down,
        loss=drop,
        radio_latency=latencies,
    )
    return validate_topology(G)
