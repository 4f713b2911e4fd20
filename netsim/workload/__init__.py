"""Size-only LLM training workloads: sharded transformers on thousands of GPUs.

``training.workload = "llm"`` replaces the NumPy training job by a size-only transformer
(:mod:`~netsim.workload.model`: presets GPT-2 1.5B to GPT-3 175B and a mixture of experts,
or any shape) on a device (:mod:`~netsim.workload.device`: A100, H100), sharded by a
parallel layout (:mod:`~netsim.workload.layout`: data, tensor, pipeline and expert
parallelism, ZeRO 0-3) whose communication is generated per step
(:mod:`~netsim.workload.plan`, :mod:`~netsim.workload.step`) under a pipeline schedule
(:mod:`~netsim.workload.schedule`: GPipe, 1F1B). Large jobs are simulated by symmetry
aggregation proven exact before use (:mod:`~netsim.workload.backends`,
:mod:`~netsim.workload.symmetry`, :mod:`~netsim.workload.fluid`). See docs/llm.md.
"""

from netsim.workload.backends import Aggregation, AggregationRejected
from netsim.workload.device import DEVICES, Device
from netsim.workload.layout import Layout, make_layout
from netsim.workload.model import PRESET_NOTES, PRESETS, Transformer
from netsim.workload.plan import JobPlan, plan_job
from netsim.workload.run import aggregation_levels, build_job, find_level, run_job, simulate_llm
from netsim.workload.schedule import SCHEDULES, bubble_fraction, pipeline_timeline, stage_ops
from netsim.workload.spec import ParallelSpec, WorkloadSpec

__all__ = [
    "Aggregation",
    "AggregationRejected",
    "DEVICES",
    "Device",
    "JobPlan",
    "Layout",
    "ParallelSpec",
    "PRESETS",
    "PRESET_NOTES",
    "SCHEDULES",
    "Transformer",
    "WorkloadSpec",
    "aggregation_levels",
    "find_level",
    "bubble_fraction",
    "build_job",
    "make_layout",
    "pipeline_timeline",
    "plan_job",
    "run_job",
    "simulate_llm",
    "stage_ops",
]
