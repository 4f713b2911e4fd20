"""Results of an LLM run: the step-time breakdown, throughput, MFU, per-rank rows, links.

Step time ``T`` is split exactly into ``compute + tp + ep + pp + dp + bubble`` from the
records of the representative ranks ``(0, p, 0)`` of every stage:

- the *reference stage* is the one busiest in operations (forward and backward passes);
  ``compute``, ``tp`` and ``ep`` are its compute time and the time its passes spend in
  tensor-parallel allreduces and expert all-to-alls (blocking in Megatron-LM);
- ``bubble`` = makespan of the schedule with the measured pass durations and free
  pipeline transfers (:func:`~netsim.workload.schedule.pipeline_timeline`) minus the
  reference stage's busy time;
- ``pp`` = end of the last backward pass in the simulation minus that makespan (what
  pipeline transfers add);
- ``dp`` = the rest of the step after the pipeline (gradient reduction not hidden by the
  backward pass) plus the time passes wait for ZeRO-3 parameter gathers.

MFU = model FLOPs of the step / (``T`` × GPUs × peak FLOP/s).
"""

from __future__ import annotations

import pandas as pd

from netsim.workload.schedule import pipeline_timeline

__all__ = ["report", "breakdown", "summary_rows"]

DIMENSIONS = ("tp", "pp", "dp", "ep")
"""Parallel dimensions reported separately (``edp`` and ``zero`` bytes count as ``dp``)."""


def breakdown(run, step: int) -> dict:
    """Seconds of step ``step``: ``duration, compute, tp, ep, pp, dp, bubble`` (they sum to ``duration``)."""
    plan, sim = run.plan, run.simulator
    layout = plan.layout
    records = [sim.records[step][(0, p, 0)] for p in range(layout.pp)]
    start = records[0].start
    duration = sim.step_ends[step] - start
    busy = [r.busy() for r in records]
    ref = max(range(layout.pp), key=lambda p: (busy[p], -p))
    m = plan.microbatches
    fwd = [[r.ops[("F", i)][1] - r.ops[("F", i)][0] for i in range(m)] for r in records]
    bwd = [[r.ops[("B", i)][1] - r.ops[("B", i)][0] for i in range(m)] for r in records]
    free = pipeline_timeline(run.options.schedule, layout.pp, m, fwd, bwd).makespan
    real = max(r.pipeline_end for r in records) - start
    chosen = records[ref]
    return {
        "duration": duration,
        "compute": chosen.compute,
        "tp": chosen.tp,
        "ep": chosen.ep,
        "pp": real - free,
        "dp": duration - real + chosen.zero,
        "bubble": free - busy[ref],
    }


def _per_dimension(counts: dict) -> dict:
    out = dict.fromkeys(DIMENSIONS, 0.0)
    for context, value in counts.items():
        out[{"edp": "dp", "zero": "dp"}.get(context, context)] += value
    return out


