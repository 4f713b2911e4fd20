"""``simulate(scenario) -> Result``: build the topology, network, job and algorithm, run.

A pure function of the scenario: one root ``numpy.random.SeedSequence(seed)`` is split
into independent streams (dataset, sharding, initial parameters, routing, one batch
sampler per worker), so the same scenario gives bit-identical results in any process.
"""

from __future__ import annotations

import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

import netsim
from netsim.collectives import Communicator, get_algorithm
from netsim.collectives.gossip import mixing_matrix
from netsim.collectives.placement import place_ranks
from netsim.exceptions import ScenarioError, TopologyError
from netsim.faults import build_faults
from netsim.guards import TrackedEnvironment, run_guarded, steps_done
from netsim.network import make_network
from netsim.network.recorder import FlowRecorder
from netsim.results import Result
from netsim.scenario import Scenario, TopologySpec, load_scenario
from netsim.topology import Router, build_topology, from_file
from netsim.topology.registry import SCENARIO_KEYS
from netsim.trace import flows_frame, timeline_frame
from netsim.training import ComputeModel, make_dataset, make_model, make_optimizer, shard
from netsim.training.asp import start_asp
from netsim.training.buckets import plan_buckets
from netsim.training.compressed_exchange import Compression, check_compression, tensor_shapes
from netsim.training.compressed_sync import start_compressed_asp, start_compressed_local_sgd
from netsim.training.data import label_histograms
from netsim.training.gossip_sgd import start_gossip
from netsim.training.job import TrainingJob
from netsim.training.local_sgd import start_local_sgd
from netsim.training.schedules import ScheduledOptimizer, make_schedule
from netsim.training.sync import Exchange, start_bsp

__all__ = ["simulate", "build_graph", "build_job", "time_to_target", "label_table"]

DEFAULT_SSP_BOUND = 3
"""Staleness bound of ``training.sync = "ssp"`` when ``training.ssp_bound`` is not given."""

DEFAULT_LOCAL_STEPS = 4
"""Local steps between averages of ``training.sync = "local_sgd"`` when ``training.local_steps`` is not given."""

_STREAMS = ("dataset", "sharding", "init", "routing", "samplers", "compute", "compression", "network", "faults")
"""Seed streams, in spawn order (append new ones at the end: earlier streams keep their seeds)."""


def build_graph(spec: TopologySpec, base_dir: str | Path = ".") -> nx.Graph:
    """Build the topology a ``[topology]`` table describes (``file`` paths relative to ``base_dir``)."""
    if spec.kind == "file":
        path = Path(spec.path)
        if not path.is_absolute():
            path = Path(base_dir) / path
        return from_file(path)
    params: dict = {"hosts": spec.hosts, "bandwidth": spec.bandwidth, "latency": spec.latency}
    if spec.kind == "tree":
        for key in ("fanout", "hosts_per_leaf", "level_bandwidth", "oversubscription", "level_latency"):
            if getattr(spec, key) is not None:
                params[key] = getattr(spec, key)
    elif spec.kind in ("fat_tree", "torus"):
        key = "k" if spec.kind == "fat_tree" else "dims"
        if getattr(spec, key) is not None:
            params[key] = getattr(spec, key)
    elif spec.kind == "dumbbell":
        hosts = params.pop("hosts")
        params["hosts_left"], params["hosts_right"] = (hosts + 1) // 2, hosts // 2
        params["bottleneck_bandwidth"] = spec.bottleneck_bandwidth
        params["bottleneck_latency"] = spec.bottleneck_latency
    elif spec.kind in SCENARIO_KEYS:  # gpu_cluster, multi_dc, edge: their own keys, unchanged
        params = {key: getattr(spec, key) for key in SCENARIO_KEYS[spec.kind] if getattr(spec, key) is not None}
        if spec.datacenter is not None:
            params["datacenter"] = build_graph(spec.datacenter, base_dir)
    try:
        return build_topology(spec.kind, **params)
    except TopologyError as exc:
        raise TopologyError(f"topology ({spec.kind}): {exc}") from None


