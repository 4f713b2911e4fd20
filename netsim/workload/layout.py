"""Parallel layout: ranks as (data, pipeline, tensor) coordinates, placed onto hosts.

``world = dp × pp × tp`` ranks. Rank ``(d, p, t)`` is replica ``d`` (data parallel),
pipeline stage ``p`` and tensor-parallel index ``t``. Ranks are numbered with the axes of
``order`` from fastest to slowest varying: the default ``("tp", "pp", "dp")`` gives rank
``t + tp·(p + pp·d)``, so on hosts listed node by node (a GPU cluster's rank order) the
tensor-parallel group of a stage fills a node first, pipeline stages come next and data
parallel replicas last. Rank ``r`` runs on ``hosts[placement[r]]`` (default: host ``r``).

Expert parallelism splits the data-parallel axis: replicas ``d = g·ep + e`` form expert
group ``g`` (``e = 0 .. ep−1``, the experts are sharded over its members, which exchange
tokens by all-to-all), and the expert weights of shard ``e`` are replicated over the
``dp/ep`` replicas with that ``e`` (their gradients are reduced over those).

Examples
--------
>>> layout = Layout(dp=2, pp=2, tp=2, hosts=tuple(f"h{i}" for i in range(8)))
>>> layout.rank(1, 0, 1), layout.coords(5)
(5, (1, 0, 1))
>>> layout.tp_group(1, 1), layout.dp_group(0, 1)
([6, 7], [1, 5])
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from netsim.exceptions import ScenarioError

__all__ = ["Layout", "AXES", "DEFAULT_ORDER", "make_layout"]

AXES = ("tp", "pp", "dp")
"""The three rank axes."""

DEFAULT_ORDER = ("tp", "pp", "dp")
"""Rank order, fastest-varying axis first: tensor parallel inside a node, then pipeline, then data."""


@dataclass(frozen=True)
class Layout:
    """A parallel layout and its placement.

    Attributes
    ----------
    dp, pp, tp, ep : int
        Data-, pipeline-, tensor- and expert-parallel degrees (``ep`` divides ``dp``).
    hosts : tuple
        ``hosts[r]``: the host (topology node) of rank ``r``; ``len(hosts) == world``.
    order : tuple of str
        The axes from fastest to slowest varying in the rank number.
    """

    dp: int
    pp: int
    tp: int
    hosts: tuple[Hashable, ...]
    ep: int = 1
    order: tuple[str, ...] = DEFAULT_ORDER
    _stride: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stride, step = {}, 1
        for axis in self.order:
            stride[axis] = step
            step *= getattr(self, axis)
        object.__setattr__(self, "_stride", stride)
        if len(self.hosts) != self.world:
            raise ValueError(f"a layout of {self.world} ranks needs {self.world} hosts, got {len(self.hosts)}")

    @property
    def world(self) -> int:
        """Number of ranks (GPUs)."""
        return self.dp * self.pp * self.tp

    def rank(self, d: int, p: int, t: int) -> int:
        """The rank number of coordinates ``(d, p, t)``."""
        s = self._stride
        return d * s["dp"] + p * s["pp"] + t * s["tp"]

    def coords(self, rank: int) -> tuple[int, int, int]:
        """``(d, p, t)`` of rank ``rank``."""
        s = self._stride
        return (rank // s["dp"]) % self.dp, (rank // s["pp"]) % self.pp, (rank // s["tp"]) % self.tp

    def host(self, d: int, p: int, t: int) -> Hashable:
        """Host of rank ``(d, p, t)``."""
        return self.hosts[self.rank(d, p, t)]

    def tp_group(self, d: int, p: int) -> list[int]:
        """Ranks of the tensor-parallel group of replica ``d``, stage ``p`` (in ``t`` order)."""
        return [self.rank(d, p, t) for t in range(self.tp)]

    def dp_group(self, p: int, t: int) -> list[int]:
        """Ranks holding the same dense weights: stage ``p``, index ``t``, every replica (``d`` order)."""
        return [self.rank(d, p, t) for d in range(self.dp)]

    def ep_group(self, g: int, p: int, t: int) -> list[int]:
        """Expert group ``g`` (replicas ``g·ep .. g·ep + ep − 1``) of stage ``p``, index ``t``."""
        return [self.rank(g * self.ep + e, p, t) for e in range(self.ep)]

    def expert_dp_group(self, e: int, p: int, t: int) -> list[int]:
        """Ranks holding expert shard ``e`` of stage ``p``, index ``t`` (one per expert group)."""
        return [self.rank(g * self.ep + e, p, t) for g in range(self.dp // self.ep)]


def make_layout(
    hosts: Sequence[Hashable],
    dp: int | None,
    pp: int,
    tp: int,
    ep: int = 1,
    order: Sequence[str] = DEFAULT_ORDER,
    placement: Sequence[int] | None = None,
) -> Layout:
    """Build and check a layout on the topology's ``hosts`` (in rank order).

    Parameters
    ----------
    hosts : sequence
        The topology's hosts; rank ``r`` uses ``hosts[r]`` (or ``hosts[placement[r]]``).
    dp : int or None
        Data-parallel degree; ``None``: every host is used, ``len(hosts) / (pp·tp)``.
    pp, tp, ep : int
        Pipeline-, tensor- and expert-parallel degrees.
    order : sequence of str
        A permutation of ``("tp", "pp", "dp")``, fastest-varying first.
    placement : sequence of int, optional
        Host index of every rank (distinct).

    Raises
    ------
    ScenarioError
        Naming the ``parallel.*`` field that does not fit the hosts.
    """
    hosts = list(hosts)
    if sorted(order) != sorted(AXES):
        raise ScenarioError(f"parallel.order: expected a permutation of tp, pp, dp, got {list(order)}")
    if dp is None:
        if len(hosts) % (pp * tp):
            raise ScenarioError(
                f"parallel.dp: {len(hosts)} hosts are not a multiple of pp × tp = {pp} × {tp}; set parallel.dp"
            )
        dp = len(hosts) // (pp * tp)
    world = dp * pp * tp
    if dp % ep:
        raise ScenarioError(f"parallel.ep = {ep} must divide parallel.dp = {dp}")
    if placement is None:
        if world > len(hosts):
            raise ScenarioError(
                f"parallel: dp × pp × tp = {dp} × {pp} × {tp} = {world} ranks need more hosts than the topology's {len(hosts)}"
            )
        chosen = hosts[:world]
    else:
        if len(placement) != world:
            raise ScenarioError(f"parallel.placement: expected {world} host indices (one per rank), got {len(placement)}")
        bad = [i for i in placement if not 0 <= i < len(hosts)]
        if bad:
            raise ScenarioError(f"parallel.placement: host index {bad[0]} is out of range 0..{len(hosts) - 1}")
        if len(set(placement)) != len(placement):
            raise ScenarioError("parallel.placement: host indices must be distinct (one rank per GPU)")
        chosen = [hosts[i] for i in placement]
    return Layout(dp=dp, pp=pp, tp=tp, ep=ep, order=tuple(order), hosts=tuple(chosen))
