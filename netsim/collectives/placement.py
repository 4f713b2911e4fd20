"""Where the ranks of an algorithm run: workers on the first hosts, servers as asked."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from netsim.collectives.algorithm import Algorithm
from netsim.exceptions import ScenarioError

__all__ = ["place_ranks"]


def place_ranks(
    algorithm: Algorithm,
    hosts: Sequence[Hashable],
    workers: int,
    *,
    servers: int = 1,
    colocated: bool = False,
) -> list[Hashable]:
    """Hosts of the ranks ``0 .. workers-1`` (workers) and, for parameter servers, the server ranks after them.

    Parameters
    ----------
    algorithm : Algorithm
        Parameter-server algorithms (``kind == "parameter_server"``) add ``servers`` ranks.
    hosts : sequence
        The topology's hosts in rank order.
    workers : int
        Number of worker ranks; worker ``r`` runs on ``hosts[r]``.
    servers : int
        Number of server ranks (parameter servers only).
    colocated : bool
        Servers share the hosts of the first ``servers`` workers (BytePS-style co-location)
        instead of running on the last ``servers`` hosts of the topology.

    Raises
    ------
    ScenarioError
        If the topology has too few hosts.
    """
    if workers < 1:
        raise ScenarioError(f"training.workers must be at least 1, got {workers}")
    if algorithm.kind != "parameter_server":
        servers = 0
    elif servers < 1:
        raise ScenarioError(f"communication.servers must be at least 1, got {servers}")
    if colocated and servers:
        if servers > workers:
            raise ScenarioError(f"communication.servers = {servers} co-located servers need as many workers; there are {workers}")
        if workers > len(hosts):
            raise ScenarioError(f"{workers} workers need {workers} hosts; the topology has {len(hosts)}")
        return list(hosts[:workers]) + list(hosts[:servers])
    if workers + servers > len(hosts):
        extra = f" and {servers} dedicated server host(s)" if servers else ""
        raise ScenarioError(f"{workers} workers{extra} need {workers + servers} hosts; the topology has {len(hosts)}")
    return list(hosts[:workers]) + list(hosts[len(hosts) - servers :])