def build_job(scenario: Scenario, workers: int, streams: dict[str, np.random.SeedSequence]) -> TrainingJob:
    """Build the training job of ``scenario`` for ``workers`` data-parallel workers."""
    spec = scenario.training
    dataset_options = {
        key: getattr(spec, key) for key in ("test_fraction", "standardize", "context") if getattr(spec, key) is not None
    }
    dataset = make_dataset(
        spec.dataset,
        spec.samples,
        spec.features,
        spec.classes,
        np.random.default_rng(streams["dataset"]),
        **dataset_options,
    )
    model = make_model(
        spec.model,
        dataset.n_features,
        dataset.n_classes,
        hidden=spec.hidden,
        activation=spec.activation,
        embedding_dim=spec.embedding_dim,
    )
    labels = dataset.y_train if dataset.task == "classification" else None
    alpha = {"alpha": spec.dirichlet_alpha} if spec.dirichlet_alpha is not None else {}
    shards = shard(len(dataset.y_train), workers, spec.sharding, np.random.default_rng(streams["sharding"]), labels=labels, **alpha)
    smallest = min(len(s) for s in shards)
    if spec.batch_size > smallest:
        raise ScenarioError(
            f"training.batch_size = {spec.batch_size} exceeds the smallest shard ({smallest} samples "
            f"for {workers} workers); lower it or raise training.samples"
        )
    c = scenario.compute
    compute = ComputeModel(
        flops_per_second=c.rate,
        step_time=c.step_time,
        worker_rates=c.worker_rates,
        slowdown=c.slowdown,
        straggler=c.straggler,
    )
    compute.check_workers(workers)
    options = spec.optimizer_options()
    schedule = None
    if spec.lr_schedule is not None:
        schedule_options = {k: getattr(spec, k) for k in ("min_lr", "decay_every", "decay_factor") if getattr(spec, k) is not None}
        schedule = make_schedule(spec.lr_schedule, spec.lr, spec.warmup_steps or 0, spec.steps, **schedule_options)

    def new_optimizer():
        optimizer = make_optimizer(spec.optimizer, **options)
        return optimizer if schedule is None else ScheduledOptimizer(optimizer, schedule)

    return TrainingJob(
        model=model,
        dataset=dataset,
        shards=shards,
        batch_size=spec.batch_size,
        steps=spec.steps,
        compute=compute,
        make_optimizer=new_optimizer,
        initial_params=model.init_params(np.random.default_rng(streams["init"])),
        sampler_rngs=[np.random.default_rng(s) for s in streams["samplers"].spawn(workers)],
        compute_rngs=[np.random.default_rng(s) for s in streams["compute"].spawn(workers)],
        eval_every=spec.eval_every,
        clip_grad_norm=spec.clip_grad_norm,
        clip_norm_type=spec.clip_norm_type or 2.0,
        clip_weights=spec.clip_weights,
    )


