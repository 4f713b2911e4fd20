"""Shared constants and helpers of the collective tests (a star of B bytes/s, L s per link)."""

import networkx as nx
import numpy as np

B = 1.25e9  # bytes/s
L = 3e-6  # seconds per link
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]
PS = [1, 2, 3, 4, 5, 7, 8, 16]
LENGTHS = [0, 1, 3, 15, 17, 1001]


def lg(p):
    """⌈lg p⌉ for p >= 1."""
    return (p - 1).bit_length()


def full_mesh(p, bandwidth=B, latency=L):
    """Every pair of p hosts linked directly (no switch): ranks never share a link."""
    hosts = [f"h{i}" for i in range(p)]
    G = nx.Graph(name="mesh", hosts=hosts)
    G.add_nodes_from(hosts, kind="host")
    G.add_edges_from(
        ((a, b) for i, a in enumerate(hosts) for b in hosts[i + 1 :]),
        bandwidth=bandwidth,
        latency=latency,
    )
    return G


def vectors(p, length, seed=0):
    """p seeded standard-normal vectors of the given length."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(length) for _ in range(p)]
