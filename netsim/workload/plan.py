"""What every pipeline stage computes and communicates in one micro-batch and one step.

:func:`plan_job` turns a model, a device and a layout into a :class:`JobPlan`: for each
stage, the forward and backward pass of one micro-batch as a list of :class:`Segment`
(compute for a number of seconds, or a collective of a number of bytes over a parallel
dimension), and the gradient buckets reduced over the data-parallel groups.

One micro-batch holds ``b`` sequences of ``s`` tokens (``T = b·s``). Per layer, on each
rank (Megatron-LM tensor parallelism, Shoeybi et al., 2019):

- forward: attention compute (``T·attention_flops/tp``), TP allreduce of the
  ``T × h`` activation, MLP compute, TP allreduce; a MoE layer replaces the MLP by an EP
  all-to-all dispatching ``T·top_k·capacity`` token vectors, the experts' compute and an
  all-to-all combining them back (Lepikhin et al., 2021, GShard);
- backward: the same in reverse order with twice the compute (the two TP allreduces of
  the backward pass are the conjugates of the forward's identity operators).

The LM head runs on the last stage (after the last layer forward, first in backward).
Activations and their gradients go point to point between stages: each of the ``tp``
ranks of a stage sends the full ``T × h`` activation to its peer of the next stage.

Gradients of a stage become ready layer by layer in the backward pass of the last
micro-batch; a *unit* is one layer (the LM head and the embedding are units of the last
and first stage). Units are grouped into buckets in backward order: one per unit by
default, ``bucket_size`` bytes or more per bucket, or one per stage (``bucket_size = 0``).
Expert weights (expert parallel ``ep > 1``) are reduced over their own groups, so a
bucket carries dense and expert bytes separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netsim.workload.device import Device
from netsim.workload.layout import Layout
from netsim.workload.model import Transformer

__all__ = ["Segment", "Bucket", "StagePlan", "JobPlan", "plan_job", "stage_layers"]


@dataclass(frozen=True)
class Segment:
    """One piece of a forward or backward pass on one rank.

    Attributes
    ----------
    kind : str
        ``"compute"``, ``"tp"`` (allreduce over the tensor-parallel group), ``"ep"``
        (all-to-all over the expert group) or ``"layer"`` (a marker: the pass enters
        layer ``value``; used for gradient readiness and ZeRO-3 parameter gathers).
    value : float
        Seconds of compute, bytes of the collective's vector, or the layer index.
    flops : float
        FLOPs of a compute segment (0 otherwise).
    """

    kind: str
    value: float
    flops: float = 0.0


@dataclass(frozen=True)
class Bucket:
    """Gradients reduced together by the data-parallel groups.

    Attributes
    ----------
    ready_after : int
        Index into the stage's backward segments after which every gradient of the
        bucket is computed (in the last micro-batch's backward).
    dense_elements, expert_elements : float
        Parameters per rank in the bucket: dense ones (reduced over the data-parallel
        group) and expert ones (over the expert-data-parallel group; 0 if ``ep == 1``).
    """

    ready_after: int
    dense_elements: float
    expert_elements: float


@dataclass
class StagePlan:
    """What one stage does per micro-batch and per step.

    Attributes
    ----------
    stage : int
        Stage index.
    layers : list of int
        Model layers on this stage.
    forward, backward : list of Segment
        One micro-batch's passes, in execution order.
    buckets : list of Bucket
        Gradient buckets in the order they become ready.
    layer_elements : dict
        ``layer -> (dense, expert)`` parameters per rank of each unit (``-1``: embedding,
        ``-2``: LM head), for ZeRO-3 gathers.
    """

    stage: int
    layers: list[int]
    forward: list[Segment] = field(default_factory=list)
    backward: list[Segment] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    layer_elements: dict = field(default_factory=dict)

    def compute_seconds(self) -> float:
        """Compute seconds of one micro-batch, forward plus backward."""
        return sum(s.value for s in self.forward + self.backward if s.kind == "compute")

    def flops(self) -> float:
        """FLOPs of one micro-batch on one rank, forward plus backward."""
        return sum(s.flops for s in self.forward + self.backward)

    def dense_elements(self) -> float:
        """Dense parameters per rank on this stage."""
        return sum(b.dense_elements for b in self.buckets)

    def expert_elements(self) -> float:
        """Expert parameters per rank on this stage."""
        return sum(b.expert_elements for b in self.buckets)


@dataclass
class JobPlan:
    """The plan of a whole job.

    Attributes
    ----------
    model : Transformer
    device : Device
    layout : Layout
    microbatches : int
        Micro-batches per step ``m`` (per pipeline).
    micro_batch : int
        Sequences per micro-batch ``b``.
    stages : list of StagePlan
    activation_bytes : float
        Bytes of the ``T × h`` activation one rank sends to the next stage.
    """

    model: Transformer
    device: Device
    layout: Layout
    microbatches: int
    micro_batch: int
    stages: list[StagePlan]
    activation_bytes: float

    @property
    def tokens_per_microbatch(self) -> int:
        """``T = b·s``."""
        return self.micro_batch * self.model.seq_len

    @property
    def global_batch(self) -> int:
        """Sequences per step: ``dp·m·b``."""
        return self.layout.dp * self.microbatches * self.micro_batch

    @property
    def tokens_per_step(self) -> int:
        """Tokens per step."""
        return self.global_batch * self.model.seq_len

    def model_flops(self) -> float:
        """Model training FLOPs of one step (no padding, no recomputation)."""
        return self.tokens_per_step * self.model.training_flops_per_token()


def stage_layers(layers: int, pp: int) -> list[list[int]]:
    """Split ``layers`` over ``pp`` stages as evenly as possible (earlier stages get one more).

    >>> stage_layers(10, 4)
    [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    """
    base, extra = divmod(layers, pp)
    out, start = [], 0
    for p in range(pp):
        count = base + (1 if p < extra else 0)
        out.append(list(range(start, start + count)))
        start += count
    return out


def plan_job(
    model: Transformer,
    device: Device,
    layout: Layout,
    microbatches: int,
    micro_batch: int = 1,
    activation_bytes: float = 2.0,
    bucket_size: float | None = None,
    grad_bytes: float = 2.0,
) -> JobPlan:
    """Plan every stage of a job.

    Parameters
    ----------
    model : Transformer
    device : Device
    layout : Layout
    microbatches : int
        Micro-batches per step.
    micro_batch : int
        Sequences per micro-batch.
    activation_bytes : float
        Bytes per activation value on the wire (2: bf16).
    bucket_size : float or None
        Gradient bytes per bucket (``None``: one bucket per layer; ``0``: one per stage).
    grad_bytes : float
        Bytes per gradient value (to size buckets).
    """
    tp, ep = layout.tp, layout.ep
    tokens = micro_batch * model.seq_len
    act = model.activation_bytes(tokens, activation_bytes)
    dispatch = model.dispatch_bytes(tokens, activation_bytes)
    stages = []
    for p, layers in enumerate(stage_layers(model.layers, layout.pp)):
        plan = StagePlan(stage=p, layers=layers)
        last = p == layout.pp - 1
        fwd, bwd = plan.forward, plan.backward
        units: list[tuple[int, float, float]] = []  # (ready_after, dense, expert) in backward order
        compute = _computer(device)
        for layer in layers:
            fwd.append(Segment("layer", layer))
            compute(tokens * model.attention_flops() / tp, fwd)
            if tp > 1:
                fwd.append(Segment("tp", act))
            if model.is_moe_layer(layer):
                if ep > 1:
                    fwd.append(Segment("ep", dispatch))
                compute(tokens * model.mlp_flops(layer, capacity=True) / tp, fwd)
                if ep > 1:
                    fwd.append(Segment("ep", dispatch))
            else:
                compute(tokens * model.mlp_flops(layer) / tp, fwd)
            if tp > 1:
                fwd.append(Segment("tp", act))
        if last and model.vocab:
            compute(tokens * model.head_flops() / tp, fwd)
            compute(2 * tokens * model.head_flops() / tp, bwd)
            if not (model.tied_embeddings and p == 0):  # a tied head on stage 0 is the embedding
                units.append((len(bwd) - 1, model.vocab * model.hidden / tp, 0.0))
                plan.layer_elements[-2] = (model.vocab * model.hidden / tp, 0.0)
        for layer in reversed(layers):
            bwd.append(Segment("layer", layer))
            if tp > 1:
                bwd.append(Segment("tp", act))
            if model.is_moe_layer(layer):
                if ep > 1:
                    bwd.append(Segment("ep", dispatch))
                compute(2 * tokens * model.mlp_flops(layer, capacity=True) / tp, bwd)
                if ep > 1:
                    bwd.append(Segment("ep", dispatch))
                dense = (model.attention_parameters() + model.router_parameters() * tp) / tp
                expert = model.experts / ep * model.mlp_parameters() / tp
            else:
                compute(2 * tokens * model.mlp_flops(layer) / tp, bwd)
                dense = (model.attention_parameters() + model.mlp_parameters()) / tp
                expert = 0.0
            if tp > 1:
                bwd.append(Segment("tp", act))
            compute(2 * tokens * model.attention_flops() / tp, bwd)
            if ep == 1:
                dense, expert = dense + expert, 0.0
            units.append((len(bwd) - 1, dense, expert))
            plan.layer_elements[layer] = (dense, expert)
        if p == 0 and model.vocab:
            units.append((len(bwd) - 1, model.embedding_parameters() / tp, 0.0))
            plan.layer_elements[-1] = (model.embedding_parameters() / tp, 0.0)
        plan.buckets = _buckets(units, bucket_size, grad_bytes)
        stages.append(plan)
    return JobPlan(model, device, layout, microbatches, micro_batch, stages, act)


def _computer(device: Device):
    """``compute(flops, into)``: append a compute segment of ``flops`` FLOPs on ``device``."""

    def compute(flops: float, into: list) -> None:
        into.append(Segment("compute", device.seconds(flops), flops))

    return compute


def _buckets(units: list[tuple[int, float, float]], bucket_size: float | None, grad_bytes: float) -> list[Bucket]:
    """Group gradient units (in backward order) into buckets."""
    if not units:
        return []
    if bucket_size is None:
        return [Bucket(r, d, e) for r, d, e in units]
    buckets, ready, dense, expert = [], 0, 0.0, 0.0
    for r, d, e in units:
        ready, dense, expert = r, dense + d, expert + e
        if bucket_size > 0 and (dense + expert) * grad_bytes >= bucket_size:
            buckets.append(Bucket(ready, dense, expert))
            dense = expert = 0.0
    if dense or expert:
        buckets.append(Bucket(ready, dense, expert))
    return buckets
