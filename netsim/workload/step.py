"""The training step of a sharded LLM job as SimPy processes.

Every simulated rank runs its pipeline stage's schedule (:mod:`netsim.workload.schedule`):
for ``F(i)`` it waits for the activation from the previous stage, runs the forward
segments of :mod:`netsim.workload.plan` (compute timeouts, tensor-parallel allreduces,
expert all-to-alls; ZeRO-3 parameter gathers prefetched one layer ahead) and sends the
activation on; ``B(i)`` likewise backwards. Gradient buckets become ready during the last
micro-batch's backward and are reduced by a chain per data-parallel group (one bucket
after another, as on a communication stream): started as soon as they are ready
(``overlap``) or after the stage's last backward. ZeRO 0 allreduces gradients; ZeRO 1
and 2 reduce-scatter them and all-gather the updated parameters after the last bucket;
ZeRO 3 reduce-scatters and gathers the parameters of each layer before its forward and
backward pass. A step ends when every rank is done (the optimizer step ends with a
global gradient-norm reduction, modelled as a barrier of no duration); the next starts
then.

Which ranks are simulated, and how their collectives run, is the backend's business
(:mod:`netsim.workload.backends`): per flow, every rank runs its own process and its own
part of every collective; aggregated, only replicas ``d < k_d`` and tensor indices
``t < k_t`` run, and a collective runs in one of three modes: ``own`` (every running
member runs its part), ``launch`` (the one running member starts every member at once
and, in the middle of a pass, checks that they finish together) or ``closed`` (a
timeout of the collective's isolated time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from netsim.collectives import Algorithm
from netsim.workload.backends import AggregationRejected
from netsim.workload.plan import JobPlan, Segment, StagePlan
from netsim.workload.schedule import stage_ops

__all__ = ["StepOptions", "RankRecord", "StepSimulator"]


@dataclass(frozen=True)
class StepOptions:
    """How the job communicates.

    Attributes
    ----------
    schedule : str
        ``"1f1b"`` or ``"gpipe"``.
    zero : int
        ZeRO stage 0-3 (3 = FSDP).
    algorithms : dict
        ``"tp"``, ``"dp"``, ``"ep"``, ``"reduce_scatter"``, ``"all_gather"`` ->
        ``(Algorithm, options)``.
    overlap : bool
        Reduce gradient buckets during the last backward pass.
    param_bytes, grad_bytes : float
        Bytes per parameter (gathers) and per gradient value (reductions).
    """

    schedule: str
    zero: int
    algorithms: dict
    overlap: bool = True
    param_bytes: float = 2.0
    grad_bytes: float = 2.0


@dataclass
class RankRecord:
    """What one simulated rank did in one step (seconds).

    ``ops`` maps ``(kind, microbatch)`` to ``(start, end)``; ``pipeline_end`` is the end of
    its last backward, ``end`` the end of its gradient reduction.
    """

    compute: float = 0.0
    tp: float = 0.0
    ep: float = 0.0
    zero: float = 0.0
    pp_wait: float = 0.0
    ops: dict = field(default_factory=dict)
    start: float = 0.0
    pipeline_end: float = 0.0
    end: float = 0.0

    def busy(self) -> float:
        """Seconds spent in operations."""
        return sum(e - s for s, e in self.ops.values())


class StepSimulator:
    """Drive the steps of one job on one backend.

    Parameters
    ----------
    env : simpy.Environment
    plan : JobPlan
    options : StepOptions
    backend : PerFlowBackend or AggregatedBackend
        Which ranks run (``d_sim``, ``t_sim``) and how each context's collectives run
        (``mode``: ``own``, ``launch`` or ``closed``).
    """

    def __init__(self, env: simpy.Environment, plan: JobPlan, options: StepOptions, backend):
        self.env, self.plan, self.options, self.backend = env, plan, options, backend
        self.layout = plan.layout
        self.d_sim, self.t_sim = backend.d_sim, backend.t_sim
        self.records: list[dict[tuple[int, int, int], RankRecord]] = []
        self.chain_end: list[dict[tuple[str, int], float]] = []
        self.step_ends: list[float] = []
        self.step_bytes: list[dict[str, float]] = []
        self.step_rank_bytes: list = []
        self.steps_done = 0

    # ------------------------------------------------------------ structure
    @staticmethod
    def groups(plan: JobPlan, options: StepOptions) -> dict[str, list[tuple[int, ...]]]:
        """Every group of every context the job communicates in (empty contexts left out)."""
        layout = plan.layout
        dp, pp, tp, ep = layout.dp, layout.pp, layout.tp, layout.ep
        out: dict[str, list] = {}
        if tp > 1:
            out["tp"] = [tuple(layout.tp_group(d, p)) for d in range(dp) for p in range(pp)]
        if dp > 1:
            out["dp"] = [tuple(layout.dp_group(p, t)) for p in range(pp) for t in range(tp)]
            if options.zero == 3:
                out["zero"] = list(out["dp"])
        moe = [p for p, s in enumerate(plan.stages) if any(plan.model.is_moe_layer(layer) for layer in s.layers)]
        if ep > 1 and moe:
            out["ep"] = [tuple(layout.ep_group(g, p, t)) for g in range(dp // ep) for p in moe for t in range(tp)]
            if dp // ep > 1:
                out["edp"] = [tuple(layout.expert_dp_group(e, p, t)) for e in range(ep) for p in moe for t in range(tp)]
        return out

    @staticmethod
    def algorithms(options: StepOptions) -> dict[str, list[tuple[Algorithm, dict]]]:
        """The collectives each context runs."""
        a = options.algorithms
        grads = [a["dp"]] if options.zero == 0 else [a["reduce_scatter"], a["all_gather"]]
        return {"tp": [a["tp"]], "ep": [a["ep"]], "dp": grads, "edp": grads, "zero": [a["all_gather"]]}

    @staticmethod
    def pp_pairs(plan: JobPlan) -> list[tuple[int, int]]:
        """Every pipeline send: activations forward, gradients backward."""
        layout = plan.layout
        pairs = []
        for d in range(layout.dp):
            for p in range(layout.pp - 1):
                for t in range(layout.tp):
                    a, b = layout.rank(d, p, t), layout.rank(d, p + 1, t)
                    pairs += [(a, b), (b, a)]
        return pairs

    # ------------------------------------------------------------------ run
    def run(self, steps: int) -> simpy.Process:
        """Start the driver of ``steps`` consecutive steps; returns its process."""
        return self.env.process(self._drive(steps))

    def _drive(self, steps: int):
        env, layout = self.env, self.layout
        for step in range(steps):
            records: dict = {}
            self.records.append(records)
            self.chain_end.append({})
            processes = []
            for d in self.d_sim:
                for p in range(layout.pp):
                    for t in self.t_sim:
                        record = records[(d, p, t)] = RankRecord(start=env.now)
                        processes.append(env.process(self._rank(step, d, p, t, record)))
            yield env.all_of(processes)
            self.step_ends.append(env.now)
            self.step_bytes.append(self.backend.bytes_by_context())
            self.step_rank_bytes.append(self.backend.rank_bytes())
            self.steps_done = step + 1

    def _rank(self, step: int, d: int, p: int, t: int, record: RankRecord):
        env, layout, plan = self.env, self.layout, self.plan
        stage = plan.stages[p]
        rank = layout.rank(d, p, t)
        ops = stage_ops(self.options.schedule, layout.pp, plan.microbatches, p)
        last_backward = max(i for i, (kind, _) in enumerate(ops) if kind == "B")
        pp_comm = self.backend.pp
        ready: list = []
        chains: list = []
        for index, (kind, micro) in enumerate(ops):
            forward = kind == "F"
            source = p - 1 if forward else p + 1
            if 0 <= source < layout.pp:
                waited = env.now
                yield pp_comm.recv(rank, layout.rank(d, source, t), (kind, step, micro))
                record.pp_wait += env.now - waited
            start = env.now
            if index == last_backward:
                ready, chains = self._start_chains(step, d, p, t, stage)
            segments = stage.forward if forward else stage.backward
            yield from self._pass(segments, stage, d, p, t, record, forward, ready if self.options.overlap else [])
            record.ops[(kind, micro)] = (start, env.now)
            target = p + 1 if forward else p - 1
            if 0 <= target < layout.pp:
                pp_comm.send(rank, layout.rank(d, target, t), (kind, step, micro), None, plan.activation_bytes)
        record.pipeline_end = env.now
        for event in ready:
            if not event.triggered:
                event.succeed()
        if chains:
            yield env.all_of(chains)
        record.end = env.now

    # --------------------------------------------------------------- passes
    def _pass(self, segments: list[Segment], stage: StagePlan, d, p, t, record: RankRecord, forward: bool, ready: list):
        env, layout, options = self.env, self.layout, self.options
        buckets = {}
        for j, bucket in enumerate(stage.buckets):
            buckets.setdefault(bucket.ready_after, []).append(j)
        gathers = self._gather_units(segments, stage, forward) if options.zero == 3 else []
        pending = self._start_gather(d, p, t, gathers[0]) if gathers else None
        unit = 0
        g, e = divmod(d, layout.ep)
        for index, segment in enumerate(segments):
            kind = segment.kind
            if kind == "compute":
                yield env.timeout(segment.value)
                record.compute += segment.value
            elif kind == "tp":
                began = env.now
                yield from self._collective("tp", layout.tp_group(d, p), t, options.algorithms["tp"], segment.value)
                record.tp += env.now - began
            elif kind == "ep":
                began = env.now
                yield from self._collective("ep", layout.ep_group(g, p, t), e, options.algorithms["ep"], segment.value)
                record.ep += env.now - began
            elif kind == "layer" and gathers:
                began = env.now
                if pending is not None:
                    yield pending
                record.zero += env.now - began
                unit += 1
                pending = self._start_gather(d, p, t, gathers[unit]) if unit < len(gathers) else None
            for j in buckets.get(index, ()) if ready else ():
                ready[j].succeed()

    @staticmethod
    def _gather_units(segments: list[Segment], stage: StagePlan, forward: bool) -> list[float]:
        """Parameters (per rank, unsharded) gathered before each layer of a pass; the first is gathered at its start.

        The embedding is gathered with the first layer of the forward (last of the
        backward), the LM head with the last layer of the forward (first of the backward).
        """
        layers = [int(s.value) for s in segments if s.kind == "layer"]
        units = [stage.layer_elements[layer][0] for layer in layers]
        if not units:
            return []
        embed, head = stage.layer_elements.get(-1, (0.0,))[0], stage.layer_elements.get(-2, (0.0,))[0]
        first, last = (0, -1) if forward else (-1, 0)
        units[first] += embed
        units[last] += head
        return units

    def _start_gather(self, d, p, t, elements: float):
        """Start the ZeRO-3 gather of ``elements`` parameters; an event that fires when it is done (or None)."""
        layout = self.layout
        if layout.dp == 1 or elements == 0:
            return None
        nbytes = elements * self.options.param_bytes
        return self.env.process(self._collective("zero", layout.dp_group(p, t), d, self.options.algorithms["all_gather"], nbytes))

    def _collective(self, context: str, ranks: list[int], me: int, algorithm: tuple[Algorithm, dict], nbytes: float):
        """One collective as rank ``me`` of ``ranks`` runs it (or launches every member of it)."""
        env, backend = self.env, self.backend
        algo, opts = algorithm
        mode = backend.mode(context)
        if mode == "own":
            yield from algo.run(backend.comm(context, ranks), me, None, nbytes, **opts)
            return
        if mode == "closed":
            yield env.timeout(backend.closed(context, ranks, algo, opts, nbytes))
            return
        comm = backend.comm(context, ranks)
        finish: dict = {}
        launched = [env.process(self._member(algo, opts, comm, i, nbytes, finish)) for i in backend.members_to_launch(context)]
        yield env.all_of(launched)
        times = list(finish.values())
        if max(times) - min(times) > 1e-12 * max(times):
            raise AggregationRejected(f"the {context} collective on ranks {ranks[:4]}... does not finish at once on every member", [context])

    def _member(self, algo: Algorithm, opts: dict, comm, index: int, nbytes: float, finish: dict):
        yield from algo.run(comm, index, None, nbytes, **opts)
        finish[index] = self.env.now

    # ------------------------------------------------------------- gradients
    def _start_chains(self, step: int, d, p, t, stage: StagePlan):
        """Bucket-ready events and the processes reducing the buckets of this rank's groups."""
        env, layout = self.env, self.layout
        ready = [env.event() for _ in stage.buckets]
        chains = []
        g, e = divmod(d, layout.ep)
        specs = [("dp", layout.dp_group(p, t), d, 0)]
        if layout.ep > 1 and stage.expert_elements() > 0:
            specs.append(("edp", layout.expert_dp_group(e, p, t), g, 1))
        for context, ranks, me, part in specs:
            if len(ranks) < 2:
                continue
            indices = [me] if self.backend.mode(context) == "own" else self.backend.members_to_launch(context)
            for index in indices:
                chains.append(env.process(self._chain(step, context, ranks, index, stage, ready, part)))
        return ready, chains

    def _chain(self, step: int, context: str, ranks: list[int], me: int, stage: StagePlan, ready: list, part: int):
        """Reduce the buckets of one group in order, as member ``me``."""
        options = self.options
        a = options.algorithms
        sizes = [(b.dense_elements, b.expert_elements)[part] for b in stage.buckets]
        for event, elements in zip(ready, sizes, strict=True):
            yield event
            if elements:
                algorithm = a["dp"] if options.zero == 0 else a["reduce_scatter"]
                yield from self._chain_collective(context, ranks, me, algorithm, elements * options.grad_bytes)
        if options.zero in (1, 2):
            for elements in sizes:
                if elements:
                    yield from self._chain_collective(context, ranks, me, a["all_gather"], elements * options.param_bytes)
        self.chain_end[step][(context, ranks[me])] = self.env.now

    def _chain_collective(self, context: str, ranks: list[int], me: int, algorithm: tuple[Algorithm, dict], nbytes: float):
        algo, opts = algorithm
        if self.backend.mode(context) == "closed":
            yield self.env.timeout(self.backend.closed(context, ranks, algo, opts, nbytes))
        else:
            yield from algo.run(self.backend.comm(context, ranks), me, None, nbytes, **opts)
