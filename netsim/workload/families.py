"""Families of symmetric transfers: translations of ranks along layout axes.

A family is a transfer and its images under translations of the rank coordinates:
``d`` (data-parallel replica), ``t`` (tensor-parallel index), ``g`` and ``e`` (expert
group and position inside it, ``d = g·ep + e``), each by every multiple of a step. With
step 1 along ``d`` a family is "this transfer in every replica"; with step ``k`` along
``d`` inside a data-parallel ring it is "this ring step at every ``k``-th position".

:class:`FamilyNet` is the network a :class:`~netsim.collectives.Communicator` sees in the
aggregated simulation: a transfer between two hosts starts the whole family on a
:class:`~netsim.workload.fluid.FluidNetwork`. :class:`CyclicCommunicator` runs a ring
collective on ``k`` of its ``N`` ranks only: a message to rank ``j ≥ k`` is the image of a
message to ``j mod k`` and is matched as such.

Examples
--------
>>> from netsim.workload.layout import Layout
>>> layout = Layout(dp=4, pp=1, tp=2, hosts=tuple(range(8)))
>>> members(layout, (0, 2), (("d", 2), ("t", 1)))
[(0, 2), (1, 3), (4, 6), (5, 7)]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import simpy
from simpy.events import Event

from netsim.collectives import Communicator
from netsim.workload.errors import AggregationRejected
from netsim.workload.layout import Layout

__all__ = ["axis_size", "translate", "shifts", "members", "FamilyNet", "CyclicCommunicator"]


def axis_size(layout: Layout, axis: str) -> int:
    """Number of positions along ``axis`` (``d``, ``t``, ``g`` or ``e``)."""
    return {"d": layout.dp, "t": layout.tp, "g": layout.dp // layout.ep, "e": layout.ep}[axis]


def translate(layout: Layout, rank: int, axis: str, delta: int) -> int:
    """``rank`` moved by ``delta`` positions along ``axis`` (cyclically)."""
    d, p, t = layout.coords(rank)
    if axis == "t":
        t = (t + delta) % layout.tp
    elif axis == "d":
        d = (d + delta) % layout.dp
    else:
        g, e = divmod(d, layout.ep)
        if axis == "g":
            g = (g + delta) % (layout.dp // layout.ep)
        else:
            e = (e + delta) % layout.ep
        d = g * layout.ep + e
    return layout.rank(d, p, t)


def shifts(layout: Layout, axes: Sequence[tuple[str, int]]) -> list[tuple[tuple[str, int], ...]]:
    """Every combination of translations: one ``(axis, delta)`` per axis, deltas multiples of its step."""
    options = [[(axis, delta) for delta in range(0, axis_size(layout, axis), step)] for axis, step in axes]
    return list(itertools.product(*options))


def members(layout: Layout, pair: tuple[int, int], axes: Sequence[tuple[str, int]]) -> list[tuple[int, int]]:
    """The rank pairs of the family of ``pair`` under the translations of ``axes``."""
    out = []
    for combo in shifts(layout, axes):
        a, b = pair
        for axis, delta in combo:
            a, b = translate(layout, a, axis, delta), translate(layout, b, axis, delta)
        out.append((a, b))
    return out


class FamilyNet:
    """The network of one context's communicators: each transfer starts its family.

    Parameters
    ----------
    fluid : FluidNetwork
        Where families run; routes are registered under ``(context, src rank, dst rank)``.
    context : str
        The communication context (``"tp"``, ``"pp"``, ``"dp"``, ...).
    rank_of : dict
        Host -> rank.
    size : int
        Members per family (bytes are counted ``size`` times).
    graph : networkx.Graph
        The topology (read by algorithms such as ``hierarchical``).
    counter : dict
        ``context -> bytes`` sent, updated by every transfer.
    rank_bytes : numpy.ndarray
        Bytes sent by every rank, credited to every member's source.
    sources : dict
        ``(context, src rank, dst rank) -> array of the members' source ranks``.
    """

    def __init__(self, fluid, context: str, rank_of: dict, size: int, graph, counter: dict, rank_bytes=None, sources=None):
        self.fluid, self.context, self.rank_of, self.size = fluid, context, rank_of, size
        self.env, self.graph, self.counter = fluid.env, graph, counter
        self.rank_bytes, self.sources = rank_bytes, sources
        self.flows = 0  # member flows started (families × their size)

    def transfer(self, src, dst, nbytes: float, *, value=None, event: Event | None = None, max_rate: float = float("inf")) -> Event:
        """Start the family of the transfer ``src → dst`` (hosts); fires when its members are delivered."""
        self.counter[self.context] = self.counter.get(self.context, 0.0) + nbytes * self.size
        self.flows += self.size
        key = (self.context, self.rank_of[src], self.rank_of[dst])
        if not self.fluid.has_route(key):  # a transfer the symmetry check did not see: not proven
            raise AggregationRejected(f"unexpected {self.context} transfer {src} -> {dst}", [self.context])
        if self.rank_bytes is not None:
            self.rank_bytes[self.sources[key]] += nbytes
        return self.fluid.transfer(key, nbytes, value=value, event=event)


class CyclicCommunicator(Communicator):
    """A communicator on which only ranks ``0 .. step−1`` run; rank ``r`` stands for ``r + j·step``.

    For algorithms whose messages are the same for every rank up to a cyclic shift
    (:data:`netsim.workload.symmetry.EQUIVARIANT`), with the shift by ``step`` a symmetry of
    the network: a message from ``src`` to ``dst`` is matched by the receiver
    ``dst mod step`` as coming from ``src − (dst − dst mod step)``.
    """

    __slots__ = ("step",)

    def __init__(self, env: simpy.Environment, network, hosts: Sequence, step: int):
        super().__init__(env, network, hosts)
        if step < 1 or self.size % step:
            raise ValueError(f"step {step} must divide the communicator size {self.size}")
        self.step = step

    def send(self, src: int, dst: int, tag, payload, nbytes: float) -> simpy.Event:
        """Send from ``src`` (< step) to ``dst``; matched as the image message to ``dst mod step``."""
        shift = dst - dst % self.step
        key = ((src - shift) % self.size, dst - shift, tag)
        mailbox = self._mailbox
        event = mailbox.pop(key, None)
        if event is None:
            event = mailbox[key] = Event(self.env)
        self.bytes_sent[src] += nbytes
        self.messages[src] += 1
        return self.network.transfer(self.hosts[src], self.hosts[dst], nbytes, value=payload, event=event)

    def recv(self, dst: int, src: int, tag) -> simpy.Event:
        """The message ``src`` sends ``dst`` (< step) under ``tag``."""
        key = (src, dst, tag)
        mailbox = self._mailbox
        event = mailbox.pop(key, None)
        if event is None:
            event = mailbox[key] = Event(self.env)
        return event

    def shared(self, key, factory):
        """No state shared by all ranks of a call (only ``step`` of them run): ``None``.

        Collectives that would share a call-wide state machine (the dataflow engine of
        :mod:`netsim.collectives.engine`) then run their per-rank reference generators,
        whose messages go through :meth:`send` and :meth:`recv`.
        """
        return None

    def subgroup(self, ranks):
        """Not available: a cyclic communicator runs ring collectives only."""
        raise ValueError("a cyclic communicator has no subgroups (ring collectives only)")
