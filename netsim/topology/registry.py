"""Topology builders by name, as scenario files refer to them."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable

import networkx as nx

from netsim.exceptions import ScenarioError
from netsim.topology.builders import dumbbell, ring, star, torus
from netsim.topology.edge import edge
from netsim.topology.files import from_file
from netsim.topology.gpu_cluster import gpu_cluster
from netsim.topology.multi_dc import multi_dc
from netsim.topology.tree import fat_tree, tree

__all__ = ["TOPOLOGIES", "SCENARIO_KEYS", "build_topology"]

#: Builder and one-line description of every topology kind.
TOPOLOGIES: dict[str, tuple[Callable[..., nx.Graph], str]] = {
    "star": (star, "every host linked to one switch"),
    "ring": (ring, "hosts linked directly in a cycle, no switches"),
    "tree": (tree, "k-ary switch tree, per-level bandwidth or oversubscription"),
    "dumbbell": (dumbbell, "two switches of hosts joined by one bottleneck link"),
    "fat_tree": (fat_tree, "k-ary fat-tree (pods of edge/aggregation switches, core layer)"),
    "torus": (torus, "hosts linked directly to grid neighbours, with wrap-around"),
    "file": (from_file, "nodes and links read from a TOML or JSON file (path = ...)"),
    "gpu_cluster": (gpu_cluster, "multi-GPU nodes (NVLink/NVSwitch) with NICs on a leaf-spine fabric"),
    "multi_dc": (multi_dc, "datacenters (each the topology.datacenter table) joined by WAN links"),
    "edge": (edge, "devices on asymmetric 4G/5G radio links to an edge server and a cloud"),
}

#: ``[topology]`` keys passed unchanged to the builders that take their own keys
#: (the older kinds take ``hosts``, ``bandwidth`` and ``latency``; see ``runner.build_graph``).
#: ``multi_dc`` also gets ``datacenter``: the graph its ``[topology.datacenter]`` table builds.
SCENARIO_KEYS: dict[str, tuple[str, ...]] = {
    "gpu_cluster": (
        "nodes", "gpus_per_node", "hosts", "node_type", "fabric", "nvlink_bandwidth",
        "nvlink_latency", "pcie_bandwidth", "pcie_latency", "nics_per_node", "nic_bandwidth",
        "nic_latency", "fabric_latency", "nodes_per_leaf", "spines", "oversubscription",
    ),
    "multi_dc": ("datacenters", "wan_bandwidth", "distance_km", "wan_latency"),
    "edge": (
        "devices", "access", "uplink", "downlink", "radio_latency", "jitter", "loss", "jitter_seed",
        "edge_bandwidth", "edge_latency", "cloud", "cloud_bandwidth", "cloud_latency", "server",
    ),
}


def build_topology(kind: str, **params) -> nx.Graph:
    """Build a topology by kind name.

    Parameters
    ----------
    kind : str
        A key of :data:`TOPOLOGIES`.
    **params
        Keyword arguments of that builder (``hosts``, ``bandwidth`` in bytes/s,
        ``latency`` in s, ... or ``path`` for ``"file"``).

    Returns
    -------
    networkx.Graph
        The validated topology.

    Raises
    ------
    ScenarioError
        If ``kind`` is unknown (listing the accepted kinds) or a parameter is
        unknown or missing (listing the builder's parameters).
    TopologyError
        If the builder rejects a parameter's value.

    Examples
    --------
    >>> G = build_topology("star", hosts=3, bandwidth="10Gbps", latency="1us")
    >>> G.graph["hosts"]
    ['h0', 'h1', 'h2']
    >>> build_topology("stra", hosts=3)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: unknown topology kind 'stra' (did you mean 'star'?); accepted: star, ring, tree, dumbbell, fat_tree, torus, file, gpu_cluster, multi_dc, edge
    """
    if not isinstance(kind, str) or kind not in TOPOLOGIES:
        close = difflib.get_close_matches(str(kind), list(TOPOLOGIES), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(
            f"unknown topology kind {kind!r}{hint}; accepted: {', '.join(TOPOLOGIES)}"
        )
    builder = TOPOLOGIES[kind][0]
    accepted = inspect.signature(builder).parameters
    names = ", ".join(accepted)
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, list(accepted), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ScenarioError(
                f"topology {kind!r}: unknown parameter {key!r}{hint}; accepted: {names}"
            )
    for key, param in accepted.items():
        if param.default is inspect.Parameter.empty and key not in params:
            raise ScenarioError(f"topology {kind!r}: missing parameter {key!r}; accepted: {names}")
    return builder(**params)
