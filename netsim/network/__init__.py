"""Network models: turn ``transfer(src, dst, nbytes)`` into a delivery event.

Models are registered by name in :data:`NETWORK_MODELS` and built with
:func:`make_network`:

========== ===============================================================
name       model
========== ===============================================================
flow       fluid max-min fair sharing of every link direction (default)
analytic   alpha-beta, ``latency + size / bottleneck``, no contention
========== ===============================================================
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import simpy

from netsim.exceptions import ScenarioError
from netsim.network.analytic import AnalyticNetwork
from netsim.network.base import Network, Route
from netsim.network.flow import FlowNetwork
from netsim.network.maxmin import max_min_rates, max_min_rates_coo, max_min_rates_small

__all__ = [
    "NETWORK_MODELS",
    "DEFAULT_NETWORK_MODEL",
    "make_network",
    "Network",
    "Route",
    "FlowNetwork",
    "AnalyticNetwork",
    "max_min_rates",
    "max_min_rates_coo",
    "max_min_rates_small",
]

#: Model name -> (class, one-line description).
NETWORK_MODELS: dict[str, tuple[type[Network], str]] = {
    "flow": (FlowNetwork, "fluid max-min fair sharing of every link direction (default)"),
    "analytic": (
        AnalyticNetwork,
        "alpha-beta: latency + size / bottleneck bandwidth, no contention",
    ),
}

#: Name of the model used when a scenario does not choose one.
DEFAULT_NETWORK_MODEL = "flow"


def make_network(name: str, env: simpy.Environment, graph: nx.Graph, router: Any) -> Network:
    """Build the network model registered as `name`.

    Parameters
    ----------
    name : str
        A key of :data:`NETWORK_MODELS` (``"flow"`` or ``"analytic"``).
    env : simpy.Environment
        The simulation environment.
    graph : networkx.Graph
        Topology (edge ``bandwidth`` bytes/s per direction, ``latency`` seconds).
    router : object
        Any object with ``path(src, dst) -> sequence of nodes``.

    Returns
    -------
    Network
        The model instance.

    Raises
    ------
    ScenarioError
        If `name` is not a registered model.

    Examples
    --------
    >>> import networkx as nx, simpy
    >>> g = nx.Graph(); g.add_edge("h0", "h1", bandwidth=1e9, latency=0.0)
    >>> make_network("flow", simpy.Environment(), g, None)
    <FlowNetwork 2 nodes, 2 directed links, 0 transfers>
    >>> make_network("packet", simpy.Environment(), g, None)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: network.model: unknown model 'packet'; accepted: analytic, flow
    """
    try:
        cls = NETWORK_MODELS[name][0]
    except (KeyError, TypeError):
        accepted = ", ".join(sorted(NETWORK_MODELS))
        raise ScenarioError(
            f"network.model: unknown model {name!r}; accepted: {accepted}"
        ) from None
    return cls(env, graph, router)
