"""GPU clusters: multi-GPU nodes on NVLink/NVSwitch, NICs into a leaf-spine fabric.

One host per GPU, in rank order node-major (node 0's GPUs ``0 .. g-1``, then node 1's,
...): ``G.graph["hosts"]`` lists them, each host has the attributes ``node`` (server
index) and ``gpu`` (local index), and ``G.graph["gpus_per_node"] = g``.

Structure of node ``i`` (names in parentheses)::

    GPU ─nvlink─ NVSwitch (nvs<i>)            every GPU of the node, per-GPU NVLink bandwidth
    GPU ─pcie── NIC (nic<i>.<j>) ─nic── leaf    one NIC per GPU (the DGX layout)
    GPU ─pcie── port (pcie<i>.<g>) ─pcie── NIC  when k > 1 GPUs share a NIC

The NVSwitch is one switch node whose link to each GPU carries that GPU's NVLink
bandwidth (per direction). A route between two GPUs of one node is 2 links through the
NVSwitch, while any route through a NIC is at least 4 links, so **intra-node traffic
always stays on NVLink**, whatever the routing mode (the per-GPU PCIe ports exist for
that reason: GPUs sharing a NIC share no neighbour but the NVSwitch). A GPU reaches
other nodes through its own NIC (``nic<i>.<gpu // k>``).

Fabric: node ``i`` hangs off leaf ``i // nodes_per_leaf``; every leaf links to every one
of the ``spines`` spine switches with bandwidth ``(NICs of a full leaf) × nic_bandwidth
/ (oversubscription × spines)``. A single leaf has no spine. ``spines = 1`` (the
default) aggregates the spine layer into one switch: exact for fluid sharing under
ideal load balance. With ``spines > 1`` use ``routing = "ecmp"``: shortest-path routing
sends every flow between two leaves through the first spine.

Presets (REFERENCES §6 gives the orders of magnitude; :data:`NODE_TYPES`,
:data:`FABRICS`) fill every parameter left ``None``. Latencies are one way, per link.

Examples
--------
>>> G = gpu_cluster(nodes=2, gpus_per_node=4)
>>> G.graph["hosts"], G.graph["gpus_per_node"]
(['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'], 4)
>>> G.nodes["h5"]["node"], G.nodes["h5"]["gpu"]
(1, 1)
>>> from netsim.topology import Router
>>> Router(G, mode="ecmp").path("h0", "h3")
('h0', 'nvs0', 'h3')
>>> Router(G).path("h0", "h4")
('h0', 'nic0.0', 'leaf0', 'nic1.0', 'h4')
"""

from __future__ import annotations

import difflib
import math

import networkx as nx

from netsim.exceptions import TopologyError
from netsim.topology._params import check_bandwidth, check_count, check_latency, check_ratio
from netsim.topology.validate import validate_topology
from netsim.units import format_bandwidth

__all__ = ["gpu_cluster", "NODE_TYPES", "FABRICS", "LEAF_DOWNLINKS"]

#: Multi-GPU server presets: GPUs, NVLink (per GPU, per direction) and PCIe per GPU.
NODE_TYPES: dict[str, dict] = {
    # DGX A100: 8 A100 on NVSwitch, NVLink 3 = 600 GB/s bidirectional = 300 GB/s per
    # direction per GPU (REFERENCES §6); PCIe 4.0 x16 ~25 GB/s (REFERENCES §6); one
    # 200 Gb/s HDR ConnectX-6 NIC per GPU (8 compute NICs, NVIDIA DGX A100 user guide).
    # NVLink ~1 µs per hop (REFERENCES §6): 0.5 µs on each of the two links GPU-NVSwitch-GPU;
    # PCIe ~1 µs (REFERENCES §6) split the same way between the GPU-NIC links.
    "dgx_a100": {
        "gpus_per_node": 8,
        "nvlink_bandwidth": "300GB/s",
        "nvlink_latency": "0.5us",
        "pcie_bandwidth": "25GB/s",
        "pcie_latency": "0.5us",
        "nics_per_node": 8,
    },
    # DGX H100: 8 H100, NVLink 4 = 900 GB/s bidirectional = 450 GB/s per direction per
    # GPU (REFERENCES §6); PCIe 5.0 x16 ~50 GB/s (REFERENCES §6); 8 ConnectX-7 400 Gb/s
    # NICs, one per GPU (NVIDIA DGX H100 user guide, "Network Modules"). Latencies as above.
    "dgx_h100": {
        "gpus_per_node": 8,
        "nvlink_bandwidth": "450GB/s",
        "nvlink_latency": "0.5us",
        "pcie_bandwidth": "50GB/s",
        "pcie_latency": "0.5us",
        "nics_per_node": 8,
    },
}

