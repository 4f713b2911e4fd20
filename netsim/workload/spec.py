"""Scenario tables of the LLM workload: ``[workload]`` (model, device) and ``[parallel]``.

They apply when ``training.workload = "llm"`` (:func:`check_llm_scenario` is called by the
scenario's validation). Every error names the dotted field, the value and what is
accepted; the messages of pydantic validators become :class:`~netsim.exceptions.ScenarioError`.

Examples
--------
>>> w = WorkloadSpec(preset="llama2_7b", seq_len=2048)
>>> w.model().seq_len, w.model().layers
(2048, 32)
>>> ParallelSpec(tp=8, pp=2).order
['tp', 'pp', 'dp']
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from netsim.units import parse_flops, parse_size
from netsim.workload.device import DEVICES, Device
from netsim.workload.layout import AXES, DEFAULT_ORDER
from netsim.workload.model import PRESETS, Transformer
from netsim.workload.schedule import SCHEDULES

__all__ = ["WorkloadSpec", "ParallelSpec", "check_llm_scenario", "AGGREGATE_MODES", "MATH_ONLY_TABLES"]

AGGREGATE_MODES = ("auto", "off")
"""``workload.aggregate``: ``auto`` (the coarsest aggregation proven exact) or ``off`` (every flow)."""

MATH_ONLY_TABLES = ("communication", "compute")
"""Tables that describe the math workload only (the LLM workload has [parallel] and [workload])."""

_SHAPE_REQUIRED = ("layers", "hidden", "seq_len", "vocab")


def _choice(kind: str, names):
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in names:
            close = difflib.get_close_matches(str(value), list(names), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{value!r} is not a known {kind}{hint}; accepted: {', '.join(names)}")
        return value

    return check


def _positive_flops(value: Any) -> float:
    number = parse_flops(value)
    if not number >= 1:
        raise ValueError(f"must be at least 1 FLOP/s, got {value!r}")
    return number


def _size(value: Any) -> float:
    number = parse_size(value)
    if number < 0:
        raise ValueError(f"must be >= 0 bytes, got {value!r}")
    return number


def _algorithm(operation: str, field: str):
    def check(value: Any) -> str:
        from netsim.collectives import get_algorithm

        if not isinstance(value, str):
            raise ValueError(f"expected an algorithm name, got {value!r}")
        get_algorithm(value, operation, field=field)
        return value

    return check


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class WorkloadSpec(_Spec):
    """``[workload]``: the transformer, the device and the fidelity of the LLM workload.

    ``preset`` (``gpt2_1.5b``, ``llama2_7b``, ``llama2_13b``, ``llama2_70b``, ``gpt3_175b``,
    ``mixtral_8x7b``) and/or the shape keys of :class:`~netsim.workload.model.Transformer`
    (``layers``, ``hidden``, ``seq_len``, ``vocab`` are required without a preset; a key
    given with a preset overrides it). ``device`` (A100 | H100) with optional
    ``peak_flops`` (FLOP/s) and ``efficiency`` (fraction of peak the kernels reach).
    Wire sizes: ``activation_bytes``, ``param_bytes``, ``grad_bytes`` (default 2: bf16).
    ``aggregate``: auto | off (see :mod:`netsim.workload.backends`).
    """

    preset: Annotated[str, BeforeValidator(_choice("model preset", PRESETS))] | None = None
    layers: int | None = Field(default=None, ge=1, le=10_000)
    hidden: int | None = Field(default=None, ge=1, le=1_000_000)
    seq_len: int | None = Field(default=None, ge=1, le=10_000_000)
    vocab: int | None = Field(default=None, ge=0, le=100_000_000)
    heads: int | None = Field(default=None, ge=1, le=100_000)
    kv_heads: int | None = Field(default=None, ge=1, le=100_000)
    ffn_hidden: int | None = Field(default=None, ge=1, le=10_000_000)
    gated_mlp: bool | None = None
    tied_embeddings: bool | None = None
    learned_positions: bool | None = None
    experts: int | None = Field(default=None, ge=1, le=100_000)
    top_k: int | None = Field(default=None, ge=1, le=100_000)
    moe_every: int | None = Field(default=None, ge=1, le=10_000)
    capacity_factor: float | None = Field(default=None, ge=1, le=1000, allow_inf_nan=False)
    device: Annotated[str, BeforeValidator(_choice("device", DEVICES))] = "A100"
    peak_flops: Annotated[float, BeforeValidator(_positive_flops)] | None = None
    efficiency: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    activation_bytes: float = Field(default=2.0, gt=0, le=64, allow_inf_nan=False)
    param_bytes: float = Field(default=2.0, gt=0, le=64, allow_inf_nan=False)
    grad_bytes: float = Field(default=2.0, gt=0, le=64, allow_inf_nan=False)
    aggregate: Annotated[str, BeforeValidator(_choice("aggregation mode", AGGREGATE_MODES))] = "auto"

    @model_validator(mode="after")
    def _shape(self) -> WorkloadSpec:
        if self.preset is None:
            missing = [k for k in _SHAPE_REQUIRED if getattr(self, k) is None]
            if missing:
                raise ValueError(f"workload.{missing[0]} is required without workload.preset (or choose a preset: {', '.join(PRESETS)})")
        model = self.model()
        if model.heads is not None and model.kv_heads is not None and model.heads % model.kv_heads:
            raise ValueError(f"workload.kv_heads = {model.kv_heads} must divide workload.heads = {model.heads}")
        if model.heads is not None and model.hidden % model.heads:
            raise ValueError(f"workload.heads = {model.heads} must divide workload.hidden = {model.hidden}")
        if model.kv_heads is not None and model.heads is None:
            raise ValueError("workload.kv_heads needs workload.heads")
        if model.top_k > model.experts:
            raise ValueError(f"workload.top_k = {model.top_k} exceeds workload.experts = {model.experts}")
        return self

    def model(self) -> Transformer:
        """The transformer: the preset with the keys given here applied."""
        changes = {k: getattr(self, k) for k in Transformer.field_names() if getattr(self, k) is not None}
        if self.preset is not None:
            return PRESETS[self.preset].with_changes(**changes)
        return Transformer(**changes)

    def device_spec(self) -> Device:
        """The device: the preset with ``peak_flops`` and ``efficiency`` applied."""
        base = DEVICES[self.device]
        return Device(
            base.name,
            self.peak_flops if self.peak_flops is not None else base.peak_flops,
            self.efficiency if self.efficiency is not None else base.efficiency,
        )


class ParallelSpec(_Spec):
    """``[parallel]``: how the LLM job is sharded and scheduled.

    ``dp`` (default: every host / (tp·pp)), ``tp``, ``pp``, ``ep`` (expert parallel, divides
    dp), ``zero`` (0-3; 3 is FSDP), ``microbatches`` per step or ``global_batch`` (sequences
    per step, a multiple of dp × micro_batch), ``micro_batch`` (sequences), ``schedule``
    (1f1b | gpipe), ``order`` (rank axes fastest first, default tp, pp, dp) or
    ``placement`` (host index of every rank), the algorithms ``tp_algorithm``,
    ``dp_algorithm`` (allreduces), ``ep_algorithm`` (all-to-all),
    ``reduce_scatter_algorithm``, ``all_gather_algorithm`` (ZeRO), gradient
    ``bucket_size`` (bytes; default one bucket per layer, 0: one per stage) and
    ``overlap`` (reduce buckets during the last backward pass, default true).
    """

    dp: int | None = Field(default=None, ge=1, le=1_000_000)
    tp: int = Field(default=1, ge=1, le=100_000)
    pp: int = Field(default=1, ge=1, le=100_000)
    ep: int = Field(default=1, ge=1, le=100_000)
    zero: int = Field(default=0, ge=0, le=3)
    microbatches: int | None = Field(default=None, ge=1, le=1_000_000)
    global_batch: int | None = Field(default=None, ge=1, le=1_000_000_000)
    micro_batch: int = Field(default=1, ge=1, le=1_000_000)
    schedule: Annotated[str, BeforeValidator(_choice("pipeline schedule", SCHEDULES))] = "1f1b"
    order: list[str] = Field(default_factory=lambda: list(DEFAULT_ORDER))
    placement: list[Annotated[int, Field(ge=0)]] | None = None
    tp_algorithm: Annotated[str, BeforeValidator(_algorithm("allreduce", "parallel.tp_algorithm"))] = "ring_allreduce"
    dp_algorithm: Annotated[str, BeforeValidator(_algorithm("allreduce", "parallel.dp_algorithm"))] = "ring_allreduce"
    ep_algorithm: Annotated[str, BeforeValidator(_algorithm("all_to_all", "parallel.ep_algorithm"))] = "pairwise"
    reduce_scatter_algorithm: Annotated[str, BeforeValidator(_algorithm("reduce_scatter", "parallel.reduce_scatter_algorithm"))] = "ring_reduce_scatter"
    all_gather_algorithm: Annotated[str, BeforeValidator(_algorithm("all_gather", "parallel.all_gather_algorithm"))] = "ring_all_gather"
    bucket_size: Annotated[float, BeforeValidator(_size)] | None = None
    overlap: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> ParallelSpec:
        if sorted(self.order) != sorted(AXES) or len(self.order) != len(AXES):
            raise ValueError(f"parallel.order: expected a permutation of tp, pp, dp, got {self.order}")
        if self.microbatches is not None and self.global_batch is not None:
            raise ValueError("give parallel.microbatches or parallel.global_batch, not both")
        if self.zero == 3 and self.ep > 1:
            raise ValueError("parallel.zero = 3 (FSDP) is not supported with expert parallelism (parallel.ep > 1); use zero <= 2")
        if self.dp is not None and self.dp % self.ep:
            raise ValueError(f"parallel.ep = {self.ep} must divide parallel.dp = {self.dp}")
        return self

    def microbatches_for(self, dp: int) -> int:
        """Micro-batches per step for ``dp`` replicas (default 1).

        Raises
        ------
        ValueError
            If ``global_batch`` is not a multiple of ``dp × micro_batch``.
        """
        if self.global_batch is None:
            return self.microbatches if self.microbatches is not None else 1
        per = dp * self.micro_batch
        if self.global_batch % per:
            raise ValueError(
                f"parallel.global_batch = {self.global_batch} is not a multiple of dp × micro_batch = {dp} × {self.micro_batch}"
            )
        return self.global_batch // per


def check_llm_scenario(scenario) -> None:
    """Cross-table checks of an LLM scenario (called by :class:`netsim.scenario.Scenario`).

    Raises
    ------
    ValueError
        Naming the field: a math-only key set, a missing ``[workload]`` table, or a
        parallel degree that does not fit the model.
    """
    training = scenario.training
    if training.workload != "llm":
        for table in ("workload", "parallel"):
            if getattr(scenario, table) is not None:
                raise ValueError(f"[{table}] applies to training.workload = 'llm' (training.workload is {training.workload!r})")
        return
    if scenario.workload is None:
        raise ValueError(f"training.workload = 'llm' needs a [workload] table (workload.preset = one of {', '.join(PRESETS)})")
    extra = sorted(training.model_fields_set - {"workload", "steps"})
    if extra:
        raise ValueError(f"training.{extra[0]} applies to training.workload = 'math' only (the llm workload takes training.steps)")
    for table in MATH_ONLY_TABLES:
        given = sorted(getattr(scenario, table).model_fields_set)
        if given:
            raise ValueError(f"{table}.{given[0]} applies to training.workload = 'math' only (use [parallel] and [workload])")
    model = scenario.workload.model()
    parallel = scenario.parallel or ParallelSpec()
    if parallel.pp > model.layers:
        raise ValueError(f"parallel.pp = {parallel.pp} exceeds the model's {model.layers} layers")
    if model.heads is not None and model.heads % parallel.tp:
        raise ValueError(f"parallel.tp = {parallel.tp} must divide the model's {model.heads} attention heads")
    if parallel.ep > 1 and not model.is_moe:
        raise ValueError("parallel.ep > 1 needs a mixture-of-experts model (workload.experts > 1)")
    if model.is_moe and model.experts % parallel.ep:
        raise ValueError(f"parallel.ep = {parallel.ep} must divide workload.experts = {model.experts}")
