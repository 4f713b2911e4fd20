"""Look-up of aggregation algorithms by the names scenarios use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from netsim.collectives.parameter_server import parameter_server
from netsim.collectives.ring import ring_allreduce
from netsim.exceptions import ScenarioError

__all__ = ["Algorithm", "ALGORITHMS", "get_algorithm", "algorithm_names"]


@dataclass(frozen=True)
class Algorithm:
    """An aggregation algorithm as scenarios name it.

    Attributes
    ----------
    name : str
        Canonical name (``communication.algorithm``).
    kind : str
        ``"allreduce"`` (every rank ends with the sum) or ``"parameter_server"`` (server
        ranks reduce and reply; they need hosts of their own or co-located ones).
    run : callable
        The SPMD generator ``run(comm, rank, data=None, nbytes=None, ...)``.
    description : str
        One line for ``netsim list``.
    formula : str
        Uncontended time from REFERENCES §2.
    aliases : tuple of str
        Other accepted names.
    """

    name: str
    kind: str
    run: Callable
    description: str
    formula: str
    aliases: tuple[str, ...] = field(default=())


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "ring_allreduce",
            "allreduce",
            ring_allreduce,
            "ring reduce-scatter then ring all-gather over p chunks",
            "2(p-1)a + 2((p-1)/p) n b",
            ("ring",),
        ),
        Algorithm(
            "parameter_server",
            "parameter_server",
            parameter_server,
            "one server host: workers push, the server reduces and replies",
            "2(a + p n b)",
            ("ps",),
        ),
    )
}

_ALIASES = {alias: a.name for a in ALGORITHMS.values() for alias in a.aliases}


def algorithm_names() -> list[str]:
    """Canonical names and aliases, sorted."""
    return sorted([*ALGORITHMS, *_ALIASES])


def get_algorithm(name: str) -> Algorithm:
    """Return the algorithm called ``name`` (canonical or alias).

    Raises
    ------
    ScenarioError
        If no algorithm has that name; the message lists the accepted names.
    """
    canonical = _ALIASES.get(name, name)
    try:
        return ALGORITHMS[canonical]
    except KeyError:
        raise ScenarioError(
            f"communication.algorithm: unknown algorithm {name!r}; accepted: {', '.join(algorithm_names())}"
        ) from None
