"""``simulate_llm(scenario) -> Result``: build, choose the aggregation, run, report.

:func:`build_job` turns an LLM scenario into a :class:`~netsim.workload.plan.JobPlan` and
:class:`~netsim.workload.step.StepOptions`; :func:`run_job` simulates it on a graph at an
aggregation level; :func:`simulate_llm` tries the levels from the coarsest
(:func:`aggregation_levels`) and keeps the first one proven exact, falling back to per-flow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import simpy

import netsim
from netsim.collectives import get_algorithm
from netsim.exceptions import ScenarioError
from netsim.guards import TrackedEnvironment, run_guarded
from netsim.network import make_network
from netsim.network.recorder import FlowRecorder
from netsim.results import Result
from netsim.topology import Router
from netsim.transport import transport_from_tables
from netsim.workload.backends import (
    AggregatedBackend,
    Aggregation,
    AggregationRejected,
    ClosedForm,
    PerFlowBackend,
)
from netsim.workload.layout import make_layout
from netsim.workload.plan import JobPlan, plan_job
from netsim.workload.report import report
from netsim.workload.spec import ParallelSpec
from netsim.workload.step import StepOptions, StepSimulator

__all__ = ["simulate_llm", "build_job", "run_job", "aggregation_levels", "find_level", "JobRun"]


@dataclass
class JobRun:
    """A finished simulation of a job: its simulator, backend and environment."""

    plan: JobPlan
    options: StepOptions
    simulator: StepSimulator
    backend: object
    env: simpy.Environment
    level: Aggregation | None
    recorder: FlowRecorder | None = None


def build_job(scenario, hosts) -> tuple[JobPlan, StepOptions]:
    """The plan and options of an LLM scenario on the topology's ``hosts``.

    Raises
    ------
    ScenarioError
        If the parallel layout does not fit the hosts or the batch.
    """
    workload = scenario.workload
    parallel = scenario.parallel or ParallelSpec()
    layout = make_layout(hosts, parallel.dp, parallel.pp, parallel.tp, parallel.ep, parallel.order, parallel.placement)
    try:
        microbatches = parallel.microbatches_for(layout.dp)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    plan = plan_job(
        workload.model(),
        workload.device_spec(),
        layout,
        microbatches,
        parallel.micro_batch,
        activation_bytes=workload.activation_bytes,
        bucket_size=parallel.bucket_size,
        grad_bytes=workload.grad_bytes,
    )
    names = {
        "tp": (parallel.tp_algorithm, "allreduce"),
        "dp": (parallel.dp_algorithm, "allreduce"),
        "ep": (parallel.ep_algorithm, "all_to_all"),
        "reduce_scatter": (parallel.reduce_scatter_algorithm, "reduce_scatter"),
        "all_gather": (parallel.all_gather_algorithm, "all_gather"),
    }
    algorithms = {key: (get_algorithm(name, op, field=f"parallel.{key}_algorithm"), {}) for key, (name, op) in names.items()}
    options = StepOptions(
        schedule=parallel.schedule,
        zero=parallel.zero,
        algorithms=algorithms,
        overlap=parallel.overlap,
        param_bytes=workload.param_bytes,
        grad_bytes=workload.grad_bytes,
    )
    return plan, options


def _divisors(n: int) -> list[int]:
    """Steps to try along an axis of ``n`` ranks: its proper divisors (1 for a single rank)."""
    return [k for k in range(1, n) if n % k == 0] or [1]


def aggregation_levels(dp: int, tp: int = 1) -> list[Aggregation]:
    """Every aggregation level (replica step, tensor step), coarsest first (per flow left out).

    :func:`find_level` walks them, guided by what each rejection names.
    """
    levels = [Aggregation(d, t) for d in _divisors(dp) + [None] for t in _divisors(tp) + [None]]
    return levels[:-1]


def find_level(dp: int, tp: int, attempt):
    """The result of ``attempt(level)`` for the coarsest level it accepts, or ``None`` (per flow).

    Starts with one representative for all replicas and all tensor indices. ``attempt``
    raises :class:`AggregationRejected` naming the contexts that were not symmetric; the
    step of their axis is made finer (the next divisor, then none: every rank runs):
    replicas for data-parallel and expert contexts, tensor indices for tensor-parallel
    ones, both for pipeline transfers. If the walk ends at per flow, each axis is tried
    alone (its steps from the coarsest).
    """
    choices = {"d": _divisors(dp) + [None], "t": _divisors(tp) + [None]}
    index = {"d": 0, "t": 0}
    axes_of = {"tp": ("t",), "pp": ("d", "t"), "dp": ("d",), "zero": ("d",), "edp": ("d",), "ep": ("d",)}
    tried = set()
    while True:
        kd, kt = choices["d"][index["d"]], choices["t"][index["t"]]
        if kd is None and kt is None:
            break
        tried.add((kd, kt))
        try:
            return attempt(Aggregation(kd, kt))
        except AggregationRejected as exc:
            movable = [a for a in ("d", "t") if index[a] + 1 < len(choices[a])]
            named = [a for c in exc.contexts for a in axes_of.get(c, ()) if a in movable]
            for axis in dict.fromkeys(named or movable[:1]):
                index[axis] += 1
    # The walk made both steps finer together; one axis alone may still aggregate.
    for level in [(kd, None) for kd in choices["d"][:-1]] + [(None, kt) for kt in choices["t"][:-1]]:
        if level not in tried:
            try:
                return attempt(Aggregation(*level))
            except AggregationRejected:
                continue
    return None


def run_job(
    graph,
    router,
    plan: JobPlan,
    options: StepOptions,
    steps: int,
    level: Aggregation | None,
    *,
    network_model: str = "flow",
    network_options: dict | None = None,
    record: bool = False,
    max_sim_time: float | None = None,
    max_wall_time: float | None = None,
    wall_start: float | None = None,
    analysis=None,
    closed_form=None,
) -> JobRun:
    """Simulate ``steps`` steps at aggregation ``level`` (``None``: per flow on ``network_model``).

    ``network_options`` go to :func:`~netsim.network.make_network` (transport, seed, ...) of
    the per-flow run; ``record`` attaches a flow recorder to it (``JobRun.recorder``).

    Raises
    ------
    AggregationRejected
        If ``level`` is not exact for this job (before or while it runs).
    """
    env = TrackedEnvironment()
    groups = StepSimulator.groups(plan, options)
    if level is None:
        network = make_network(network_model, env, graph, router, **(network_options or {}))
        recorder = network.recorder = FlowRecorder() if record else None
        backend = PerFlowBackend(env, network, plan.layout)
    else:
        recorder = None
        backend = AggregatedBackend(
            env,
            graph,
            router,
            plan.layout,
            level,
            groups,
            StepSimulator.algorithms(options),
            StepSimulator.pp_pairs(plan),
            analysis=analysis,
            closed_form=closed_form,
        )
    simulator = StepSimulator(env, plan, options, backend)
    simulator.run(steps)
    run_guarded(
        env,
        max_sim_time=max_sim_time,
        max_wall_time=max_wall_time,
        comm=backend.pp,
        progress=lambda: (simulator.steps_done, steps),
        wall_start=wall_start,
    )
    return JobRun(plan, options, simulator, backend, env, level, recorder)


def simulate_llm(scenario, *, record: bool = False) -> Result:
    """Run an LLM scenario (``training.workload = "llm"``) and return its :class:`~netsim.results.Result`.

    ``training.steps`` steps (default 1: every step of a size-only job is the same).

    Raises
    ------
    ScenarioError
        If the job does not fit the topology. ``record`` (flows and link timelines for
        traces) runs per flow.
    """
    from netsim.runner import (  # the math runner's seed streams: same routing for the same seed
        _STREAMS,
        build_graph,
    )

    wall_start = time.perf_counter()
    streams = dict(zip(_STREAMS, np.random.SeedSequence(scenario.seed).spawn(len(_STREAMS)), strict=True))
    graph = build_graph(scenario.topology, scenario.base_dir)
    hosts = list(graph.graph["hosts"])
    plan, options = build_job(scenario, hosts)
    router = Router(graph, mode=scenario.topology.routing, seed=int(streams["routing"].generate_state(1)[0]))
    steps = scenario.training.steps if "steps" in scenario.training.model_fields_set else 1
    guards = {"max_sim_time": scenario.run.max_sim_time, "max_wall_time": scenario.run.max_wall_time, "wall_start": wall_start}
    network = scenario.network
    transport = network.build_transport()
    plain = network.model == "flow" and transport == transport_from_tables("ideal") and network.loss_rate == 0
    run = None
    if scenario.workload.aggregate == "auto" and plain and not record:
        analysis = make_network("flow", simpy.Environment(), graph, router)
        closed_form = ClosedForm(graph, router, analysis)
        layout = plan.layout
        run = find_level(
            layout.dp,
            layout.tp,
            lambda level: run_job(graph, router, plan, options, steps, level, analysis=analysis, closed_form=closed_form, **guards),
        )
    if run is None:
        seed = int(streams["network"].generate_state(1)[0]) if "network" in streams else 0
        options_ = {"transport": transport, "seed": seed, **network.model_options()}
        run = run_job(graph, router, plan, options, steps, None, network_model=network.model, network_options=options_, record=record, **guards)
    summary, steps_frame, workers, links = report(run)
    summary = {
        "name": scenario.name,
        "topology": scenario.topology.kind,
        "hosts": len(hosts),
        "workers": plan.layout.world,
        "workload": "llm",
        "network_model": scenario.network.model,
        **summary,
        "seed": scenario.seed,
        "netsim_version": netsim.__version__,
        "wall_time_s": time.perf_counter() - wall_start,
    }
    flows = timeline = None
    if run.recorder is not None:
        from netsim.trace import flows_frame, timeline_frame

        flows, timeline = flows_frame(run.recorder), timeline_frame(run.recorder)
    return Result(scenario.to_dict(), summary, steps_frame, workers, links, flows=flows, link_timeline=timeline)
