"""Per-step communication volume of every parallel dimension equals the hand-computed value.

Ring algorithms: an allreduce of n bytes makes every rank send 2(p−1)/p·n, a reduce-scatter
or an all-gather (p−1)/p·n, a pairwise all-to-all (p−1)/p of its vector. Volumes are
checked per GPU (all bytes of the step / GPUs), per flow and aggregated.
"""

import pytest

from netsim.workload import Transformer
from tests.workload.helpers import best, cluster, options, plan, run

MODEL = Transformer(layers=4, hidden=64, seq_len=32, vocab=100, heads=4)


def _both(graph, job, opts):
    """Summaries of the per-flow run and of the coarsest aggregated run."""
    return run(graph, job, opts)[1], best(graph, job, opts)[1]


def test_data_parallel_ring_allreduce_sends_2_p_minus_1_over_p_of_the_bf16_gradients():
    g = cluster(nodes=2, gpus=2)
    job = plan(g, MODEL, dp=4)
    grads = 2 * MODEL.parameters()  # bf16
    for s in _both(g, job, options()):
        assert s["bytes_per_gpu_dp"] == pytest.approx(2 * 3 / 4 * grads, rel=1e-12)
        assert s["bytes_per_gpu_tp"] == s["bytes_per_gpu_pp"] == 0


@pytest.mark.parametrize("zero", [1, 2])
def test_zero_1_and_2_move_what_an_allreduce_moves(zero):
    g = cluster(nodes=2, gpus=2)
    job = plan(g, MODEL, dp=4)
    for s in _both(g, job, options(zero=zero)):
        assert s["bytes_per_gpu_dp"] == pytest.approx(2 * 3 / 4 * 2 * MODEL.parameters(), rel=1e-12)


def test_zero_3_moves_one_and_a_half_times_the_data_parallel_volume():
    """One micro-batch: parameters gathered before the forward and before the backward, gradients reduce-scattered."""
    g = cluster(nodes=2, gpus=2)
    job = plan(g, MODEL, dp=4)
    plain = run(g, job, options())[1]["bytes_per_gpu_dp"]
    for s in _both(g, job, options(zero=3)):
        assert s["bytes_per_gpu_dp"] == pytest.approx(1.5 * plain, rel=1e-12)


def test_tensor_parallel_volume_from_hidden_size_and_tokens():
    """Four allreduces of the T × h activation per layer and micro-batch (two forward, two backward)."""
    g = cluster(nodes=1, gpus=4)
    m, tp = 3, 4
    job = plan(g, MODEL, tp=tp, m=m)
    activation = 1 * MODEL.seq_len * MODEL.hidden * 2
    expected = m * MODEL.layers * 4 * 2 * (tp - 1) / tp * activation
    for s in _both(g, job, options()):
        assert s["bytes_per_gpu_tp"] == pytest.approx(expected, rel=1e-12)


def test_pipeline_volume_activations_forward_gradients_backward():
    g = cluster(nodes=2, gpus=4)
    m, pp, tp, dp = 5, 2, 2, 2
    job = plan(g, MODEL, dp=dp, pp=pp, tp=tp, m=m, micro_batch=2)
    activation = 2 * MODEL.seq_len * MODEL.hidden * 2
    total = 2 * m * (pp - 1) * dp * tp * activation  # every TP rank sends its copy, both directions
    for s in _both(g, job, options()):
        assert s["bytes_per_gpu_pp"] == pytest.approx(total / 8, rel=1e-12)


def test_expert_all_to_alls_and_expert_gradients():
    moe = MODEL.with_changes(experts=4, top_k=2, moe_every=2)
    g = cluster(nodes=2, gpus=4)
    m, dp, ep = 2, 8, 4
    job = plan(g, moe, dp=dp, ep=ep, m=m)
    dispatch = MODEL.seq_len * 2 * MODEL.hidden * 2  # T·top_k·h bf16 values per rank
    a2a = m * moe.moe_layers * 4 * (ep - 1) / ep * dispatch
    dense = moe.parameters() - moe.moe_layers * moe.experts * moe.mlp_parameters()
    expert_shard = moe.moe_layers * (moe.experts / ep) * moe.mlp_parameters()
    grads = 2 * (dp - 1) / dp * 2 * dense + 2 * (dp // ep - 1) / (dp // ep) * 2 * expert_shard
    for s in _both(g, job, options()):
        assert s["bytes_per_gpu_ep"] == pytest.approx(a2a, rel=1e-12)
        assert s["bytes_per_gpu_dp"] == pytest.approx(grads, rel=1e-12)