def simulate(scenario: Scenario | str | Path, overrides=None, *, record: bool = False) -> Result:
    """Run one scenario and return its :class:`~netsim.results.Result`.

    Parameters
    ----------
    scenario : Scenario, str or Path
        A validated scenario, or the path of a scenario file.
    overrides : list of str or dict, optional
        Dotted-key overrides, applied when ``scenario`` is a path.
    record : bool
        Record every flow and every change of link rates (``Result.flows`` and
        ``Result.link_timeline``; used for traces). Costs time and memory.

    Raises
    ------
    ScenarioError, TopologyError
        If the scenario cannot be built.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        raise ValueError("overrides apply to scenario files; use scenario_from_dict for documents")
    if scenario.training.workload == "llm":  # size-only sharded LLM job (netsim.workload)
        from netsim.workload import simulate_llm

        return simulate_llm(scenario, record=record)
    wall_start = time.perf_counter()
    streams = dict(zip(_STREAMS, np.random.SeedSequence(scenario.seed).spawn(len(_STREAMS)), strict=True))

    graph = build_graph(scenario.topology, scenario.base_dir)
    hosts = list(graph.graph["hosts"])
    spec = scenario.communication
    sync = scenario.training.sync
    algorithm = get_algorithm("parameter_server" if sync in ("asp", "ssp") else spec.algorithm, "allreduce")
    servers = (spec.servers or 1) if algorithm.kind == "parameter_server" else 0
    colocated = bool(spec.colocated)
    workers = scenario.training.workers or len(hosts) - (0 if colocated else servers)
    placement = place_ranks(algorithm, hosts, workers, servers=servers, colocated=colocated)
    recorder = FlowRecorder() if record else None
    job = build_job(scenario, workers, streams)

    env = TrackedEnvironment()  # remembers its processes, to name stuck ones (netsim.guards)
    routing_seed = int(streams["routing"].generate_state(1)[0])
    router = Router(graph, mode=scenario.topology.routing, seed=routing_seed)
    network = make_network(
        scenario.network.model, env, graph, router, transport=scenario.network.build_transport(),
        seed=int(streams["network"].generate_state(1)[0]), **scenario.network.model_options(),
    )
    network.recorder = recorder
    comm = Communicator(env, network, placement)
    buckets = plan_buckets(job.model.tensors(), job.initial_params.itemsize, spec.bucket_size, spec.first_bucket_size)
    options = {k: v for k, v in spec.algorithm_options().items() if k not in ("servers", "colocated")}
    if algorithm.kind == "parameter_server" and "servers" in algorithm.options:
        options["servers"] = servers
    compression = None
    if scenario.training.compression is not None:
        compressor = scenario.training.compression.build()
        check_compression(compressor, sync, algorithm)
        compression = Compression(compressor, streams["compression"], tensor_shapes(job.model))
    exchange = Exchange(algorithm, buckets, spec.overlap, options, compression)
    faults = None
    if scenario.faults or scenario.training.checkpoint_every is not None:  # netsim.faults
        faults = build_faults(scenario, env, network, graph, comm, job, exchange, streams["faults"])
        log = faults.start_training(lambda: _start(scenario, env, comm, job, exchange))
        faults.arm(env.alive())
    else:
        log = _start(scenario, env, comm, job, exchange)

    def progress():
        return steps_done(log.worker_rows, workers), job.steps

    run_guarded(
        env,
        max_sim_time=scenario.run.max_sim_time,
        max_wall_time=scenario.run.max_wall_time,
        comm=comm,
        progress=progress if faults is None else faults.progress(progress),
        role=lambda rank: f"{'worker' if rank < workers else 'server'} {rank} on {comm.hosts[rank]}",
        wall_start=wall_start,
    )

    steps = pd.DataFrame(log.steps_table())
    if faults is not None:
        steps = faults.annotate(steps)
    worker_rows = pd.DataFrame(log.worker_rows).sort_values(["step", "worker"], kind="stable").reset_index(drop=True)
    links = pd.DataFrame(network.link_stats())
    evaluated = steps[steps["step"].isin(list(log.evals))]  # by step: a diverged run evaluates to NaN
    summary = {
        "name": scenario.name,
        "topology": scenario.topology.kind,
        "hosts": len(hosts),
        "workers": workers,
        "algorithm": algorithm.name,
        "sync": scenario.training.sync,
        "network_model": scenario.network.model,
        "steps": int(len(steps)),
        "sim_time_s": float(env.now),
        "mean_step_time_s": float(steps["duration_s"].mean()),
        "mean_compute_time_s": float(steps["compute_s"].mean()),
        "mean_comm_time_s": float(steps["comm_s"].mean()),
        "mean_comm_busy_time_s": float(steps["comm_busy_s"].mean()),
        **_compression_summary(steps),
        "buckets": len(buckets),
        "bytes_sent": float(network.bytes_sent),
        "model_bytes": job.model_bytes,
        "final_train_loss": float(steps["train_loss"].iloc[-1]),
        "final_loss": float(evaluated["test_loss"].iloc[-1]),
        "final_accuracy": float(evaluated["test_accuracy"].iloc[-1]),
        **time_to_target(steps, scenario.training.target_accuracy, scenario.training.target_loss),
        **(network.transport_summary() if scenario.network.reports_transport else {}),
        **(faults.summary() if faults is not None else {}),
        "seed": scenario.seed,
        "netsim_version": netsim.__version__,
        "wall_time_s": time.perf_counter() - wall_start,
    }
    shards = label_table(job) if job.dataset.task == "classification" else pd.DataFrame()
    flows = flows_frame(recorder) if recorder is not None else None
    timeline = timeline_frame(recorder) if recorder is not None else None
    fault_table = faults.log.frame() if faults is not None else None
    return Result(scenario.to_dict(), summary, steps, worker_rows, links, shards, flows, timeline, fault_table, getattr(log, "final_params", None))


def _start(scenario: Scenario, env, comm, job: TrainingJob, exchange: Exchange):
    """Start the processes of the scenario's synchronisation scheme; return its log."""
    sync = scenario.training.sync
    if sync == "bsp":
        return start_bsp(env, comm, job, exchange)
    if sync in ("asp", "ssp"):
        bound = scenario.training.ssp_bound if scenario.training.ssp_bound is not None else DEFAULT_SSP_BOUND
        bound = bound if sync == "ssp" else None
        start = start_asp if exchange.compression is None else start_compressed_asp
        return start(env, comm, job, exchange, ssp=bound)
    if sync == "local_sgd":
        period = scenario.training.local_steps if scenario.training.local_steps is not None else DEFAULT_LOCAL_STEPS
        start = start_local_sgd if exchange.compression is None else start_compressed_local_sgd
        return start(env, comm, job, exchange, period=period)
    mixing = scenario.communication.mixing or "ring"
    if not isinstance(mixing, str):  # a matrix: check it against the workers before any process runs
        try:
            mixing_matrix(job.workers, mixing)
        except ValueError as exc:
            raise ScenarioError(f"communication.mixing: {exc}") from None
    return start_gossip(env, comm, job, exchange, mixing=mixing)