#: Scale-out fabric presets: NIC line rate and per-link one-way latencies.
FABRICS: dict[str, dict] = {
    # InfiniBand HDR / NDR: 200 / 400 Gb/s; ~0.1-0.2 µs per switch, ~1 µs end to end
    # (REFERENCES §6): 0.25 µs NIC-leaf, 0.15 µs leaf-spine, so NIC to NIC is 0.5 µs under
    # one leaf and 0.8 µs through a spine.
    "ib_hdr": {"nic_bandwidth": "200Gbps", "nic_latency": "0.25us", "fabric_latency": "0.15us"},
    "ib_ndr": {"nic_bandwidth": "400Gbps", "nic_latency": "0.25us", "fabric_latency": "0.15us"},
    # RoCEv2 over 100/200/400 GbE: 1-3 µs (REFERENCES §6): 0.75 µs NIC-leaf, 0.5 µs
    # leaf-spine, so NIC to NIC is 1.5 µs under one leaf and 2.5 µs through a spine.
    "roce_100g": {"nic_bandwidth": "100Gbps", "nic_latency": "0.75us", "fabric_latency": "0.5us"},
    "roce_200g": {"nic_bandwidth": "200Gbps", "nic_latency": "0.75us", "fabric_latency": "0.5us"},
    "roce_400g": {"nic_bandwidth": "400Gbps", "nic_latency": "0.75us", "fabric_latency": "0.5us"},
}

LEAF_DOWNLINKS = 32
"""NIC ports per leaf by default: half of a 64-port switch (InfiniBand NDR QM9700: 64 × 400 Gb/s),
the other half going up, so a full leaf is non-blocking at ``oversubscription = 1``."""


