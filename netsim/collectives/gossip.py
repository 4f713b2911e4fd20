"""Gossip averaging (one round of decentralised SGD's mixing step, D-PSGD).

Every rank sends its vector to each of its neighbours at once and replaces it by the
mixing-weighted average of its own vector and those it receives:
``x_r ← W[r, r]·x_r + Σ_j W[r, j]·x_j`` — one multiplication by the mixing matrix ``W``
per call (rows of ``X`` are the ranks' vectors, so the result is ``W @ X``).

Mixing (option ``mixing``):

- ``"ring"`` (default): neighbours ``r ± 1 (mod p)``;
- ``"topology"``: ranks whose hosts are adjacent in the network graph
  (``comm.network.graph``), or linked to a common switch, or the same host;
- an explicit ``p × p`` matrix: non-negative, every row and every column sums to 1
  (doubly stochastic; symmetry is not required). Rank ``r`` receives from every ``j`` with
  ``W[r, j] > 0`` and sends to every ``j`` with ``W[j, r] > 0``.

For ``"ring"`` and ``"topology"`` the weights are Metropolis–Hastings:
``w_ij = 1 / (1 + max(deg_i, deg_j))`` for neighbours, ``w_ii = 1 − Σ_j w_ij``; the
matrix is symmetric and doubly stochastic, so the average over ranks is preserved and,
on a connected neighbour graph, repeated rounds converge to the global mean at a rate
set by the spectral gap (:func:`spectral_gap`).

Uncontended time on a star for the ring mixing with ``p >= 3`` (``α`` = host–host route
latency, ``β = 1/B``): every host's uplink carries two flows of ``n`` bytes (to ``r − 1``
and ``r + 1``) and its downlink two (from them), so under max-min sharing each flow runs
at ``B/2`` and the round takes ``α + 2nβ``; ``α + nβ`` for ``p = 2`` (one neighbour), 0
for ``p = 1``. When every rank sends to and receives from ``d`` ranks on other hosts of a
star (e.g. ``mixing="topology"``: ``d = p − 1``), a round takes ``α + d·nβ``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import networkx as nx
import numpy as np

from netsim.collectives.algorithm import Algorithm
from netsim.collectives.chunks import payload_nbytes
from netsim.collectives.comm import Communicator

__all__ = ["gossip", "mixing_matrix", "spectral_gap", "REGISTER"]

MIXINGS = ("ring", "topology")
#: Tolerance on row and column sums of an explicit mixing matrix.
SUM_ATOL = 1e-9

_TOPOLOGY_CACHE: dict[tuple, tuple[nx.Graph, list[tuple[int, ...]]]] = {}
_CACHE_SIZE = 8


# ----------------------------------------------------------------- neighbours
def _ring_neighbours(p: int) -> list[tuple[int, ...]]:
    return [tuple(sorted({(r - 1) % p, (r + 1) % p} - {r})) for r in range(p)]


def _host_reach(graph: nx.Graph, host: Hashable) -> set:
    """Nodes adjacent to ``host``, to a switch adjacent to ``host``, and ``host`` itself."""
    reach = {host}
    for node in graph.adj[host]:
        reach.add(node)
        if graph.nodes[node].get("kind") == "switch":
            reach.update(graph.adj[node])
    return reach


def _topology_neighbours(graph: nx.Graph, hosts: Sequence[Hashable]) -> list[tuple[int, ...]]:
    """Neighbour ranks of every rank from the network graph (cached per graph and placement)."""
    key = (id(graph), tuple(hosts))
    hit = _TOPOLOGY_CACHE.get(key)
    if hit is not None and hit[0] is graph:
        return hit[1]
    ranks_on: dict[Hashable, list[int]] = {}
    for rank, host in enumerate(hosts):
        ranks_on.setdefault(host, []).append(rank)
    reach = {host: _host_reach(graph, host) for host in ranks_on}
    neighbours = []
    for rank, host in enumerate(hosts):
        near = [r for node in reach[host] for r in ranks_on.get(node, ()) if r != rank]
        neighbours.append(tuple(sorted(near)))
    if len(_TOPOLOGY_CACHE) >= _CACHE_SIZE:
        _TOPOLOGY_CACHE.pop(next(iter(_TOPOLOGY_CACHE)))
    _TOPOLOGY_CACHE[key] = (graph, neighbours)
    return neighbours


def _metropolis_row(
    rank: int, neighbours: list[tuple[int, ...]]
) -> tuple[float, list[tuple[int, float]]]:
    """Self weight and ``(j, w_rj)`` of Metropolis–Hastings weights for ``rank``."""
    deg = len(neighbours[rank])
    weights = [(j, 1.0 / (1 + max(deg, len(neighbours[j])))) for j in neighbours[rank]]
    return 1.0 - sum(w for _, w in weights), weights


def _check_matrix(matrix, p: int, rank: int | None = None) -> np.ndarray:
    """Validate an explicit mixing matrix (row and column ``rank`` only, if given)."""
    W = np.asarray(matrix, dtype=np.float64)
    if W.shape != (p, p):
        raise ValueError(
            f"gossip mixing matrix must have shape ({p}, {p}) for {p} ranks, got {W.shape}"
        )
    for axis, name in ((1, "row"), (0, "column")):
        lines = W if axis == 1 else W.T
        indices = range(p) if rank is None else (rank,)
        for i in indices:
            line = lines[i]
            if not np.all(np.isfinite(line)) or np.any(line < 0):
                raise ValueError(
                    f"gossip mixing matrix {name} {i} must be finite and non-negative, got {line}"
                )
            total = float(line.sum())
            if abs(total - 1.0) > SUM_ATOL:
                raise ValueError(
                    f"gossip mixing matrix must be doubly stochastic: {name} {i} sums to {total!r}, not 1"
                )
    return W


def _plan(
    comm: Communicator, rank: int, mixing
) -> tuple[float, list[tuple[int, float]], list[int]]:
    """``(self_weight, [(source, weight)], [destinations])`` of ``rank`` for one round."""
    p = comm.size
    if isinstance(mixing, str):
        if mixing == "ring":
            neighbours = _ring_neighbours(p) if p <= 3 else None
            if neighbours is None:  # O(1): every rank has degree 2
                left, right = (rank - 1) % p, (rank + 1) % p
                sources = sorted((left, right))
                third = 1.0 / 3.0
                return 1.0 - (third + third), [(j, third) for j in sources], sources
        elif mixing == "topology":
            neighbours = _topology_neighbours(comm.network.graph, comm.hosts)
        else:
            raise ValueError(
                f"unknown gossip mixing {mixing!r}; accepted: {', '.join(MIXINGS)} or a p x p matrix"
            )
        self_weight, weights = _metropolis_row(rank, neighbours)
        return self_weight, weights, list(neighbours[rank])
    W = _check_matrix(mixing, p, rank)
    row, col = W[rank], W[:, rank]
    sources = [(int(j), float(row[j])) for j in np.flatnonzero(row) if j != rank]
    destinations = [int(j) for j in np.flatnonzero(col) if j != rank]
    return float(row[rank]), sources, destinations


# ----------------------------------------------------------------- public API
def mixing_matrix(
    p: int, mixing="ring", *, graph: nx.Graph | None = None, hosts: Sequence[Hashable] | None = None
) -> np.ndarray:
    """The ``p × p`` mixing matrix one gossip round multiplies by.

    Parameters
    ----------
    p : int
        Number of ranks.
    mixing : str or array_like
        ``"ring"``, ``"topology"`` or an explicit matrix (validated and returned as float64).
    graph : networkx.Graph, optional
        The network graph (``"topology"`` only).
    hosts : sequence, optional
        ``hosts[r]`` is rank ``r``'s host (``"topology"`` only); defaults to
        ``graph.graph["hosts"][:p]``.

    Returns
    -------
    numpy.ndarray of shape (p, p)

    Raises
    ------
    ValueError
        For an unknown mixing name or an invalid matrix.

    Examples
    --------
    >>> mixing_matrix(3)
    array([[0.33333333, 0.33333333, 0.33333333],
           [0.33333333, 0.33333333, 0.33333333],
           [0.33333333, 0.33333333, 0.33333333]])
    """
    if not isinstance(mixing, str):
        return _check_matrix(mixing, p).copy()
    if mixing == "ring":
        neighbours = _ring_neighbours(p)
    elif mixing == "topology":
        if graph is None:
            raise ValueError('mixing="topology" needs the network graph')
        hosts = list(graph.graph["hosts"][:p]) if hosts is None else list(hosts)
        neighbours = _topology_neighbours(graph, hosts)
    else:
        raise ValueError(
            f"unknown gossip mixing {mixing!r}; accepted: {', '.join(MIXINGS)} or a p x p matrix"
        )
    W = np.zeros((p, p))
    for r in range(p):
        self_weight, weights = _metropolis_row(r, neighbours)
        W[r, r] = self_weight
        for j, w in weights:
            W[r, j] = w
    return W


def spectral_gap(W: np.ndarray) -> float:
    """``1 − |λ₂|``: one minus the second largest eigenvalue modulus of a mixing matrix.

    Positive for a connected, aperiodic neighbour graph: the disagreement
    ``‖X − mean‖`` then shrinks by about ``|λ₂|`` per round.

    Examples
    --------
    >>> round(spectral_gap(mixing_matrix(4)), 6)
    0.666667
    """
    moduli = np.sort(np.abs(np.linalg.eigvals(np.asarray(W, dtype=np.float64))))[::-1]
    return 1.0 - float(moduli[1]) if len(moduli) > 1 else 1.0


def gossip(
    comm: Communicator,
    rank: int,
    data: np.ndarray | None = None,
    nbytes: float | None = None,
    *,
    mixing="ring",
):
    """One gossip round: exchange vectors with neighbours and mix (SimPy generator).

    Parameters
    ----------
    comm : Communicator
        The ranks taking part.
    rank : int
        This rank.
    data : numpy.ndarray of shape (n,), optional
        This rank's vector; ``None`` for a size-only payload.
    nbytes : float, optional
        Bytes of the vector on the wire; defaults to ``data.nbytes``.
    mixing : str or array_like
        ``"ring"`` (default), ``"topology"`` or a ``p × p`` doubly-stochastic matrix (see
        the module docstring). Every rank must pass the same value.

    Returns
    -------
    numpy.ndarray of shape (n,) or None
        ``Σ_j W[rank, j]·x_j`` (a new array), or ``None`` if size-only.

    Raises
    ------
    ValueError
        For an unknown mixing name, or a matrix of the wrong shape, with negative or
        non-finite entries, or a row or column not summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from netsim.collectives import simulate_collective
    >>> from netsim.topology import star
    >>> run = simulate_collective(star(3, 1e9, 1e-6), "gossip", [np.array([3.0]), np.zeros(1), np.zeros(1)])
    >>> [float(out[0]) for out in run.outputs]
    [1.0, 1.0, 1.0]
    """
    seq = comm.new_call(rank)
    self_weight, sources, destinations = _plan(comm, rank, mixing)
    size = payload_nbytes(data, nbytes)
    for j in destinations:
        comm.send(rank, j, seq, data, size)
    received = []
    for j, _ in sources:
        received.append((yield comm.recv(rank, j, seq)))
    if data is None:
        return None
    out = self_weight * data
    for (_, weight), vector in zip(sources, received, strict=True):
        out += weight * vector
    return out


def _predict(p: int, n: float, a: float, b: float) -> float:
    if p == 1:
        return 0.0
    return a + (1 if p == 2 else 2) * n * b


REGISTER = (
    Algorithm(
        name="gossip",
        operation="gossip",
        run=gossip,
        description="one gossip round: send to neighbours, Metropolis-Hastings (or given) weighted average (D-PSGD)",
        formula="a + 2nb (ring mixing, p >= 3)",
        predict=_predict,
        aliases=("dpsgd",),
        options=("mixing",),
    ),
)