def _compression_summary(steps: pd.DataFrame) -> dict:
    """Whole-run compression ratio (dense bytes over timed wire bytes), when compressing."""
    if "compression_ratio" not in steps:
        return {}
    return {"compression_ratio": float(steps["compression_ratio"].mean())}


def time_to_target(steps: pd.DataFrame, target_accuracy: float | None, target_loss: float | None) -> dict:
    """Simulated time and steps until the held-out metrics first reach their targets.

    Returns ``{"target_accuracy", "time_to_accuracy_s", "steps_to_accuracy"}`` (and the
    same for loss) for each target given; ``None`` where the target was never reached.
    Only evaluated steps count (``training.eval_every``); a step's time is its ``end_s``.
    """
    found: dict = {}
    evaluated = steps.dropna(subset=["test_loss"])
    for name, target, column, reached in (
        ("accuracy", target_accuracy, "test_accuracy", lambda v, t: v >= t),
        ("loss", target_loss, "test_loss", lambda v, t: v <= t),
    ):
        if target is None:
            continue
        hits = evaluated[reached(evaluated[column], target)]
        found[f"target_{name}"] = target
        found[f"time_to_{name}_s"] = float(hits["end_s"].iloc[0]) if len(hits) else None
        found[f"steps_to_{name}"] = int(hits["step"].iloc[0]) + 1 if len(hits) else None
    return found


def label_table(job: TrainingJob) -> pd.DataFrame:
    """Per-worker label histogram of the training shards: one row per worker, one column per class."""
    counts = label_histograms(job.shards, job.dataset.y_train, job.dataset.n_classes)
    table = pd.DataFrame(counts, columns=[f"class_{c}" for c in range(counts.shape[1])])
    table.insert(0, "worker", range(len(table)))
    return table
