"""Speed of the LLM workload at scale: wall time per simulated step.

Cases (size-only, flow model, ideal transport, every run through ``netsim.simulate``):

(a) GPT-3 175B on 1,024 A100 GPUs (128 DGX A100 nodes, InfiniBand HDR leaf-spine):
    dp 8 × tp 8 × pp 16, 1F1B, global batch 1,536 sequences (192 micro-batches).
    Target: at most 60 s of wall time per simulated step.
(b) a 4,096-GPU data-parallel allreduce: GPT-2 1.5B gradients (3.1 GB bf16, one bucket)
    on 512 DGX H100 nodes (InfiniBand NDR), ring allreduce over every GPU.
(c) cost against the work: case (b) on 512 .. 4,096 GPUs; prints the family flows
    simulated, the member flows they stand for and wall time per 1,000 family flows
    (roughly constant: the cost is linear in the flows simulated, and the families grow
    linearly with the GPUs: ``2(p − 1)`` ring steps of one family per GPU of a leaf).
(d) aggregated against per flow on a case small enough for both (7B-shaped, 64 GPUs):
    the same step time, and the speed-up.

Printed per case: aggregation level chosen, simulated step time, MFU, family flows
(transfers the aggregated simulation runs), member flows they stand for, wall time.
Nothing is asserted (the machine may be shared); compare with docs/llm.md.

Usage: ``python benchmarks/bench_llm.py [--quick] [--only a,b,c,d] [--steps N]``;
``--quick`` shrinks (a) to 16 micro-batches, (b) to 1,024 GPUs and (c) to 256 .. 1,024.
"""

from __future__ import annotations

import argparse
import time

import netsim
from netsim.scenario import scenario_from_dict


def gpt3(microbatches: int, steps: int = 1) -> dict:
    """Case (a): GPT-3 175B, dp 8 × tp 8 × pp 16 on 1,024 A100s."""
    return {
        "name": "bench_gpt3_1024",
        "topology": {"kind": "gpu_cluster", "nodes": 128, "node_type": "dgx_a100", "fabric": "ib_hdr"},
        "training": {"workload": "llm", "steps": steps},
        "workload": {"preset": "gpt3_175b", "device": "A100"},
        "parallel": {"dp": 8, "tp": 8, "pp": 16, "microbatches": microbatches},
    }


def dp_allreduce(gpus: int) -> dict:
    """Case (b): one ring allreduce of GPT-2 1.5B's gradients over ``gpus`` H100s."""
    return {
        "name": f"bench_dp_{gpus}",
        "topology": {"kind": "gpu_cluster", "nodes": gpus // 8, "node_type": "dgx_h100", "fabric": "ib_ndr"},
        "training": {"workload": "llm"},
        "workload": {"preset": "gpt2_1.5b", "device": "H100"},
        "parallel": {"bucket_size": 0, "overlap": False},
    }


def llama7b(aggregate: str) -> dict:
    """Case (d): a 7B-shaped model (8 layers) on 64 A100s, tp 4 × pp 2 × dp 8."""
    return {
        "name": "bench_7b_64",
        "topology": {"kind": "gpu_cluster", "nodes": 8, "node_type": "dgx_a100", "fabric": "ib_hdr", "nodes_per_leaf": 2},
        "training": {"workload": "llm"},
        "workload": {"preset": "llama2_7b", "layers": 8, "aggregate": aggregate},
        "parallel": {"tp": 4, "pp": 2, "microbatches": 8},
    }


def measure(document: dict):
    """Simulate; return (result, wall seconds, family flows, member flows)."""
    start = time.perf_counter()
    result = netsim.simulate(scenario_from_dict(document))
    wall = time.perf_counter() - start
    return result, wall, result.summary.get("family_flows"), result.summary.get("member_flows")


def show(label: str, result, wall: float, family, members) -> None:
    s = result.summary
    step = s["mean_step_time_s"]
    rate = f"{wall / family * 1e3:8.3f} s" if family else f"{'-':>10}"
    print(
        f"{label:<34}{s['workers']:>6}  {s['aggregation']:<34}{step:>10.4f} s{s['mfu']:>7.3f}"
        f"{family or 0:>11,}{members or 0:>15,}{wall / s['steps']:>9.2f} s{rate}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(a) with 16 micro-batches, (b) on 1,024 GPUs")
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated cases")
    parser.add_argument("--steps", type=int, default=1, help="steps simulated in (a)")
    args = parser.parse_args()
    cases = set(args.only.split(","))
    print(
        f"{'case':<34}{'GPUs':>6}  {'aggregation':<34}{'sim step':>12}{'MFU':>7}{'families':>11}"
        f"{'member flows':>15}{'wall/step':>11}{'/1k fam':>10}"
    )
    if "a" in cases:
        m = 16 if args.quick else 192
        show(f"(a) GPT-3 175B, m = {m}", *measure(gpt3(m, args.steps)))
    if "b" in cases:
        gpus = 1024 if args.quick else 4096
        show("(b) DP allreduce 3.1 GB", *measure(dp_allreduce(gpus)))
    if "c" in cases:
        for gpus in (256, 512, 1024) if args.quick else (512, 1024, 2048, 4096):
            show("(c) DP allreduce 3.1 GB", *measure(dp_allreduce(gpus)))
    if "d" in cases:
        fast = measure(llama7b("auto"))
        slow = measure(llama7b("off"))
        show("(d) 7B-shaped, aggregated", *fast)
        show("(d) 7B-shaped, per flow", *slow)
        a, b = fast[0].summary["mean_step_time_s"], slow[0].summary["mean_step_time_s"]
        print(f"    same step time: {abs(a - b) <= 1e-12 * b} (relative difference {abs(a - b) / b:.1e}); speed-up {slow[1] / fast[1]:.1f}x")


if __name__ == "__main__":
    main()