def report(run) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(summary, steps, workers, links)`` of a finished :class:`~netsim.workload.run.JobRun`."""
    plan, sim = run.plan, run.simulator
    layout, model, device = plan.layout, plan.model, plan.device
    world = layout.world
    flops = plan.model_flops()
    rows = []
    before = dict.fromkeys(DIMENSIONS, 0.0)
    for step in range(len(sim.step_ends)):
        parts = breakdown(run, step)
        duration = parts["duration"]
        cumulative = _per_dimension(sim.step_bytes[step])
        sent = {k: cumulative[k] - before[k] for k in DIMENSIONS}
        before = cumulative
        comm = parts["tp"] + parts["ep"] + parts["pp"] + parts["dp"]
        rows.append(
            {
                "step": step,
                "start_s": sim.step_ends[step] - duration,
                "end_s": sim.step_ends[step],
                "duration_s": duration,
                "compute_s": parts["compute"],
                "comm_s": comm,
                "tp_s": parts["tp"],
                "pp_s": parts["pp"],
                "dp_s": parts["dp"],
                "ep_s": parts["ep"],
                "bubble_s": parts["bubble"],
                "tokens_per_s": plan.tokens_per_step / duration,
                "mfu": flops / (duration * world * device.peak_flops),
                "bytes_sent": sum(sent.values()),
                **{f"bytes_{k}": v for k, v in sent.items()},
            }
        )
    steps = pd.DataFrame(rows)
    mean = steps.mean(numeric_only=True)
    per_gpu = {f"bytes_per_gpu_{k}": float(mean[f"bytes_{k}"]) / world for k in DIMENSIONS}
    parallel = {"dp": layout.dp, "tp": layout.tp, "pp": layout.pp, "ep": layout.ep}
    summary = {
        "algorithm": run.options.algorithms["dp"][0].name,
        "parameters": model.parameters(),
        **parallel,
        "zero": run.options.zero,
        "schedule": run.options.schedule,
        "microbatches": plan.microbatches,
        "global_batch": plan.global_batch,
        "device": device.name,
        "aggregation": run.level.describe() if run.level is not None else "none",
        "steps": int(len(steps)),
        "sim_time_s": float(run.env.now),
        "mean_step_time_s": float(mean["duration_s"]),
        "mean_compute_time_s": float(mean["compute_s"]),
        "mean_comm_time_s": float(mean["comm_s"]),
        **{f"mean_{k}_time_s": float(mean[f"{k}_s"]) for k in ("tp", "pp", "dp", "ep", "bubble")},
        "bubble_fraction": float(mean["bubble_s"] / mean["duration_s"]),
        "tokens_per_s": float(plan.tokens_per_step / mean["duration_s"]),
        "mfu": float(flops / (mean["duration_s"] * world * device.peak_flops)),
        "model_flops_per_step": flops,
        "bytes_sent": float(steps["bytes_sent"].sum()),
        "family_flows": run.backend.flow_counts()[0],
        "member_flows": run.backend.flow_counts()[1],
        **per_gpu,
        "model_bytes": model.parameters() * run.options.param_bytes,
    }
    workers = _workers(run)
    links = pd.DataFrame(run.backend.link_stats())
    return summary, steps, workers, links


def _workers(run) -> pd.DataFrame:
    """One row per step and rank (a rank that did not run gets the record of the rank standing for it)."""
    sim, layout = run.simulator, run.plan.layout
    kd, kt = len(sim.d_sim), len(sim.t_sim)
    rows = []
    before = 0.0
    for step, records in enumerate(sim.records):
        chains = sim.chain_end[step]
        sent = sim.step_rank_bytes[step] - before
        before = sim.step_rank_bytes[step]
        for rank in range(layout.world):
            d, p, t = layout.coords(rank)
            rd, rt = d % kd, t % kt
            record = records[(rd, p, rt)]
            end = record.pipeline_end
            for context in ("dp", "edp"):
                # The chain member standing for this rank: itself (every member launched),
                # its image among the running replicas, the expert group's first member, or
                # the group's first member (a closed form runs one chain).
                for cd in (d, rd, rd - rd % layout.ep, 0):
                    value = chains.get((context, layout.rank(cd, p, rt)))
                    if value is not None:
                        end = max(end, value)
                        break
            rows.append(
                {
                    "step": step,
                    "worker": rank,
                    "host": layout.hosts[rank],
                    "stage": p,
                    "replica": d,
                    "tensor_rank": t,
                    "start_s": record.start,
                    "compute_s": record.compute,
                    "comm_s": end - record.start - record.compute,
                    "end_s": end,
                    "bytes_sent": float(sent[rank]),
                }
            )
    return pd.DataFrame(rows)


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """``(label, value)`` rows of an LLM run's summary, for ``netsim run``'s table."""
    from netsim.units import format_size, format_time

    step = summary["mean_step_time_s"]
    parts = ", ".join(
        f"{name} {format_time(summary[f'mean_{key}_time_s'], 4)}"
        for name, key in (("TP", "tp"), ("PP", "pp"), ("DP", "dp"), ("EP", "ep"))
    )
    per_gpu = ", ".join(f"{k.upper()} {format_size(summary[f'bytes_per_gpu_{k}'], 4)}" for k in ("tp", "pp", "dp", "ep"))
    return [
        ("topology", f"{summary['topology']}, {summary['hosts']} hosts, {summary['workers']} GPUs"),
        ("model", f"{summary['parameters'] / 1e9:.2f}B parameters on {summary['device']}"),
        (
            "layout",
            f"dp {summary['dp']} × tp {summary['tp']} × pp {summary['pp']}, ep {summary['ep']}, ZeRO {summary['zero']}, "
            f"{summary['schedule']}, {summary['microbatches']} micro-batches",
        ),
        ("aggregation", f"{summary['aggregation']} ({summary['family_flows']:,} flows for {summary['member_flows']:,})"),
        ("steps", str(summary["steps"])),
        ("mean step time", format_time(step, 6)),
        ("  compute", format_time(summary["mean_compute_time_s"], 6)),
        ("  exposed communication", f"{format_time(summary['mean_comm_time_s'], 6)} ({parts})"),
        ("  pipeline bubble", f"{format_time(summary['mean_bubble_time_s'], 6)} ({summary['bubble_fraction']:.3f} of the step)"),
        ("tokens/s", f"{summary['tokens_per_s']:,.0f}"),
        ("MFU", f"{summary['mfu']:.3f}"),
        ("bytes per GPU per step", per_gpu),
        ("seed", str(summary["seed"])),
        ("wall time", f"{summary['wall_time_s']:.3f} s"),
    ]
