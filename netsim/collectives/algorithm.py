"""The description of one collective algorithm, as the registry and scenarios see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Algorithm", "OPERATIONS"]

OPERATIONS = (
    "allreduce",
    "reduce_scatter",
    "all_gather",
    "broadcast",
    "reduce",
    "all_to_all",
    "gather",
    "scatter",
    "gossip",
)
"""Collective operations. Data contracts of ``run(comm, rank, data, nbytes, **options)``,
with ``n`` the bytes of the full vector (``nbytes``) and blocks cut by ``numpy.array_split``:

- ``allreduce``: every rank gives ``(n,)``, every rank gets the element-wise sum.
- ``reduce_scatter``: every rank gives ``(n,)``, rank ``r`` gets block ``r`` of the sum.
- ``all_gather``: rank ``r`` gives block ``r``; every rank gets the concatenation in rank order.
- ``broadcast``: the root gives ``(n,)`` (others ``None``); every rank gets it. Option ``root``.
- ``reduce``: every rank gives ``(n,)``; the root gets the sum, others ``None``. Option ``root``.
- ``all_to_all``: rank ``r`` gives ``(n,)`` cut into ``p`` blocks, block ``j`` for rank ``j``; rank ``r``
  gets the concatenation of block ``r`` of every rank, in rank order.
- ``gather``: rank ``r`` gives block ``r``; the root gets the concatenation, others ``None``.
- ``scatter``: the root gives ``(n,)``; rank ``r`` gets block ``r``.
- ``gossip``: every rank gives ``(n,)``, gets the mixing-weighted average of its own and its neighbours' vectors.

Size-only payloads pass ``data=None`` and ``nbytes = n`` on every rank and return ``None``.
"""


@dataclass(frozen=True)
class Algorithm:
    """A collective algorithm or parameter-server scheme, looked up by name.

    Attributes
    ----------
    name : str
        Canonical name (``communication.algorithm``, ``netsim collective --algorithm``).
    operation : str
        One of :data:`OPERATIONS`; parameter servers are ``"allreduce"`` operations.
    run : callable
        The SPMD generator ``run(comm, rank, data=None, nbytes=None, **options)``.
    description : str
        One line for ``netsim list``.
    formula : str
        Uncontended time in REFERENCES §2 notation (``a`` = alpha, ``b`` = beta).
    predict : callable, optional
        ``predict(p, n, alpha, beta) -> seconds``: the closed form for ``p`` ranks and ``n``
        bytes on a network where every rank has its own full-duplex link (``None`` if
        there is no closed form).
    aliases : tuple of str
        Other accepted names.
    kind : str
        ``"collective"``, or ``"parameter_server"`` when server ranks beyond the workers
        take part (see :mod:`netsim.collectives.parameter_server`).
    options : tuple of str
        Keyword options ``run`` accepts (e.g. ``"chunks"``, ``"root"``, ``"group_size"``).
    """

    name: str
    operation: str
    run: Callable
    description: str
    formula: str = ""
    predict: Callable[[int, float, float, float], float] | None = None
    aliases: tuple[str, ...] = field(default=())
    kind: str = "collective"
    options: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"unknown operation {self.operation!r}; accepted: {', '.join(OPERATIONS)}")
