"""Aggregated and per-flow simulations agree exactly on small cases.

Each case runs the reference (every rank a process, every message a flow of the flow
model) and the coarsest aggregation the backend proves exact, and compares step ends,
every rank's end, every link's bytes, busy time and flow count, and the bytes per
dimension, to 1e-12. The cases are chosen so that each mechanism is exercised: closed
forms on private links, families over replicas and tensor ranks, cyclic steps inside
rings, ZeRO, experts, GPipe, several steps.
"""

import numpy as np
import pytest

from netsim.workload import Aggregation, AggregationRejected, Transformer
from tests.workload.helpers import best, cluster, options, plan, run

MODEL = Transformer(layers=4, hidden=256, seq_len=128, vocab=1000, heads=4)
MOE = MODEL.with_changes(experts=4, top_k=2, moe_every=2)

CASES = {
    "tp2-pp2-dp4": (dict(nodes=4, gpus=4, nodes_per_leaf=2), MODEL, dict(pp=2, tp=2, m=4), {}),
    "tp-closed-zero1": (dict(nodes=4, gpus=4, nodes_per_leaf=2), MODEL, dict(pp=2, tp=4, m=3), dict(zero=1)),
    "zero3-two-spines": (dict(nodes=4, gpus=4, nodes_per_leaf=2, spines=2), MODEL, dict(pp=2, m=3), dict(zero=3)),
    "gpipe-no-overlap": (dict(nodes=4, gpus=4, nodes_per_leaf=1), MODEL, dict(pp=4, m=5), dict(schedule="gpipe", overlap=False)),
    "experts": (dict(nodes=2, gpus=4), MOE, dict(ep=4, m=2), {}),
    "experts-tp": (dict(nodes=4, gpus=4, nodes_per_leaf=2), MOE, dict(ep=2, tp=2, m=2), dict(zero=2)),
    "pure-dp-ring": (dict(nodes=4, gpus=4, nodes_per_leaf=2), MODEL, dict(m=2), {}),
    "tp-across-nodes": (dict(nodes=4, gpus=2, nodes_per_leaf=2), MODEL, dict(tp=4, m=2), {}),
    "tp-launch": (dict(nodes=4, gpus=2, nodes_per_leaf=2), MODEL, dict(tp=4, m=2), dict(tp="recursive_doubling")),
    "dp-launch": (dict(nodes=2, gpus=4), MODEL, dict(pp=2, tp=2, m=2, order=("tp", "dp", "pp")), dict(dp="recursive_doubling")),
    "dp-closed": (dict(nodes=1, gpus=4), MODEL, dict(m=2), dict(zero=1)),
}


def _close(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.allclose(a, b, rtol=1e-12, atol=1e-12 * max(np.abs(b).max(), 1e-300))


@pytest.mark.parametrize("name", sorted(CASES))
def test_aggregated_equals_per_flow(name):
    shape, model, layout, opts = CASES[name]
    g = cluster(**shape)
    job = plan(g, model, **layout)
    o = options(**opts)
    _, s0, st0, w0, l0 = run(g, job, o, steps=2)
    agg, s1, st1, w1, l1 = best(g, job, o, steps=2)
    assert agg.level is not None
    assert _close(st1["end_s"], st0["end_s"])
    for key in ("compute_s", "tp_s", "pp_s", "dp_s", "ep_s", "bubble_s"):
        assert np.allclose(st1[key], st0[key], rtol=0, atol=1e-12 * st0["duration_s"].max()), key
    assert _close(w1["end_s"], w0["end_s"])
    assert _close(w1["bytes_sent"], w0["bytes_sent"])  # every rank's bytes, ranks that did not run included
    assert (l1[["src", "dst"]].values == l0[["src", "dst"]].values).all()
    assert _close(l1["bytes"], l0["bytes"])
    assert _close(l1["busy_time"], l0["busy_time"])
    assert (l1["flows"].values == l0["flows"].values).all()
    for key in ("bytes_per_gpu_tp", "bytes_per_gpu_pp", "bytes_per_gpu_dp", "bytes_per_gpu_ep"):
        assert s1[key] == pytest.approx(s0[key], rel=1e-12, abs=0), key


def test_each_mechanism_is_used():
    """The cases above do exercise closed forms, cyclic ring steps and both families."""

    def level(name):
        shape, model, layout, opts = CASES[name]
        g = cluster(**shape)
        return best(g, plan(g, model, **layout), options(**opts))[0]

    closed = level("tp-closed-zero1")
    assert "tp" in closed.backend.closed_contexts and closed.level.tensor_step == 1
    ring = level("pure-dp-ring")
    assert ring.level.replica_step == 8  # 8 GPUs under a leaf: shifting by a leaf is a symmetry
    buckets = len(ring.plan.stages[0].buckets)
    assert ring.backend.fluid.transfers == buckets * 8 * 2 * 15  # 8 of the 16 ring positions run
    assert level("dp-launch").backend.mode("dp") == "launch"
    assert level("dp-closed").backend.mode("dp") == "closed"
    across = level("tp-across-nodes")
    assert "tp" not in across.backend.closed_contexts and across.level.tensor_step == 2  # one node of the ring


def test_asymmetric_routes_are_rejected():
    """With two spines and ECMP, the images of a transfer take different spines: not equitable."""
    from netsim.topology import Router
    from netsim.workload.run import run_job

    g = cluster(nodes=4, gpus=2, nodes_per_leaf=1, spines=2)
    job = plan(g, MODEL, m=1)
    router = Router(g, mode="ecmp", seed=3)
    with pytest.raises(AggregationRejected, match="not symmetric"):
        run_job(g, router, job, options(), 1, Aggregation(1, None))


def test_a_step_that_does_not_divide_is_rejected():
    g = cluster(nodes=2, gpus=2)
    job = plan(g, MODEL, m=1)
    with pytest.raises(AggregationRejected, match="every 3-th member"):
        run(g, job, options(), Aggregation(3, None))
    with pytest.raises(AggregationRejected, match="recursive_doubling"):
        run(g, job, options(dp="recursive_doubling"), Aggregation(2, None))
