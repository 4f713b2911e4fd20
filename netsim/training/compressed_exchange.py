"""Gradient compression inside the simulated training drivers.

The compressors (:mod:`netsim.training.compression`) are pure NumPy; this module runs
their :meth:`~netsim.training.compression.Compressor.exchange` protocol over the
simulated network, with the same semantics as
:func:`~netsim.training.compression.exchange_locally`:

- an ``"allreduce"`` round goes through the exchange's allreduce algorithm with
  ``nbytes = compressor.round_bytes(request)`` (as sent, or bit-packed with
  ``wire = "ideal"``): the collective times every chunk by its element count
  (:mod:`netsim.collectives.chunks`), while it sums the real arrays;
- an ``"all_gather"`` round goes through
  :func:`~netsim.collectives.object_all_gather.ring_all_gather_objects`, each payload
  timed at its own size.

Compression units (:class:`CompressionUnit`): with ``scope = "layerwise"`` one per
communication bucket (a bucket holds whole tensors, so PowerSGD sees their matrix
shapes), ready when the bucket is; with ``scope = "global"`` one for the whole
gradient, ready at the end of the backward pass. Every worker keeps one
:class:`~netsim.training.compression.CompressorState` per unit and one generator
(:func:`~netsim.training.compression.worker_rngs`: shared by all workers for random-k and
PowerSGD, independent otherwise).

Parameter servers (:class:`WorkerCompression` in push mode, :func:`serve_push`): the
PUSH is compressed. Each unit is cut into one shard per server (``numpy.array_split``,
like :mod:`~netsim.collectives.sharded_ps`), every shard being its own compression unit;
a worker encodes and sends its shards at once, server ``j`` aggregates the workers'
payloads of shard ``j`` in rank order (:meth:`~netsim.training.compression.SingleRoundCompressor.aggregate`),
applies its optimizer and replies with the new parameters uncompressed, at
``value_bytes`` per element. Only single-round compressors can push (PowerSGD needs two
allreduce rounds: :func:`check_compression`).

Accounting (:class:`WireTally`, one per worker and step): ``dense_bytes`` (``value_bytes``
per element of every unit exchanged: the uncompressed gradient at the compressor's
precision), ``wire_bytes_sent`` and ``wire_bytes_ideal`` (this worker's contributions
over all rounds, as sent and bit-packed), ``wire_bytes`` (the one of the two that is
timed, per ``wire``), ``compression_rounds`` and ``compression_ratio`` = dense bytes /
``wire_bytes``. These count what a worker contributes; the network's ``bytes_sent`` is
what the collective makes of it (an all-gather forwards ``p − 1`` payloads, a ring
allreduce ``2(p−1)/p`` of the vector).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from netsim.collectives.object_all_gather import ring_all_gather_objects
from netsim.exceptions import ScenarioError
from netsim.training.compression import (
    Compressor,
    CompressorState,
    Payload,
    Round,
    SingleRoundCompressor,
    compression_units,
    normalize_shapes,
    worker_rngs,
)
from netsim.training.lm import CharLM
from netsim.training.mlp import MLP
from netsim.training.model_base import Model
from netsim.training.models import LogisticRegression

__all__ = [
    "Compression",
    "CompressionUnit",
    "WireTally",
    "WorkerCompression",
    "EncodedGradient",
    "tensor_shapes",
    "check_compression",
    "exchange_unit",
    "serve_push",
]


def tensor_shapes(model: Model) -> list[tuple[int, ...]]:
    """Shapes of the model's parameter tensors in forward order (they tile the flat vector).

    Uses ``model.tensor_shapes()`` if the model has it; otherwise the matrices of the
    bundled models (logistic ``W`` is ``features × classes``, MLP weights ``fan_in ×
    fan_out``, the language model's embedding ``vocabulary × embedding_dim``); any other
    tensor is a vector of its length (PowerSGD then sends it uncompressed).
    """
    counts = [int(count) for _, count in model.tensors()]
    explicit = getattr(model, "tensor_shapes", None)
    if callable(explicit):
        shapes = [tuple(int(n) for n in shape) for shape in explicit()]
    elif isinstance(model, LogisticRegression):
        shapes = [(model.n_features, model.n_classes), (model.n_classes,)]
    elif isinstance(model, MLP):
        shapes = [tuple(shape) for shape in model._shapes]
    elif isinstance(model, CharLM):
        shapes = [(model.vocab_size, model.embedding_dim), *(tuple(s) for s in model.mlp._shapes)]
    else:
        shapes = [(count,) for count in counts]
    if [math.prod(shape) for shape in shapes] != counts:
        shapes = [(count,) for count in counts]
    return shapes


@dataclass(frozen=True)
class CompressionUnit:
    """A slice ``[start, stop)`` of the flat gradient compressed by one call.

    ``ready_fraction``: fraction of the step's compute time after which it is ready;
    ``shapes``: the tensors tiling it (vectors for parameter-server shards).
    """

    start: int
    stop: int
    ready_fraction: float
    shapes: tuple[tuple[int, ...], ...]

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.stop - self.start


def _shard_bounds(size: int, shards: int) -> list[int]:
    base, extra = divmod(size, shards)
    bounds = [0]
    for j in range(shards):
        bounds.append(bounds[-1] + base + (1 if j < extra else 0))
    return bounds


class Compression:
    """The compression of one training run: compressor, seed and model tensors.

    Parameters
    ----------
    compressor : Compressor
        From :func:`~netsim.training.compression.make_compressor`.
    seed : numpy.random.SeedSequence or int
        Seed of the workers' generators (see :meth:`rngs`).
    shapes : sequence of tuple of int
        The model's tensor shapes in forward order (:func:`tensor_shapes`).
    """

    def __init__(
        self,
        compressor: Compressor,
        seed: np.random.SeedSequence | int,
        shapes: Sequence[tuple[int, ...]],
    ) -> None:
        self.compressor = compressor
        self.seed = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        self.shapes = normalize_shapes(list(shapes))
        offsets = np.cumsum([0, *(math.prod(s) for s in self.shapes)])
        self._offsets = [int(o) for o in offsets]
        self._rngs: dict[int, list[np.random.Generator]] = {}

    def __repr__(self) -> str:
        return f"Compression({self.compressor!r})"

    @property
    def total(self) -> int:
        """Elements of the whole gradient."""
        return self._offsets[-1]

    def shapes_between(self, start: int, stop: int) -> tuple[tuple[int, ...], ...]:
        """Shapes of the tensors tiling ``[start, stop)`` (a cut tensor counts as a vector)."""
        out = []
        for shape, lo, hi in zip(self.shapes, self._offsets, self._offsets[1:], strict=False):
            a, b = max(lo, start), min(hi, stop)
            if a < b:
                out.append(shape if (a, b) == (lo, hi) else (b - a,))
        return tuple(out) or ((stop - start,),)

    def units(self, buckets: Sequence) -> list[CompressionUnit]:
        """The compression units of a step, in communication order (see the module docstring)."""
        slices = compression_units(
            self.compressor, [(b.start, b.stop) for b in buckets], self.total
        )
        ready = {(b.start, b.stop): b.ready_fraction for b in buckets}
        return [
            CompressionUnit(a, b, ready.get((a, b), 1.0), self.shapes_between(a, b))
            for a, b in slices
            if b > a
        ]

    def rngs(self, workers: int) -> list[np.random.Generator]:
        """One generator per worker (:func:`~netsim.training.compression.worker_rngs`), made once."""
        if workers not in self._rngs:
            self._rngs[workers] = worker_rngs(self.compressor, self.seed, workers)
        return self._rngs[workers]

    def worker(
        self,
        rank: int,
        workers: int,
        units: Sequence[CompressionUnit],
        allreduce: Callable | None = None,
        servers: int = 0,
    ) -> WorkerCompression:
        """Worker ``rank``'s compression state (see :class:`WorkerCompression`)."""
        return WorkerCompression(self, rank, workers, units, allreduce, servers)


@dataclass
class WireTally:
    """Bytes one worker exchanged in one step (see the module docstring)."""

    dense: float = 0.0
    sent: float = 0.0
    ideal: float = 0.0
    timed: float = 0.0
    rounds: int = 0

    def add_unit(self, compressor: Compressor, size: int) -> None:
        """Count one unit of ``size`` elements exchanged (dense size)."""
        self.dense += compressor.value_bytes * size

    def add_round(self, sent: float, ideal: float, timed: float) -> None:
        """Count one round of this worker's contribution."""
        self.sent += sent
        self.ideal += ideal
        self.timed += timed
        self.rounds += 1

    def row(self) -> dict:
        """Worker-row fields (``compression_ratio`` is NaN when nothing was exchanged)."""
        return {
            "dense_bytes": float(self.dense),
            "wire_bytes": float(self.timed),
            "wire_bytes_sent": float(self.sent),
            "wire_bytes_ideal": float(self.ideal),
            "compression_rounds": self.rounds,
            "compression_ratio": self.dense / self.timed if self.timed else float("nan"),
        }


def exchange_unit(
    comm,
    rank: int,
    compressor: Compressor,
    piece: np.ndarray,
    state: CompressorState,
    rng: np.random.Generator | None,
    workers: int,
    allreduce: Callable,
    tally: WireTally | None = None,
):
    """Run one :meth:`~netsim.training.compression.Compressor.exchange` over the network (generator).

    Parameters
    ----------
    comm : Communicator
        The workers (ranks ``0 .. workers-1``).
    rank : int
        This worker.
    compressor : Compressor
    piece : numpy.ndarray of shape (d,)
        This worker's vector for the unit (not modified).
    state : CompressorState
        This worker's state for the unit (updated).
    rng : numpy.random.Generator or None
    workers : int
    allreduce : callable
        ``allreduce(data, nbytes)``: a generator summing ``data`` over the workers, timed
        at ``nbytes`` (``None``: the array's own size).
    tally : WireTally, optional
        Updated with the unit and its rounds.

    Returns
    -------
    numpy.ndarray of shape (d,)
        The compressor's aggregate (mean; majority vote for signSGD).
    """
    if tally is not None:
        tally.add_unit(compressor, piece.size)
    session = compressor.exchange(piece, state, rng, workers)
    request = next(session)
    while True:
        nbytes = compressor.round_bytes(request)
        if tally is not None:
            tally.add_round(request.wire_bytes, request.ideal_bytes, nbytes)
        if request.op == "allreduce":
            data = request.data
            # A round as heavy as its array is timed exactly like an uncompressed collective.
            result = yield from allreduce(data, None if nbytes == data.nbytes else nbytes)
        elif request.op == "all_gather":
            result = yield from ring_all_gather_objects(comm, rank, request.data, nbytes)
        else:  # pragma: no cover - the protocol has two operations
            raise ValueError(f"unknown exchange round {request.op!r}")
        try:
            request = session.send(result)
        except StopIteration as done:
            return done.value


class EncodedGradient:
    """A worker's compressed gradient travelling as one message (asynchronous push).

    ``payloads`` has one :class:`~netsim.training.compression.Payload` per unit;
    ``nbytes`` is the bytes timed on the wire (what ``payload_nbytes`` reads).
    """

    __slots__ = ("payloads", "nbytes")

    def __init__(self, payloads: Sequence[Payload], nbytes: float) -> None:
        self.payloads = tuple(payloads)
        self.nbytes = float(nbytes)


class WorkerCompression:
    """One worker's compressor states (one per unit, or per unit shard) and generator.

    Parameters
    ----------
    compression : Compression
    rank, workers : int
    units : sequence of CompressionUnit
    allreduce : callable, optional
        ``allreduce(data, nbytes)`` generator for allreduce rounds (collective mode).
    servers : int
        Number of parameter servers (push mode; ranks ``workers .. workers+servers-1``);
        0 for collective mode.
    """

    def __init__(
        self,
        compression: Compression,
        rank: int,
        workers: int,
        units: Sequence[CompressionUnit],
        allreduce: Callable | None = None,
        servers: int = 0,
    ) -> None:
        self.compressor = compression.compressor
        self.rank = rank
        self.workers = workers
        self.units = list(units)
        self.allreduce = allreduce
        self.servers = servers
        self.rng = compression.rngs(workers)[rank]
        if servers:
            self.shards = [_shard_bounds(u.size, servers) for u in self.units]
            self.states = [
                [self.compressor.init_state(hi - lo) for lo, hi in zip(b, b[1:], strict=False)]
                for b in self.shards
            ]
        else:
            self.states = [self.compressor.init_state(u.shapes) for u in self.units]

    def communicate(self, comm, index: int, piece: np.ndarray, tally: WireTally):
        """Exchange unit ``index`` (generator): its aggregate, or the server's new parameters."""
        if self.servers:
            return (yield from self._push(comm, index, piece, tally))
        return (
            yield from exchange_unit(
                comm,
                self.rank,
                self.compressor,
                piece,
                self.states[index],
                self.rng,
                self.workers,
                self.allreduce,
                tally,
            )
        )

    def encode(self, index: int, piece: np.ndarray, tally: WireTally) -> tuple[Payload, float]:
        """Encode unit ``index`` as one payload (single-round compressors); returns it and its timed bytes."""
        payload = self.compressor.encode(piece, self.states[index], self.rng)
        return payload, self._count(payload, piece.size, tally)

    def _count(self, payload: Payload, size: int, tally: WireTally) -> float:
        request = Round("all_gather", payload, payload.wire_bytes, payload.ideal_bytes)
        nbytes = float(self.compressor.round_bytes(request))
        tally.add_unit(self.compressor, size)
        tally.add_round(payload.wire_bytes, payload.ideal_bytes, nbytes)
        return nbytes

    def _push(self, comm, index: int, piece: np.ndarray, tally: WireTally):
        seq = comm.new_call(self.rank)
        bounds = self.shards[index]
        for j, state in enumerate(self.states[index]):
            part = piece[bounds[j] : bounds[j + 1]]
            payload = self.compressor.encode(part, state, self.rng)
            nbytes = self._count(payload, part.size, tally)
            comm.send(self.rank, self.workers + j, (seq, "push"), payload, nbytes)
        replies = []
        for j in range(self.servers):
            replies.append((yield comm.recv(self.rank, self.workers + j, (seq, "pull"))))
        return np.concatenate(replies)


def serve_push(
    comm,
    server: int,
    workers: int,
    compressor: SingleRoundCompressor,
    apply: Callable[[np.ndarray], np.ndarray],
):
    """Server side of one compressed push (generator): aggregate, apply, reply.

    Waits for every worker's payload of this server's shard, aggregates them in rank
    order, calls ``apply(aggregate) -> new parameters`` and sends the new parameters to
    every worker at ``compressor.value_bytes`` per element. Returns the reply.
    """
    seq = comm.new_call(server)
    pushes = [comm.recv(server, worker, (seq, "push")) for worker in range(workers)]
    yield comm.env.all_of(pushes)
    reply = apply(compressor.aggregate([event.value for event in pushes]))
    nbytes = float(compressor.value_bytes * reply.size)
    for worker in range(workers):
        comm.send(server, worker, (seq, "pull"), reply, nbytes)
    return reply


def check_compression(compressor: Compressor, sync: str, algorithm) -> None:
    """Raise :class:`~netsim.exceptions.ScenarioError` if ``sync``/``algorithm`` cannot compress with ``compressor``.

    Supported: BSP with an allreduce algorithm (every method) or a parameter server
    (single-round methods: the push is compressed); ASP/SSP (single-round methods: the
    push is compressed); local SGD with an allreduce algorithm (every method, on the
    parameter change since the last average). Not: gossip; PowerSGD with a parameter
    server; local SGD with a parameter server.
    """
    method = f"training.compression.method = {compressor.name.removesuffix('+ef')!r}"
    if sync == "gossip":
        raise ScenarioError(
            f"{method}: compression does not apply to training.sync = 'gossip' (gossip mixes "
            "parameters with neighbours, not gradients); remove [training.compression] or use "
            "sync = 'bsp', 'asp', 'ssp' or 'local_sgd'"
        )
    if sync == "local_sgd" and algorithm.kind == "parameter_server":
        raise ScenarioError(
            f"{method}: compressed local SGD averages the parameter change with an allreduce; "
            f"communication.algorithm = {algorithm.name!r} is a parameter server"
        )
    to_server = algorithm.kind == "parameter_server" or sync in ("asp", "ssp")
    if to_server and not isinstance(compressor, SingleRoundCompressor):
        where = (
            f"training.sync = {sync!r} pushes to an asynchronous parameter server"
            if sync in ("asp", "ssp")
            else f"communication.algorithm = {algorithm.name!r} pushes to a parameter server"
        )
        raise ScenarioError(
            f"{method} needs two allreduce rounds per step, but {where}; use an allreduce "
            "algorithm with sync = 'bsp', or a single-round compressor"
        )
