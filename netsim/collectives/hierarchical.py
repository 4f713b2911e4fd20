"""Hierarchical (2-D) ring allreduce: reduce-scatter in groups, allreduce across, all-gather in groups.

Ranks are split into groups (:func:`rank_groups`): consecutive ranks of ``group_size``
if that option is given, else the ranks whose hosts hang off the same first-hop switch
(a leaf of a tree, an edge switch of a fat-tree, a side of a dumbbell), else one group.

With equal groups of ``a`` ranks (``b = p/a`` groups), the vector is cut into ``a``
blocks (``numpy.array_split``):

1. ring reduce-scatter inside each group: local rank ``i`` gets block ``i`` of the
   group's sum (:func:`~netsim.collectives.reduce_scatter.ring_reduce_scatter_chunks`);
2. ring allreduce of block ``i`` across the groups, between the ``b`` ranks of local
   index ``i`` (one per group; ``comm.subgroup``), all ``a`` of these rings at once;
3. ring all-gather inside each group
   (:func:`~netsim.collectives.all_gather.ring_all_gather_chunks`).

Uncontended time (REFERENCES §2), ``α₁, β₁`` inside a group and ``α₂, β₂`` between
groups (:func:`hierarchical_time`):

    ``2(a−1)(α₁ + nβ₁/a) + 2(b−1)(α₂ + nβ₂/(ab))``.

With one ``α, β`` this is ``2(a+b−2)α + 2((p−1)/p)nβ``: the flat ring's bandwidth term
with ``a + b − 2`` instead of ``p − 1`` latency steps. The registry's ``predict`` uses
one group (``a = p``, the flat ring), which is what a single switch gives.

Note that the ``a`` concurrent rings of step 2 all leave a group through its switch's
uplink: on an oversubscribed tree they share it, whereas a flat ring in rank order
crosses each uplink once per direction. The hierarchy therefore saves latency (fewer,
shorter steps) but may lose bandwidth there; the tests compute both cases by hand.

Unequal groups (``p`` not a multiple of ``group_size``, or uneven switches): the vector
is cut into ``K`` blocks, ``K`` the largest group size; in a group of ``a_g`` ranks,
local rank ``i`` owns the consecutive blocks ``numpy.array_split(range(K), a_g)[i]``.
Each block is allreduced across groups by the ranks owning it (consecutive blocks with
the same owners in one ring); a rank owning blocks with different owners runs those
rings one after the other. Results stay exact; the time is no longer the formula.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.all_gather import ring_all_gather_chunks
from netsim.collectives.chunks import element_bytes, payload_nbytes
from netsim.collectives.comm import Communicator
from netsim.collectives.reduce_scatter import block_bounds, ring_reduce_scatter_chunks
from netsim.collectives.ring import ring_allreduce

__all__ = ["hierarchical", "rank_groups", "hierarchical_time", "REGISTER"]


def hierarchical_time(
    a: int,
    b: int,
    n: float,
    alpha1: float,
    beta1: float,
    alpha2: float | None = None,
    beta2: float | None = None,
) -> float:
    """Uncontended time of the 2-D ring allreduce, seconds (REFERENCES §2).

    Parameters
    ----------
    a, b : int
        Ranks per group and number of groups (``p = a·b``).
    n : float
        Bytes of the vector.
    alpha1, beta1 : float
        Latency (s) and inverse bandwidth (s/byte) between ranks of a group.
    alpha2, beta2 : float, optional
        The same between groups; default to ``alpha1`` and ``beta1``.

    Examples
    --------
    >>> hierarchical_time(4, 1, 1e6, 1e-6, 1e-9) == 2 * 3 * (1e-6 + 1e6 * 1e-9 / 4)
    True
    """
    alpha2 = alpha1 if alpha2 is None else alpha2
    beta2 = beta1 if beta2 is None else beta2
    return 2 * (a - 1) * (alpha1 + n * beta1 / a) + 2 * (b - 1) * (alpha2 + n * beta2 / (a * b))


def rank_groups(comm: Communicator, group_size: int | None = None) -> list[tuple[int, ...]]:
    """The groups of the hierarchical allreduce, as tuples of ranks of ``comm``.

    Parameters
    ----------
    comm : Communicator
        Its hosts and ``comm.network.graph`` (node attribute ``kind``) are read.
    group_size : int, optional
        Groups of this many consecutive ranks (the last one may be smaller).

    Returns
    -------
    list of tuple of int
        Without ``group_size``: ranks whose host has exactly one neighbouring switch,
        grouped by that switch (in order of their lowest rank; ranks in increasing
        order). One group of every rank if some host has no switch or several (a host
        ring, a torus, a multi-homed host) or the network has no graph.

    Raises
    ------
    ValueError
        If ``group_size`` is not a positive integer.
    """
    size = comm.size
    if group_size is not None:
        if isinstance(group_size, bool) or int(group_size) != group_size or group_size < 1:
            raise ValueError(f"group_size must be a positive integer, got {group_size!r}")
        g = int(group_size)
        return [tuple(range(start, min(start + g, size))) for start in range(0, size, g)]
    everyone = [tuple(range(size))]
    graph = getattr(comm.network, "graph", None)
    if graph is None:
        return everyone
    groups: dict = {}
    for rank, host in enumerate(comm.hosts):
        if host not in graph:
            return everyone
        switches = [v for v in graph.adj[host] if graph.nodes[v].get("kind") == "switch"]
        if len(switches) != 1:
            return everyone
        groups.setdefault(switches[0], []).append(rank)
    return [tuple(ranks) for ranks in groups.values()]


def _layout(comm: Communicator, group_size: int | None) -> tuple:
    """``(groups, where, blocks, owned)`` of one call: ``where[rank] = (group index, local rank)``."""
    groups = rank_groups(comm, group_size)
    where: list[tuple[int, int]] = [(0, 0)] * comm.size
    for g, group in enumerate(groups):
        for local, rank in enumerate(group):
            where[rank] = (g, local)
    blocks = max(len(group) for group in groups)
    return groups, where, blocks, _owned(groups, blocks)


def _owned(groups: Sequence[tuple[int, ...]], blocks: int) -> list[list[tuple[int, int]]]:
    """``owned[g][i]``: half-open range of blocks local rank ``i`` of group ``g`` owns."""
    owned = []
    for group in groups:
        cuts = block_bounds(blocks, len(group))
        owned.append([(cuts[i], cuts[i + 1]) for i in range(len(group))])
    return owned


def hierarchical(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    group_size: int | None = None,
):
    """Sum ``data`` over all ranks with the 2-D (hierarchical) ring allreduce (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part (any number).
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the whole vector on the wire (with a real array each element counts
        ``nbytes / len(data)``); defaults to ``data.nbytes``.
    group_size : int, optional
        Ranks per group (consecutive ranks); default: one group per first-hop switch
        (see :func:`rank_groups`).

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        The element-wise sum over ranks (a new array), or ``None`` if size-only.
    """
    size = comm.size
    seq = comm.new_call(rank)  # keeps this rank's call count in step; messages use subgroups
    total = payload_nbytes(data, nbytes)
    if size == 1:
        return None if data is None else data.copy()
    elem = element_bytes(data, nbytes)
    # The layout is the same for every rank: made once per call (O(p), not O(p) per rank).
    groups, where, blocks, owned = comm.shared(("hierarchical", seq), lambda: _layout(comm, group_size))
    index, local = where[rank]
    members = groups[index]
    ranges = owned[index]  # block range of each rank of this group
    block_bytes = total / blocks
    elements = None if data is None else block_bounds(len(data), blocks)

    # 1. Reduce-scatter inside the group over the owned block ranges.
    if elem is None:
        sizes = [(hi - lo) * block_bytes for lo, hi in ranges]
    else:
        sizes = [(elements[hi] - elements[lo]) * elem for lo, hi in ranges]
    chunks: list = [None] * len(members)
    if data is not None:
        chunks = [data[elements[lo] : elements[hi]] for lo, hi in ranges]
    intra = comm.subgroup(members)
    seq = intra.new_call(local)
    if len(members) > 1:
        yield from ring_reduce_scatter_chunks(intra, local, chunks, sizes, (seq,))

    # 2. Allreduce each owned run of blocks across the groups, with the ranks owning it.
    first, last = ranges[local]
    pieces = []
    start = first
    while start < last:
        owners = _owners(groups, owned, start)
        stop = start + 1
        while stop < last and _owners(groups, owned, stop) == owners:
            stop += 1
        piece, piece_bytes = None, (stop - start) * block_bytes
        if data is not None:
            offset = elements[first]
            piece = chunks[local][elements[start] - offset : elements[stop] - offset]
            piece_bytes = None if elem is None else len(piece) * elem
        if len(owners) > 1:
            across = comm.subgroup(owners)
            piece = yield from ring_allreduce(across, owners.index(rank), piece, piece_bytes)
        pieces.append(piece)
        start = stop
    if data is not None:
        chunks[local] = np.concatenate(pieces) if pieces else chunks[local][:0]

    # 3. All-gather inside the group.
    if len(members) > 1:
        yield from ring_all_gather_chunks(
            intra, local, chunks, sizes, (seq,), step0=len(members) - 1, elem_bytes=elem
        )
    return None if data is None else np.concatenate(chunks)


def _owners(groups, owned, block: int) -> tuple[int, ...]:
    """The rank of every group that owns ``block``, in group order."""
    result = []
    for group, ranges in zip(groups, owned, strict=True):
        result.extend(group[i] for i, (lo, hi) in enumerate(ranges) if lo <= block < hi)
    return tuple(result)


REGISTER = (
    Algorithm(
        name="hierarchical",
        operation="allreduce",
        run=hierarchical,
        description="2-D ring: reduce-scatter in groups (per switch), allreduce across, all-gather in groups",
        formula="2(a-1)(a1 + n·b1/a) + 2(b-1)(a2 + n·b2/(ab)), p = a·b; predict: one group",
        predict=lambda p, n, a, b: hierarchical_time(p, 1, n, a, b),
        aliases=("hierarchical_ring",),
        options=("group_size",),
    ),
)