def _preset(table: dict[str, dict], name: str, field: str) -> dict:
    if not isinstance(name, str) or name not in table:
        close = difflib.get_close_matches(str(name), list(table), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TopologyError(f"{field}: unknown preset {name!r}{hint}; accepted: {', '.join(table)}")
    return table[name]


def _count_or(name: str, value: object, default: object, minimum: int = 1) -> int:
    return check_count(name, default if value is None else value, minimum)


def gpu_cluster(
    nodes: int | None = None,
    gpus_per_node: int | None = None,
    hosts: int | None = None,
    node_type: str = "dgx_h100",
    fabric: str = "ib_ndr",
    nvlink_bandwidth: float | str | None = None,
    nvlink_latency: float | str | None = None,
    pcie_bandwidth: float | str | None = None,
    pcie_latency: float | str | None = None,
    nics_per_node: int | None = None,
    nic_bandwidth: float | str | None = None,
    nic_latency: float | str | None = None,
    fabric_latency: float | str | None = None,
    nodes_per_leaf: int | None = None,
    spines: int = 1,
    oversubscription: float = 1.0,
) -> nx.Graph:
    """Return a GPU cluster: ``nodes`` servers of ``gpus_per_node`` GPUs on a leaf-spine fabric.

    Parameters
    ----------
    nodes : int, optional
        Number of servers, >= 1. Give ``nodes`` or ``hosts`` (or both, consistent).
    gpus_per_node : int, optional
        GPUs per server ``g``, >= 1 (default: the node type's, 8).
    hosts : int, optional
        Total GPUs, a multiple of ``gpus_per_node``; ``nodes = hosts / g``.
    node_type : str, default "dgx_h100"
        Server preset (:data:`NODE_TYPES`): defaults for ``gpus_per_node``,
        ``nvlink_*``, ``pcie_*`` and ``nics_per_node``.
    fabric : str, default "ib_ndr"
        Fabric preset (:data:`FABRICS`): defaults for ``nic_bandwidth``, ``nic_latency``
        and ``fabric_latency``.
    nvlink_bandwidth : float or str, optional
        NVLink bandwidth of each GPU to its node's NVSwitch, bytes/s per direction.
    nvlink_latency : float or str, optional
        One-way latency of a GPU-NVSwitch link, s (GPU to GPU crosses two).
    pcie_bandwidth, pcie_latency : float or str, optional
        Each GPU's PCIe link towards its NIC, bytes/s and s (and, when GPUs share a
        NIC, each port's link to the NIC).
    nics_per_node : int, optional
        NICs per server, dividing ``gpus_per_node`` (``g`` = one per GPU; 1 = one per node).
    nic_bandwidth, nic_latency : float or str, optional
        NIC-leaf link, bytes/s per direction and s.
    fabric_latency : float or str, optional
        Leaf-spine link latency, s.
    nodes_per_leaf : int, optional
        Servers per leaf switch, >= 1 (default: ``max(1, 32 // nics_per_node)``,
        :data:`LEAF_DOWNLINKS`).
    spines : int, default 1
        Spine switches (each leaf links to all); unused with a single leaf.
    oversubscription : float, default 1.0
        Ratio of a full leaf's NIC bandwidth to its total uplink bandwidth.

    Returns
    -------
    networkx.Graph
        ``G.graph`` also holds ``nodes``, ``gpus_per_node``, ``nics_per_node``,
        ``leaves``, ``spines``, ``nodes_per_leaf``, ``oversubscription``, ``node_type``,
        ``fabric``, ``uplink_bandwidth`` (bytes/s of each leaf-spine link, ``None``
        with one leaf) and ``border`` (the top switches: spines, or the single leaf).
        Switch nodes have ``role`` (nvswitch, pcie, nic, leaf, spine) and ``level``.

    Raises
    ------
    TopologyError
        If a parameter is invalid, naming it and its value.

    Examples
    --------
    >>> G = gpu_cluster(nodes=8, node_type="dgx_a100", fabric="roce_400g", oversubscription=2)
    >>> G.graph["leaves"], G.graph["nodes_per_leaf"], len(G.graph["hosts"])
    (2, 4, 64)
    >>> G.graph["uplink_bandwidth"] == 32 * 50e9 / 2
    True
    >>> G.edges["h0", "nvs0"]["bandwidth"], G.edges["nic0.0", "leaf0"]["bandwidth"]
    (300000000000.0, 50000000000.0)
    """
    node_preset = _preset(NODE_TYPES, node_type, "node_type")
    fabric_preset = _preset(FABRICS, fabric, "fabric")
    g = _count_or("gpus_per_node", gpus_per_node, node_preset["gpus_per_node"])
    if nodes is None and hosts is None:
        raise TopologyError("give nodes (servers) or hosts (GPUs), got neither")
    if hosts is not None:
        total = check_count("hosts", hosts)
        if total % g:
            raise TopologyError(f"hosts = {total} is not a multiple of gpus_per_node = {g}")
        if nodes is not None and check_count("nodes", nodes) * g != total:
            raise TopologyError(f"hosts = {total} but nodes × gpus_per_node = {nodes} × {g} = {nodes * g}")
        n = total // g
    else:
        n = check_count("nodes", nodes)
    nics = _count_or("nics_per_node", nics_per_node, min(node_preset["nics_per_node"], g))
    if g % nics:
        raise TopologyError(f"nics_per_node = {nics} must divide gpus_per_node = {g}")
    per_nic = g // nics

    def bandwidth(name: str, value: object, preset: dict) -> float:
        return check_bandwidth(name, preset[name] if value is None else value)

    def latency(name: str, value: object, preset: dict) -> float:
        return check_latency(name, preset[name] if value is None else value)

    nv_bw = bandwidth("nvlink_bandwidth", nvlink_bandwidth, node_preset)
    nv_lat = latency("nvlink_latency", nvlink_latency, node_preset)
    pcie_bw = bandwidth("pcie_bandwidth", pcie_bandwidth, node_preset)
    pcie_lat = latency("pcie_latency", pcie_latency, node_preset)
    nic_bw = bandwidth("nic_bandwidth", nic_bandwidth, fabric_preset)
    nic_lat = latency("nic_latency", nic_latency, fabric_preset)
    fab_lat = latency("fabric_latency", fabric_latency, fabric_preset)
    per_leaf = _count_or("nodes_per_leaf", nodes_per_leaf, max(1, LEAF_DOWNLINKS // nics))
    n_spines = check_count("spines", spines)
    ratio = check_ratio("oversubscription", oversubscription)
    leaves = math.ceil(n / per_leaf)

    description = (
        f"gpu_cluster: {n} nodes x {g} GPUs ({node_type}, NVLink {format_bandwidth(nv_bw)} per GPU), "
        f"{nics} NICs per node at {format_bandwidth(nic_bw)} ({fabric}), "
        + (f"{leaves} leaves x {n_spines} spines, oversubscription {ratio:g}:1" if leaves > 1 else "one leaf")
    )
    names = [f"h{r}" for r in range(n * g)]
    G = nx.Graph(name="gpu_cluster", description=description, hosts=names)
    for r, host in enumerate(names):
        G.add_node(host, kind="host", node=r // g, gpu=r % g)
    port_level = 1 if per_nic == 1 else 2
    for i in range(n):
        G.add_node(f"nvs{i}", kind="switch", role="nvswitch", level=1, node=i)
    leaf_names = [f"leaf{j}" for j in range(leaves)]
    G.add_nodes_from(leaf_names, kind="switch", role="leaf", level=port_level + 1)
    spine_names = [f"spine{s}" for s in range(n_spines)] if leaves > 1 else []
    G.add_nodes_from(spine_names, kind="switch", role="spine", level=port_level + 2)
    for i in range(n):
        leaf = leaf_names[i // per_leaf]
        for j in range(nics):
            nic = f"nic{i}.{j}"
            G.add_node(nic, kind="switch", role="nic", level=port_level, node=i)
            G.add_edge(nic, leaf, bandwidth=nic_bw, latency=nic_lat, level=port_level)
        for local in range(g):
            host = names[i * g + local]
            G.add_edge(host, f"nvs{i}", bandwidth=nv_bw, latency=nv_lat, level=0, link="nvlink")
            nic = f"nic{i}.{local // per_nic}"
            if per_nic == 1:
                G.add_edge(host, nic, bandwidth=pcie_bw, latency=pcie_lat, level=0, link="pcie")
            else:
                port = f"pcie{i}.{local}"
                G.add_node(port, kind="switch", role="pcie", level=1, node=i)
                G.add_edge(host, port, bandwidth=pcie_bw, latency=pcie_lat, level=0, link="pcie")
                G.add_edge(port, nic, bandwidth=pcie_bw, latency=0.0, level=1, link="pcie")
    uplink = None
    if spine_names:
        uplink = per_leaf * nics * nic_bw / (ratio * n_spines)
        for leaf in leaf_names:
            for spine in spine_names:
                G.add_edge(leaf, spine, bandwidth=uplink, latency=fab_lat, level=port_level + 1)
    G.graph.update(
        nodes=n,
        gpus_per_node=g,
        nics_per_node=nics,
        leaves=leaves,
        spines=len(spine_names),
        nodes_per_leaf=per_leaf,
        oversubscription=ratio,
        node_type=node_type,
        fabric=fabric,
        uplink_bandwidth=uplink,
        border=spine_names or leaf_names,
    )
    return validate_topology(G)
