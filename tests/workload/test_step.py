"""The simulated step against closed forms: bubble, MFU, tensor-parallel time, placement."""

import networkx as nx
import numpy as np
import pytest

from netsim.workload import Device, Transformer, bubble_fraction
from tests.workload.helpers import LAT, NVLINK, best, cluster, options, plan, run

MODEL = Transformer(layers=8, hidden=256, seq_len=128, vocab=0, heads=4)


def free_network(hosts):
    """A star with (practically) infinite bandwidth and no latency: communication is free."""
    names = [f"h{i}" for i in range(hosts)]
    g = nx.Graph(hosts=names)
    g.add_nodes_from(names, kind="host")
    g.add_node("s", kind="switch")
    g.add_edges_from(((h, "s") for h in names), bandwidth=1e30, latency=0.0)
    return g


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize(("pp", "m"), [(2, 1), (2, 4), (4, 3), (4, 8), (8, 8)])
def test_pipeline_bubble_with_uniform_stages_and_free_communication(schedule, pp, m):
    g = free_network(pp)
    job = plan(g, MODEL, pp=pp, m=m)
    for result in (run(g, job, options(schedule=schedule)), best(g, job, options(schedule=schedule))):
        s = result[1]
        assert s["bubble_fraction"] == pytest.approx(bubble_fraction(pp, m), rel=1e-12)
        compute = m * job.stages[0].compute_seconds()
        assert s["mean_step_time_s"] == pytest.approx(compute * (m + pp - 1) / m, rel=1e-12)


@pytest.mark.parametrize("tp", [1, 2, 4])
def test_mfu_equals_kernel_efficiency_without_communication_or_bubble(tp):
    g = free_network(tp)
    device = Device("test", 100e12, 0.55)
    job = plan(g, MODEL.with_changes(vocab=500), tp=tp, m=3, device=device)
    s = best(g, job, options())[1]
    assert s["mfu"] == pytest.approx(0.55, rel=1e-12)
    assert s["tokens_per_s"] == pytest.approx(3 * 128 / s["mean_step_time_s"], rel=1e-12)


def test_tensor_parallel_allreduce_on_nvlink_is_the_ring_formula():
    """TP inside one NVSwitch node: 2(p−1)α + 2((p−1)/p)nβ per allreduce, α = two NVLink hops."""
    tp, m = 4, 2
    g = cluster(nodes=1, gpus=tp)
    job = plan(g, MODEL, tp=tp, m=m)
    n = 128 * 256 * 2
    ring = 2 * (tp - 1) * 2 * LAT + 2 * (tp - 1) / tp * n / NVLINK
    aggregated = best(g, job, options())
    assert "tp" in aggregated[0].backend.closed_contexts
    for result in (run(g, job, options()), aggregated):
        assert result[1]["mean_tp_time_s"] == pytest.approx(m * MODEL.layers * 4 * ring, rel=1e-12)


def _link_bytes(links, kind):
    names = links["src"].astype(str)
    fabric = names.str.startswith("leaf") | links["dst"].astype(str).str.startswith("leaf")
    return links.loc[fabric if kind == "fabric" else ~fabric, "bytes"].sum()


def test_tensor_parallel_traffic_stays_inside_nodes():
    g = cluster(nodes=2, gpus=4)
    job = plan(g, MODEL, tp=4, m=2)
    r, s, _, _, links = best(g, job, options())
    world = job.layout.world
    assert _link_bytes(links, "fabric") == pytest.approx(2 * s["bytes_per_gpu_dp"] * world, rel=1e-12)  # host->leaf->host
    assert _link_bytes(links, "nvlink") == pytest.approx(2 * s["bytes_per_gpu_tp"] * world, rel=1e-12)


def test_tensor_parallel_wider_than_a_node_crosses_the_fabric_and_slows_the_step():
    inside = cluster(nodes=2, gpus=4)
    across = cluster(nodes=4, gpus=2, nodes_per_leaf=2)
    fast = best(inside, plan(inside, MODEL, tp=4, m=2, micro_batch=16), options())
    slow = best(across, plan(across, MODEL, tp=4, m=2, micro_batch=16), options())
    assert fast[1]["mean_compute_time_s"] == slow[1]["mean_compute_time_s"]
    # 1 MB allreduces: on NVLink 6(α + (n/4)/B_nvlink); half the ring hops on 8x slower NICs
    # give about 3(2α + (n/4)(1/B_nvlink + 1/B_nic)), 1.75 times as long.
    assert slow[1]["mean_tp_time_s"] > 1.5 * fast[1]["mean_tp_time_s"]
    assert slow[1]["mean_step_time_s"] > fast[1]["mean_step_time_s"]
    tp_on_fabric = _link_bytes(slow[4], "fabric") - 2 * slow[1]["bytes_per_gpu_dp"] * 8
    assert tp_on_fabric > 0


def test_overlap_hides_gradient_reduction_behind_the_backward_pass():
    g = cluster(nodes=2, gpus=2, nic=5e9)
    job = plan(g, MODEL, m=1)
    hidden = best(g, job, options(overlap=True))[1]
    exposed = best(g, job, options(overlap=False))[1]
    assert hidden["mean_dp_time_s"] < exposed["mean_dp_time_s"]
    assert hidden["bytes_per_gpu_dp"] == exposed["bytes_per_gpu_dp"]


def test_breakdown_sums_to_the_step_and_steps_repeat():
    g = cluster(nodes=4, gpus=4, nodes_per_leaf=2)
    job = plan(g, MODEL.with_changes(vocab=1000), pp=2, tp=2, m=4)
    _, s, steps, workers, _ = best(g, job, options(), steps=3)
    parts = steps[["compute_s", "tp_s", "ep_s", "pp_s", "dp_s", "bubble_s"]].sum(axis=1)
    assert np.allclose(parts, steps["duration_s"], rtol=1e-12)
    assert np.allclose(steps["duration_s"], steps["duration_s"].iloc[0], rtol=1e-12)
    assert steps["start_s"].iloc[1] == steps["end_s"].iloc[0]
    assert len(workers) == 3 * 16 and workers.groupby("step")["end_s"].max().tolist() == steps["end_s"].tolist()
    assert s["mean_comm_time_s"] == pytest.approx(s["mean_tp_time_s"] + s["mean_pp_time_s"] + s["mean_dp_time_s"], rel=1e-12)
