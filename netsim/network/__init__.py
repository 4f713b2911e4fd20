"""Network models: turn ``transfer(src, dst, nbytes)`` into a delivery event.

Models are registered by name in :data:`NETWORK_MODELS` and built with
:func:`make_network`:

========== ===============================================================
name       model
========== ===============================================================
flow       fluid max-min fair sharing of every link direction (default)
analytic   alpha-beta, ``latency + size / bottleneck``, no contention
packet     MTU frames, store-and-forward queues with finite buffers, TCP/RoCE/UDP
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
from netsim.network.packet import PacketNetwork

__all__ = [
    "NETWORK_MODELS",
    "DEFAULT_NETWORK_MODEL",
    "make_network",
    "Network",
    "Route",
    "FlowNetwork",
    "AnalyticNetwork",
    "PacketNetwork",
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
    "packet": (
        PacketNetwork,
        "MTU frames, store-and-forward queues with finite buffers, TCP/RoCE/UDP engines",
    ),
}

#: Name of the model used when a scenario does not choose one.
DEFAULT_NETWORK_MODEL = "flow"


def make_network(
    name: str,
    env: simpy.Environment,
    graph: nx.Graph,
    router: Any,
    *,
    transport: Any = None,
    **options: Any,
) -> Network:
    """Build the network model registered as `name`.

    Parameters
    ----------
    name : str
        A key of :data:`NETWORK_MODELS` (``"flow"``, ``"analytic"`` or ``"packet"``).
    env : simpy.Environment
        The simulation environment.
    graph : networkx.Graph
        Topology (edge ``bandwidth`` bytes/s per direction, ``latency`` seconds).
    router : object
        Any object with ``path(src, dst) -> sequence of nodes``.
    transport : netsim.transport.TransportProfile, optional
        Protocol profile of every transfer (default ``ideal``).
    **options
        Model options, the same for every model: ``loss_rate`` (per-link frame loss
        probability, default 0), ``buffer`` (bytes per switch port, ``None``: the
        model's default), ``ecn`` (bool), ``seed`` (int). The fluid models honour
        ``loss_rate`` through the transport (expected values) and ignore the others.

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
    >>> make_network("packets", simpy.Environment(), g, None)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: network.model: unknown model 'packets'; accepted: analytic, flow, packet
    """
    try:
        cls = NETWORK_MODELS[name][0]
    except (KeyError, TypeError):
        accepted = ", ".join(sorted(NETWORK_MODELS))
        raise ScenarioError(
            f"network.model: unknown model {name!r}; accepted: {accepted}"
        ) from None
    return cls(env, graph, router, transport=transport, **options)
