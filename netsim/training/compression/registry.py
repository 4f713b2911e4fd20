"""The compressors scenarios can name, and :func:`make_compressor`.

Proposed scenario layout (a nested table; every key but ``method`` is optional)::

    [training.compression]
    method = "topk"          # a key of COMPRESSORS
    ratio = 0.01             # method parameters (see ``netsim list compressors``)
    error_feedback = true    # generic: wrap in ErrorFeedback (where it applies)
    value_bytes = 4          # generic: wire bytes of a full-precision value (4 or 8)
    scope = "layerwise"      # generic: "layerwise" (per bucket) or "global" (whole gradient)
    wire = "sent"            # generic: time the "sent" or the "ideal" (bit-packed) size

Examples
--------
>>> make_compressor("topk", ratio=0.01, error_feedback=True)
ErrorFeedback(TopK(ratio=0.01, index_bytes=4, value_bytes=4, scope='layerwise'), lr=None, name='topk+ef')
>>> make_compressor("topk", ratio=2)
Traceback (most recent call last):
...
netsim.exceptions.ScenarioError: training.compression.ratio: must be a finite number in (0, 1], got 2.0
>>> make_compressor("topk", ratio=2, param_field="training.compressor_{}")
Traceback (most recent call last):
...
netsim.exceptions.ScenarioError: training.compressor_ratio: must be a finite number in (0, 1], got 2.0
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from netsim.exceptions import ScenarioError
from netsim.training.compression._params import ParameterError, check_bool, check_choice
from netsim.training.compression.base import Compressor
from netsim.training.compression.feedback import ErrorFeedback
from netsim.training.compression.lowrank import PowerSGD
from netsim.training.compression.quantize import BF16, FP16, QSGD, NoCompression, TernGrad
from netsim.training.compression.sign import OneBitQuantizer, ScaledSign, SignSGD
from netsim.training.compression.sparsify import DGC, DGC_WARMUP, RandomK, Threshold, TopK

__all__ = ["CompressorInfo", "COMPRESSORS", "GENERIC_PARAMS", "make_compressor", "compressor_names"]

GENERIC_PARAMS = ("error_feedback", "value_bytes", "scope", "wire")
"""Parameters every method accepts (``error_feedback``: see :class:`CompressorInfo`)."""


@dataclass(frozen=True)
class CompressorInfo:
    """A registered method.

    Attributes
    ----------
    name : str
    build : callable
        Keyword-only factory; its signature lists the method's parameters and defaults.
    description : str
        One line for ``netsim list``.
    error_feedback : str
        ``"optional"``: ``error_feedback = true`` wraps it in ErrorFeedback (default off);
        ``"builtin"``: always on (only ``true`` accepted); ``"parameter"``: the method's own
        parameter (PowerSGD, default on).
    """

    name: str
    build: Callable[..., Compressor]
    description: str
    error_feedback: str = "optional"

    def params(self) -> dict[str, object]:
        """Accepted parameters and their defaults (``inspect.Parameter.empty`` if required)."""
        out = {k: p.default for k, p in inspect.signature(self.build).parameters.items()}
        out.setdefault("error_feedback", self.error_feedback == "builtin")
        out["wire"] = "sent"
        return out


def _simple(cls):
    def build(*, value_bytes=4, scope="layerwise"):
        return cls(value_bytes=value_bytes, scope=scope)

    return build


def _with_feedback(cls, name):
    def build(*, value_bytes=4, scope="layerwise"):
        return ErrorFeedback(cls(value_bytes=value_bytes, scope=scope), name=name)

    return build


def _topk(*, ratio=0.01, index_bytes=4, value_bytes=4, scope="layerwise"):
    return TopK(ratio, index_bytes=index_bytes, value_bytes=value_bytes, scope=scope)


def _randomk(*, ratio=0.01, scaled=True, value_bytes=4, scope="layerwise"):
    return RandomK(ratio, scaled=scaled, value_bytes=value_bytes, scope=scope)


def _threshold(*, threshold, index_bytes=4, value_bytes=4, scope="layerwise"):
    return Threshold(threshold, index_bytes=index_bytes, value_bytes=value_bytes, scope=scope)


def _qsgd(*, levels=127, value_bytes=4, scope="layerwise"):
    return QSGD(levels, value_bytes=value_bytes, scope=scope)


def _terngrad(*, clip=2.5, value_bytes=4, scope="layerwise"):
    return TernGrad(clip, value_bytes=value_bytes, scope=scope)


def _dgc(
    *,
    sparsity=0.999,
    momentum=0.9,
    clip_norm=0.0,
    warmup=DGC_WARMUP,
    warmup_steps=0,
    index_bytes=4,
    value_bytes=4,
    scope="layerwise",
):
    return DGC(
        sparsity,
        momentum=momentum,
        clip_norm=clip_norm,
        warmup=warmup,
        warmup_steps=warmup_steps,
        index_bytes=index_bytes,
        value_bytes=value_bytes,
        scope=scope,
    )


def _powersgd(
    *,
    rank=1,
    warm_start=True,
    error_feedback=True,
    min_compression_rate=2.0,
    start_step=0,
    value_bytes=4,
    scope="layerwise",
):
    return PowerSGD(
        rank,
        warm_start=warm_start,
        error_feedback=error_feedback,
        min_compression_rate=min_compression_rate,
        start_step=start_step,
        value_bytes=value_bytes,
        scope=scope,
    )


COMPRESSORS: dict[str, CompressorInfo] = {
    info.name: info
    for info in (
        CompressorInfo(
            "none", _simple(NoCompression), "no compression: allreduce full-precision values"
        ),
        CompressorInfo(
            "fp16", _simple(FP16), "cast to IEEE half precision, allreduced (summed in fp16)"
        ),
        CompressorInfo("bf16", _simple(BF16), "round to bfloat16, allreduced"),
        CompressorInfo("topk", _topk, "top-k largest magnitudes (values + indices), all-gathered"),
        CompressorInfo(
            "randomk", _randomk, "random-k with a shared seed (values only), allreduced"
        ),
        CompressorInfo(
            "threshold", _threshold, "entries with |g| > threshold (values + indices), all-gathered"
        ),
        CompressorInfo(
            "qsgd",
            _qsgd,
            "QSGD stochastic s-level quantisation (norm + sign + level), all-gathered",
        ),
        CompressorInfo(
            "terngrad", _terngrad, "TernGrad: 2.5-sigma clipping, stochastic ternary, all-gathered"
        ),
        CompressorInfo(
            "signsgd", _simple(SignSGD), "signSGD, aggregated by majority vote, all-gathered"
        ),
        CompressorInfo(
            "ef_signsgd",
            _with_feedback(ScaledSign, "ef_signsgd"),
            "EF-signSGD: (|p|_1/d) sign(p) with error feedback, all-gathered",
            "builtin",
        ),
        CompressorInfo(
            "onebit",
            _with_feedback(OneBitQuantizer, "onebit"),
            "1-bit SGD: two values per tensor with error feedback, all-gathered",
            "builtin",
        ),
        CompressorInfo(
            "dgc",
            _dgc,
            "Deep Gradient Compression: momentum-corrected top-k with warm-up",
            "builtin",
        ),
        CompressorInfo(
            "powersgd", _powersgd, "PowerSGD rank-r: allreduce P then Q, warm start", "parameter"
        ),
    )
}
"""Registered compression methods by name."""


def compressor_names() -> list[str]:
    """Registered method names, sorted."""
    return sorted(COMPRESSORS)


def make_compressor(
    name: str,
    *,
    method_field: str = "training.compression.method",
    param_field: str = "training.compression.{}",
    **params: object,
) -> Compressor:
    """Build a registered compressor from scenario values.

    Parameters
    ----------
    name : str
        A key of :data:`COMPRESSORS`.
    method_field : str, optional
        Field named when ``name`` is unknown.
    param_field : str, optional
        Template of the field named when a parameter is unknown, missing or invalid
        (``{}`` is replaced by the parameter name), e.g. ``"training.compressor_{}"``.
    **params
        Method parameters plus the generic ``error_feedback``, ``value_bytes``, ``scope``
        and ``wire`` (:data:`GENERIC_PARAMS`).

    Returns
    -------
    Compressor

    Raises
    ------
    ScenarioError
        Naming the field, the value and what is accepted.
    """
    info = COMPRESSORS.get(name) if isinstance(name, str) else None
    if info is None:
        close = difflib.get_close_matches(str(name), COMPRESSORS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(
            f"{method_field}: unknown compressor {name!r}{hint}; accepted: {', '.join(compressor_names())}"
        )
    accepted = info.params()
    for key in params:
        if key not in accepted:
            raise ScenarioError(
                f"{param_field.format(key)}: not an option of compressor {name!r}; accepted: {', '.join(accepted)}"
            )
    for key, default in accepted.items():
        if default is inspect.Parameter.empty and key not in params:
            raise ScenarioError(f"{param_field.format(key)}: required by compressor {name!r}")
    params = dict(params)
    try:
        wire = check_choice(params.pop("wire", "sent"), "wire", ("sent", "ideal"))
        wrap = False
        if info.error_feedback != "parameter" and "error_feedback" in params:
            wrap = check_bool(params.pop("error_feedback"), "error_feedback")
            if info.error_feedback == "builtin":
                if not wrap:
                    raise ParameterError(
                        "error_feedback",
                        f"{name} has error feedback built in; it cannot be turned off",
                    )
                wrap = False
        compressor = info.build(**params)
    except ParameterError as exc:
        raise ScenarioError(f"{param_field.format(exc.param)}: {exc.detail}") from None
    if wrap:
        compressor = ErrorFeedback(compressor, name=f"{name}+ef")
    compressor.wire = wire
    return compressor
