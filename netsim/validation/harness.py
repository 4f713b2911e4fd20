"""Run the small simulations of the validation cases on any registered network model.

:func:`build_network` makes a model by name with an optional transport profile;
:func:`run_transfers` starts point-to-point transfers at given times and returns when each
was delivered; :func:`run_collective` runs one size-only collective on every host. Times
in seconds, sizes in bytes, bandwidths in bytes/s.

Examples
--------
>>> from netsim.validation.harness import chain, run_transfers
>>> g = chain([1e9, 1e9], [1e-6, 2e-6])              # h0 - s0 - h1
>>> run_transfers("flow", g, [("h0", "h1", 1e6)])    # 3 us + 1 ms
[0.001003]
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Sequence
from typing import Any

import networkx as nx
import simpy

from netsim.exceptions import ScenarioError
from netsim.topology import Router
from netsim.topology.builders import host_graph
from netsim.topology.validate import validate_topology

__all__ = ["build_network", "accepts_transport", "chain", "run_transfers", "run_collective"]


def _model_class(model: str) -> type:
    from netsim.network import NETWORK_MODELS

    try:
        return NETWORK_MODELS[model][0]
    except KeyError:
        accepted = ", ".join(sorted(NETWORK_MODELS))
        raise ScenarioError(f"network.model: unknown model {model!r}; accepted: {accepted}") from None


def accepts_transport(model: str) -> bool:
    """Whether the model's constructor takes a ``transport=`` profile."""
    parameters = inspect.signature(_model_class(model)).parameters
    return "transport" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def build_network(model: str, env: simpy.Environment, graph: nx.Graph, transport: Any = None, **options):
    """Network model `model` on `graph` (shortest-path routing), with `transport` if given.

    Parameters
    ----------
    model : str
        A key of :data:`netsim.network.NETWORK_MODELS`.
    env : simpy.Environment
        The environment.
    graph : networkx.Graph
        The topology.
    transport : TransportProfile, optional
        Passed as ``transport=`` (models without transports are built without it; a
        profile then must be ``None``).
    **options
        Model options (e.g. a packet model's buffer size).

    Raises
    ------
    ScenarioError
        If `model` is unknown, or `transport` is given to a model that takes none.
    """
    cls = _model_class(model)
    if transport is not None:
        if not accepts_transport(model):
            raise ScenarioError(f"network.model: model {model!r} takes no transport profile")
        options["transport"] = transport
    return cls(env, graph, Router(graph), **options)


def chain(bandwidths: Sequence[float], latencies: Sequence[float]) -> nx.Graph:
    """A line ``h0 - s0 - s1 - … - h1`` of ``len(bandwidths)`` links (bytes/s, s).

    One link gives ``h0 - h1`` directly. Hosts ``h0`` (rank 0) and ``h1`` (rank 1).
    """
    if len(bandwidths) != len(latencies) or not bandwidths:
        raise ValueError("chain needs as many latencies as bandwidths, at least one")
    G = host_graph(2, "chain", f"chain of {len(bandwidths)} links")
    nodes = ["h0", *(f"s{i}" for i in range(len(bandwidths) - 1)), "h1"]
    for node in nodes[1:-1]:
        G.add_node(node, kind="switch")
    for (u, v), bw, lat in zip(zip(nodes, nodes[1:], strict=False), bandwidths, latencies, strict=True):
        G.add_edge(u, v, bandwidth=float(bw), latency=float(lat))
    return validate_topology(G)


def run_transfers(
    model: str,
    graph: nx.Graph,
    transfers: Sequence[tuple[Hashable, Hashable, float] | tuple[Hashable, Hashable, float, float]],
    *,
    transport: Any = None,
    **options,
) -> list[float]:
    """Deliver each ``(src, dst, nbytes[, start])`` transfer; return the delivery times.

    Parameters
    ----------
    model : str
        Network model name.
    graph : networkx.Graph
        The topology.
    transfers : sequence of tuple
        ``(src, dst, nbytes)`` started at time 0, or ``(src, dst, nbytes, start)``
        started at ``start`` seconds (payload bytes).
    transport : TransportProfile, optional
        See :func:`build_network`.
    **options
        Model options.

    Returns
    -------
    list of float
        Simulated second at which each transfer was delivered, in input order.
    """
    env = simpy.Environment()
    network = build_network(model, env, graph, transport, **options)
    done = [float("nan")] * len(transfers)

    def send(index: int, src, dst, nbytes: float, start: float):
        if start > 0:
            yield env.timeout(start)
        yield network.transfer(src, dst, nbytes)
        done[index] = env.now

    for index, spec in enumerate(transfers):
        src, dst, nbytes, *rest = spec
        env.process(send(index, src, dst, nbytes, rest[0] if rest else 0.0))
    env.run()
    return done


def run_collective(
    model: str, graph: nx.Graph, algorithm: str, nbytes: float, *, transport: Any = None, **options
) -> float:
    """Time of one size-only collective of `nbytes` over every host (rank ``r`` on host ``r``), s.

    Parameter servers use the last host as the server and the others as workers.
    `options` go to the model (see :func:`build_network`).
    """
    from netsim.collectives.comm import Communicator
    from netsim.collectives.placement import place_ranks
    from netsim.collectives.registry import get_algorithm

    algo = get_algorithm(algorithm, field="algorithm")
    hosts = list(graph.graph["hosts"])
    servers = 1 if algo.kind == "parameter_server" else 0
    placement = place_ranks(algo, hosts, len(hosts) - servers, servers=servers)
    env = simpy.Environment()
    comm = Communicator(env, build_network(model, env, graph, transport, **options), placement)
    extra = {"server": len(hosts) - 1} if servers else {}
    finish = [0.0] * comm.size

    def rank_process(rank: int):
        yield from algo.run(comm, rank, None, nbytes, **extra)
        finish[rank] = env.now

    for rank in range(comm.size):
        env.process(rank_process(rank))
    env.run()
    return max(finish)
