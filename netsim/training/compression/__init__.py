"""Gradient compression: exact wire sizes, error feedback, allreduce or all-gather exchange.

Pure NumPy (no SimPy). Every method is a :class:`Compressor`: immutable configuration
whose per-worker memory lives in a :class:`CompressorState`; randomness comes only from
the ``numpy.random.Generator`` passed in. A driver runs :meth:`Compressor.exchange`, a
generator that yields one :class:`Round` per collective (``"allreduce"`` of a summable
array, or ``"all_gather"`` of a :class:`Payload`) and returns the aggregated mean; see
:mod:`netsim.training.compression.base` for the protocol and
:mod:`netsim.training.compression.lowrank` for PowerSGD's two rounds.

Modules: ``base`` (protocol, sizes), ``driver`` (:func:`exchange_locally`, helpers), ``quantize`` (none, fp16,
bf16, QSGD, TernGrad), ``sign`` (signSGD, scaled sign, 1-bit), ``sparsify`` (top-k,
random-k, threshold, DGC), ``lowrank`` (PowerSGD), ``feedback`` (:class:`ErrorFeedback`),
``registry`` (:data:`COMPRESSORS`, :func:`make_compressor`).

Examples
--------
>>> import numpy as np
>>> c = make_compressor("topk", ratio=0.25)
>>> grads = [np.array([4.0, 0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0, 2.0])]
>>> out = exchange_locally(c, grads, [c.init_state(4) for _ in grads])
>>> out.outputs[0], out.rounds[0][0].op, out.wire_bytes(), out.ideal_bytes()
(array([2., 0., 0., 1.]), 'all_gather', [8, 8], [5, 5])
"""

from netsim.training.compression.base import (
    SCOPES,
    Compressor,
    CompressorState,
    Payload,
    Round,
    SingleRoundCompressor,
    WireSize,
    count_for_ratio,
    index_bits,
    normalize_shapes,
    packed_bytes,
    unit_size,
)
from netsim.training.compression.driver import (
    LocalExchange,
    compression_units,
    exchange_locally,
    worker_rngs,
)
from netsim.training.compression.feedback import ErrorFeedback
from netsim.training.compression.lowrank import MatrixPlan, PowerSGD, orthogonalize
from netsim.training.compression.quantize import (
    BF16,
    FP16,
    QSGD,
    NoCompression,
    TernGrad,
    bf16_round,
    elias_gamma_bits,
)
from netsim.training.compression.registry import (
    COMPRESSORS,
    GENERIC_PARAMS,
    CompressorInfo,
    compressor_names,
    make_compressor,
)
from netsim.training.compression.sign import OneBitQuantizer, ScaledSign, SignSGD
from netsim.training.compression.sparsify import (
    DGC,
    DGC_WARMUP,
    RandomK,
    Threshold,
    TopK,
    top_k_indices,
)

__all__ = [
    # protocol
    "Compressor",
    "SingleRoundCompressor",
    "CompressorState",
    "Payload",
    "Round",
    "WireSize",
    "SCOPES",
    "unit_size",
    "LocalExchange",
    "exchange_locally",
    "worker_rngs",
    "compression_units",
    "normalize_shapes",
    "count_for_ratio",
    "index_bits",
    "packed_bytes",
    # methods
    "NoCompression",
    "FP16",
    "BF16",
    "bf16_round",
    "QSGD",
    "elias_gamma_bits",
    "TernGrad",
    "SignSGD",
    "ScaledSign",
    "OneBitQuantizer",
    "TopK",
    "RandomK",
    "Threshold",
    "DGC",
    "DGC_WARMUP",
    "top_k_indices",
    "PowerSGD",
    "MatrixPlan",
    "orthogonalize",
    "ErrorFeedback",
    # registry
    "COMPRESSORS",
    "GENERIC_PARAMS",
    "CompressorInfo",
    "compressor_names",
    "make_compressor",
]
