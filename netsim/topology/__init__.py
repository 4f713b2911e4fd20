"""Network topologies: builders, files, validation and routing.

A topology is an undirected :class:`networkx.Graph`: node attribute ``kind``
(``"host"`` or ``"switch"``), edge attributes ``bandwidth`` (bytes/s, per
direction; links are full duplex) and ``latency`` (s, one way),
``G.graph["hosts"]`` (hosts in rank order) and ``G.graph["name"]``.

Examples
--------
>>> from netsim.topology import Router, describe, tree
>>> G = tree(8, "100Gbps", "1us", fanout=2, oversubscription=2)
>>> describe(G)["switches"], G.graph["level_bandwidth"]
(7, [12500000000.0, 12500000000.0, 12500000000.0])
>>> Router(G).path("h0", "h7")
('h0', 's0', 's4', 's6', 's5', 's3', 'h7')
"""

from netsim.topology.builders import dumbbell, ring, star, torus
from netsim.topology.edge import ACCESS_PRESETS, edge
from netsim.topology.files import TOPOLOGY_DIR, bundled_topologies, from_file
from netsim.topology.gpu_cluster import FABRICS, NODE_TYPES, gpu_cluster
from netsim.topology.multi_dc import FIBRE_LATENCY_PER_KM, fibre_latency, multi_dc
from netsim.topology.registry import TOPOLOGIES, build_topology
from netsim.topology.routing import ROUTING_MODES, Router
from netsim.topology.tree import fat_tree, tree
from netsim.topology.validate import KINDS, describe, hosts, switches, validate_topology

__all__ = [
    "star",
    "ring",
    "tree",
    "dumbbell",
    "fat_tree",
    "torus",
    "gpu_cluster",
    "multi_dc",
    "edge",
    "NODE_TYPES",
    "FABRICS",
    "ACCESS_PRESETS",
    "fibre_latency",
    "FIBRE_LATENCY_PER_KM",
    "from_file",
    "bundled_topologies",
    "TOPOLOGY_DIR",
    "TOPOLOGIES",
    "build_topology",
    "Router",
    "ROUTING_MODES",
    "validate_topology",
    "hosts",
    "switches",
    "describe",
    "KINDS",
]
