"""The compressor protocol: payloads, exact wire sizes, per-worker state, exchange rounds.

Vocabulary
----------
*Compression unit*
    The flat float vector handed to one compressor call: a DDP bucket or a tensor
    (``scope = "layerwise"``, one call per bucket) or the whole flat gradient
    (``scope = "global"``, one call per step, e.g. global top-k selects the k largest
    entries of the entire model). A compressor compresses whatever unit it is given; the
    scope only tells the driver how to cut the gradient (:func:`~netsim.training.compression.driver.compression_units`).
*Compressor*
    Immutable configuration (one instance may serve every worker). All mutable
    per-worker memory (error-feedback residual, DGC momentum, PowerSGD's ``Q``) lives in
    a :class:`CompressorState`, one per worker per compression unit, made by
    :meth:`Compressor.init_state`.
*Payload*
    What one worker puts on the wire for one unit, with its exact size in bytes
    "as sent" by a simple implementation and "ideal" (bit-packed), both integers.
*Summable*
    The payload is an array that an ALLREDUCE may sum element-wise (none, fp16, bf16,
    random-k with a shared seed, PowerSGD's ``P`` and ``Q``); otherwise payloads are
    ALL-GATHERED and every worker aggregates the list (top-k, threshold, QSGD, TernGrad,
    signSGD, EF-signSGD, 1-bit SGD, DGC).

Wire sizes count a full-precision value as ``value_bytes`` (default 4: fp32, as in
REFERENCES §4) although the kernel's arrays stay ``float64``; only fp16/bf16 round the
values. Indices count 4 (int32) or 8 (int64) bytes as sent and ``⌈lg d⌉`` bits ideally.

The driver protocol: :meth:`Compressor.exchange`
------------------------------------------------
``exchange(grad, state, rng, workers)`` is a plain generator (no SimPy). It yields one
:class:`Round` per communication round, receives the round's result through ``send``,
and returns (``StopIteration.value``) the aggregated dense vector, shape ``(d,)``: the
MEAN over workers of their (compressed) gradients -- except signSGD, which returns the
majority vote (``aggregation == "majority_vote"``). The result of a round is:

- ``op == "allreduce"``: the element-wise SUM over workers of ``round.data`` (a 1-D array
  of the same shape and dtype on every worker; the sum may be done in the collective's
  own order and in ``round.data.dtype``: float16 for fp16);
- ``op == "all_gather"``: the list of every worker's ``round.data`` (a :class:`Payload`),
  in rank order.

Single-round compressors yield once; PowerSGD yields twice (``P`` then ``Q``) and computes
in between. A SimPy driver runs it as::

    session = compressor.exchange(piece, state, rng, workers)
    request = next(session)
    while True:
        nbytes = compressor.round_bytes(request)        # as sent, or ideal if wire = "ideal"
        if request.op == "allreduce":
            result = yield from allreduce(comm, rank, request.data, nbytes)
        else:
            result = yield from all_gather_objects(comm, rank, request.data, nbytes)
        try:
            request = session.send(result)
        except StopIteration as done:
            mean = done.value
            break

:func:`~netsim.training.compression.driver.exchange_locally` is the same loop without a network
(the reference semantics).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from netsim.training.compression._params import check_choice

__all__ = [
    "SCOPES",
    "WireSize",
    "Payload",
    "Round",
    "CompressorState",
    "Compressor",
    "SingleRoundCompressor",
    "normalize_shapes",
    "unit_size",
    "count_for_ratio",
    "index_bits",
    "packed_bytes",
]

SCOPES = ("layerwise", "global")
"""``layerwise``: one compression unit per bucket/tensor; ``global``: the whole gradient."""

Shapes = int | Sequence[int | Sequence[int]]


# --- size arithmetic ---------------------------------------------------------------


def index_bits(d: int) -> int:
    """Bits of one bit-packed index into ``d`` elements: ``⌈lg d⌉`` (0 for ``d = 1``).

    >>> [index_bits(d) for d in (1, 2, 7, 8, 1000, 1024, 1025)]
    [0, 1, 3, 3, 10, 10, 11]
    """
    return max(int(d) - 1, 0).bit_length()


def packed_bytes(bits: int) -> int:
    """Bytes holding ``bits`` bits: ``⌈bits / 8⌉``."""
    return (int(bits) + 7) // 8


def count_for_ratio(ratio: float, d: int) -> int:
    """``k = ⌈ratio · d⌉``, clamped to ``[1, d]``, with ``ratio`` read as its shortest decimal.

    Decimal arithmetic keeps ``0.001 · 1000 = 1`` (binary floating point would give
    ``1.0000000000000009`` and ``k = 2``).

    >>> count_for_ratio(0.001, 1000), count_for_ratio(0.01, 1001), count_for_ratio(0.3, 7)
    (1, 11, 3)
    """
    k = math.ceil(Decimal(repr(float(ratio))) * int(d))
    return min(max(k, 1), int(d))


def normalize_shapes(shapes: Shapes) -> tuple[tuple[int, ...], ...]:
    """Tensor shapes tiling a flat vector, as tuples; an int ``n`` means shape ``(n,)``.

    >>> normalize_shapes(5), normalize_shapes([(64, 33), 33])
    (((5,),), ((64, 33), (33,)))
    """
    if isinstance(shapes, int | np.integer):
        shapes = [shapes]
    out = []
    for shape in shapes:
        dims = (
            (int(shape),) if isinstance(shape, int | np.integer) else tuple(int(n) for n in shape)
        )
        if any(n < 0 for n in dims):
            raise ValueError(f"tensor shapes must have non-negative dimensions, got {shape!r}")
        out.append(dims)
    if sum(math.prod(s) for s in out) < 1:
        raise ValueError("a compression unit needs at least one element")
    return tuple(out)


def unit_size(shapes: Shapes) -> int:
    """Elements ``d`` of a unit made of tensors of these shapes.

    >>> unit_size([(64, 33), 33])
    2145
    """
    return sum(math.prod(s) for s in normalize_shapes(shapes))


@dataclass(frozen=True)
class WireSize:
    """Bytes on the wire: ``sent`` by the simple implementation and ``ideal`` (bit-packed)."""

    sent: int
    ideal: int

    def __add__(self, other: WireSize) -> WireSize:
        return WireSize(self.sent + other.sent, self.ideal + other.ideal)


# --- messages --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Payload:
    """One worker's encoding of one compression unit.

    Attributes
    ----------
    method : str
        Name of the compressor that made it.
    size : int
        ``d``, elements of the dense vector it encodes.
    parts : mapping of str to numpy.ndarray
        What travels on the wire (e.g. ``values`` and ``indices``; ``norm`` and ``levels``).
    wire_bytes : int
        Bytes as sent by the simple implementation (see each compressor).
    ideal_bytes : int
        Bytes when bit-packed (REFERENCES §4).
    summand : numpy.ndarray or None
        For summable payloads, the 1-D array an allreduce sums; ``None`` otherwise.
    meta : mapping
        Side information every worker can re-derive and that is NOT sent (e.g. random-k
        indices drawn from the shared seed, the scale ``d/k``).
    """

    method: str
    size: int
    parts: Mapping[str, np.ndarray]
    wire_bytes: int
    ideal_bytes: int
    summand: np.ndarray | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Round:
    """One communication round requested by :meth:`Compressor.exchange`.

    Attributes
    ----------
    op : str
        ``"allreduce"`` (sum ``data``, a 1-D array, over workers) or ``"all_gather"``
        (collect every worker's ``data``, a :class:`Payload`, in rank order).
    data : numpy.ndarray or Payload
    wire_bytes, ideal_bytes : int
        This worker's contribution in bytes (as sent / bit-packed). For an allreduce it
        is the size of the whole vector ``data`` on the wire, which may differ from
        ``data.nbytes`` (float64 arrays counted as fp32; bf16 carried in float32), so a
        collective must scale its chunk sizes by ``wire_bytes / data.size`` per element.
    label : str
        What the round carries (``"values"``, ``"payload"``, ``"P"``, ``"Q"``, ``"dense"``).
    """

    op: str
    data: Any
    wire_bytes: int
    ideal_bytes: int
    label: str = ""


@dataclass(eq=False)
class CompressorState:
    """Per-worker, per-compression-unit memory of a compressor.

    Attributes
    ----------
    shapes : tuple of tuple of int
        Tensor shapes tiling the unit (PowerSGD views each as a matrix).
    size : int
        ``d``, elements in the unit.
    step : int
        Exchanges done so far (DGC's warm-up and PowerSGD's ``start_step`` read it).
    buffers : dict of str to numpy.ndarray
        Persistent memory: ``residual`` (error feedback), ``velocity`` and
        ``accumulation`` (DGC), ``error`` and ``q`` (PowerSGD).
    inner : CompressorState or None
        The wrapped compressor's state (for :class:`~netsim.training.compression.ErrorFeedback`).
    scratch : dict
        Values kept between the rounds of one exchange (not persistent memory).
    """

    shapes: tuple[tuple[int, ...], ...]
    size: int
    step: int = 0
    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    inner: CompressorState | None = None
    scratch: dict[str, Any] = field(default_factory=dict)

    def state_bytes(self) -> int:
        """Bytes of persistent memory held (the buffers' ``nbytes``, float64 in the kernel)."""
        own = sum(int(b.nbytes) for b in self.buffers.values())
        return own + (self.inner.state_bytes() if self.inner is not None else 0)


# --- compressors -----------------------------------------------------------------------


class Compressor(ABC):
    """Base class of gradient compressors (see the module docstring for the protocol).

    Class attributes describe the method: ``name``; ``summable`` (payloads may be
    allreduced); ``aggregation`` (``"mean"`` or ``"majority_vote"``); ``rounds`` (1, or 2
    for PowerSGD); ``stochastic`` (draws per-worker randomness: each worker needs its own
    generator); ``shared_randomness`` (draws randomness that must be IDENTICAL on every
    worker: give each worker a generator built from the same seed, see
    :func:`~netsim.training.compression.driver.worker_rngs`); ``data_dependent_size`` (the payload size depends on the values,
    so :meth:`wire_size` is an upper bound); ``builtin_error_feedback`` (the method keeps
    its own residual and cannot be wrapped in ``ErrorFeedback``); ``wire`` (the size a driver
    times).

    Parameters
    ----------
    value_bytes : int, optional
        Wire bytes of one full-precision value (4 = fp32, default; or 8).
    scope : str, optional
        ``"layerwise"`` (default) or ``"global"``: how the driver cuts the gradient into
        compression units (:func:`~netsim.training.compression.driver.compression_units`).
    """

    name: str = ""
    summable: bool = False
    aggregation: str = "mean"
    rounds: int = 1
    stochastic: bool = False
    shared_randomness: bool = False
    data_dependent_size: bool = False
    builtin_error_feedback: bool = False
    wire: str = "sent"
    """Which size a driver times (:meth:`round_bytes`): ``"sent"`` or ``"ideal"``; set by
    :func:`~netsim.training.compression.make_compressor` from the generic ``wire`` key."""

    def __init__(self, *, value_bytes: int = 4, scope: str = "layerwise") -> None:
        self.value_bytes = check_choice(value_bytes, "value_bytes", (4, 8))
        self.scope = check_choice(scope, "scope", SCOPES)

    def _options(self) -> dict:
        """Constructor options shown by ``repr`` (subclasses extend)."""
        return {"value_bytes": self.value_bytes, "scope": self.scope}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({args})"

    @property
    def needs_rng(self) -> bool:
        """Whether :meth:`exchange` needs a ``numpy.random.Generator``."""
        return self.stochastic or self.shared_randomness

    def init_state(self, shapes: Shapes) -> CompressorState:
        """A fresh per-worker state for a unit made of tensors of these shapes.

        Parameters
        ----------
        shapes : int or sequence of (int or tuple of int)
            Shapes of the tensors tiling the unit, in order (an int ``d`` is one vector).
        """
        shapes = normalize_shapes(shapes)
        state = CompressorState(shapes, sum(math.prod(s) for s in shapes))
        self._init_buffers(state)
        return state

    def _init_buffers(self, state: CompressorState) -> None:  # noqa: B027 - optional hook
        """Allocate persistent buffers in ``state`` (none by default)."""

    def _check(self, grad: np.ndarray, state: CompressorState, rng) -> np.ndarray:
        vec = np.asarray(grad)
        if vec.ndim != 1 or vec.size != state.size:
            raise ValueError(
                f"{self.name}: expected a 1-D vector of {state.size} elements, got shape {vec.shape}"
            )
        if self.needs_rng and not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"{self.name} draws random numbers: pass a numpy.random.Generator, got {rng!r}"
            )
        return vec.astype(np.float64, copy=False)

    @abstractmethod
    def exchange(
        self,
        grad: np.ndarray,
        state: CompressorState,
        rng: np.random.Generator | None,
        workers: int,
    ) -> Generator[Round, Any, np.ndarray]:
        """Compress ``grad``, request the communication rounds, return the aggregate.

        Parameters
        ----------
        grad : numpy.ndarray of shape (d,)
            This worker's gradient for the unit (not modified).
        state : CompressorState
            This worker's state for the unit (updated).
        rng : numpy.random.Generator or None
            Required if :attr:`needs_rng`; shared across workers if ``shared_randomness``.
        workers : int
            Number of workers taking part (divisor of the mean).

        Yields
        ------
        Round
            Send back the round's result (sum array or list of payloads).

        Returns
        -------
        numpy.ndarray of shape (d,)
            The mean over workers of the decoded gradients (signSGD: the majority vote).
        """

    @abstractmethod
    def wire_size(self, shapes: Shapes, step: int | None = None) -> WireSize:
        """Bytes one worker sends per exchange of a unit with these shapes (all rounds).

        Exact for data-independent methods; an upper bound when ``data_dependent_size``.
        ``step`` matters only for step-dependent methods (DGC warm-up, PowerSGD's
        ``start_step``); ``None`` means after any warm-up.
        """

    def round_sizes(self, shapes: Shapes, step: int | None = None) -> list[WireSize]:
        """Bytes of each round of one exchange (size-only workloads: one collective per round).

        Every round is an allreduce if :attr:`summable`, else an all-gather of
        per-worker blocks of that size.
        """
        return [self.wire_size(shapes, step)]

    def round_bytes(self, request: Round) -> int:
        """Bytes a driver should time for ``request``: as sent, or bit-packed if ``wire == "ideal"``."""
        return request.ideal_bytes if self.wire == "ideal" else request.wire_bytes


class SingleRoundCompressor(Compressor):
    """A compressor whose exchange is one allreduce or one all-gather of a :class:`Payload`.

    Subclasses implement :meth:`_encode` and :meth:`decode`; summable ones also
    :meth:`decode_sum`.
    """

    def encode(
        self, grad: np.ndarray, state: CompressorState, rng: np.random.Generator | None = None
    ) -> Payload:
        """Compress one unit and advance ``state`` by one step.

        Parameters
        ----------
        grad : numpy.ndarray of shape (d,)
            Not modified.
        state : CompressorState
        rng : numpy.random.Generator, optional
            Required if :attr:`needs_rng`.

        Returns
        -------
        Payload
        """
        vec = self._check(grad, state, rng)
        payload = self._encode(vec, state, rng)
        state.step += 1
        return payload

    @abstractmethod
    def _encode(
        self, vec: np.ndarray, state: CompressorState, rng: np.random.Generator | None
    ) -> Payload:
        """Compress a validated float64 vector (``state.step`` is advanced by the caller)."""

    @abstractmethod
    def decode(self, payload: Payload) -> np.ndarray:
        """The dense float64 vector ``(d,)`` one payload stands for (what error feedback subtracts)."""

    def decode_sum(self, total: np.ndarray, payload: Payload, workers: int) -> np.ndarray:
        """The mean over ``workers`` from the allreduced sum of the payloads' summands.

        ``payload`` is this worker's own payload (for side information such as random-k
        indices). Only summable compressors implement it.
        """
        raise TypeError(f"{self.name} payloads are not summable; aggregate the all-gathered list")

    def _check_summable(self, payloads: Sequence[Payload]) -> None:
        """Raise ``ValueError`` if the payloads cannot be summed together."""

    def aggregate(self, payloads: Sequence[Payload]) -> np.ndarray:
        """Aggregate every worker's payload (rank order) into the dense result ``(d,)``.

        The mean of the decoded payloads (summable methods: their summands are summed in
        rank order, in the summand's dtype, then :meth:`decode_sum`); signSGD overrides it
        with the majority vote.
        """
        if not payloads:
            raise ValueError("aggregate needs at least one payload")
        sizes = {p.size for p in payloads}
        if len(sizes) != 1:
            raise ValueError(f"payloads encode vectors of different sizes: {sorted(sizes)}")
        if self.summable:
            self._check_summable(payloads)
            total = payloads[0].summand.copy()
            with np.errstate(over="ignore"):  # fp16 sums may overflow to inf
                for p in payloads[1:]:
                    total = total + p.summand
            return self.decode_sum(total, payloads[0], len(payloads))
        total = self.decode(payloads[0])
        for p in payloads[1:]:
            total = total + self.decode(p)
        return total / len(payloads)

    def exchange(self, grad, state, rng, workers):
        """One round: allreduce the summand, or all-gather the payload (see :meth:`Compressor.exchange`)."""
        payload = self.encode(grad, state, rng)
        if self.summable:
            total = yield Round(
                "allreduce", payload.summand, payload.wire_bytes, payload.ideal_bytes, "values"
            )
            return self.decode_sum(np.asarray(total), payload, workers)
        gathered = yield Round(
            "all_gather", payload, payload.wire_bytes, payload.ideal_bytes, "payload"
        )
        if len(gathered) != workers:
            raise ValueError(f"expected {workers} gathered payloads, got {len(gathered)}")
        return self.aggregate(gathered)
