"""Topology builders by name, as scenario files refer to them."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable

import networkx as nx

from netsim.exceptions import ScenarioError
from netsim.topology.builders import dumbbell, ring, star, torus
from netsim.topology.files import from_file
from netsim.topology.tree import fat_tree, tree

__all__ = ["TOPOLOGIES", "build_topology"]

#: Builder and one-line description of every topology kind.
TOPOLOGIES: dict[str, tuple[Callable[..., nx.Graph], str]] = {
    "star": (star, "every host linked to one switch"),
    "ring": (ring, "hosts linked directly in a cycle, no switches"),
    "tree": (tree, "k-ary switch tree, per-level bandwidth or oversubscription"),
    "dumbbell": (dumbbell, "two switches of hosts joined by one bottleneck link"),
    "fat_tree": (fat_tree, "k-ary fat-tree (pods of edge/aggregation switches, core layer)"),
    "torus": (torus, "hosts linked directly to grid neighbours, with wrap-around"),
    "file": (from_file, "nodes and links read from a TOML or JSON file (path = ...)"),
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
    netsim.exceptions.ScenarioError: unknown topology kind 'stra' (did you mean 'star'?); accepted: star, ring, tree, dumbbell, fat_tree, torus, file
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
