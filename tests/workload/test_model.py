"""Transformer presets and formulas: parameters, FLOPs, activation sizes."""

import pytest

from netsim.workload import PRESETS, Transformer

PUBLISHED = {  # parameters (billions), as the papers / model cards report them
    "gpt2_1.5b": 1.5,
    "llama2_7b": 6.74,
    "llama2_13b": 13.0,
    "llama2_70b": 69.0,
    "gpt3_175b": 175.0,
    "mixtral_8x7b": 46.7,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_presets_have_their_published_size(name):
    assert PRESETS[name].parameters() / 1e9 == pytest.approx(PUBLISHED[name], rel=0.04)


def test_mixtral_active_parameters():
    assert PRESETS["mixtral_8x7b"].active_parameters() / 1e9 == pytest.approx(12.9, rel=0.01)


def test_parameters_by_hand():
    m = Transformer(layers=3, hidden=8, seq_len=5, vocab=11, ffn_hidden=20, heads=4, kv_heads=2)
    per_layer = 2 * 8 * 8 + 2 * 8 * 4 + 2 * 8 * 20  # Q, O; K, V of width 4; MLP
    assert m.parameters() == 3 * per_layer + 11 * 8 * 2
    tied = m.with_changes(tied_embeddings=True, learned_positions=True)
    assert tied.parameters() == 3 * per_layer + 11 * 8 + 5 * 8


def test_megatron_flops_formula():
    """72·L·h²·(1 + s/(6h) + V/(12·h·L)) FLOPs per token for a 4h-MLP model (Narayanan et al., 2021)."""
    m = PRESETS["gpt3_175b"]
    L, h, s, V = m.layers, m.hidden, m.seq_len, m.vocab
    expected = 72 * L * h * h * (1 + s / (6 * h) + V / (12 * h * L))
    assert m.training_flops_per_token() == pytest.approx(expected, rel=1e-12)


def test_moe_flops_count_top_k_experts_and_router():
    dense = Transformer(layers=2, hidden=16, seq_len=8, vocab=0)
    moe = dense.with_changes(experts=4, top_k=2, moe_every=2)
    assert [moe.is_moe_layer(i) for i in range(2)] == [False, True]
    extra = 2 * (2 - 1) * dense.mlp_parameters() + 2 * 16 * 4  # a second expert and the router, one layer
    assert moe.forward_flops_per_token() == dense.forward_flops_per_token() + extra
    padded = moe.with_changes(capacity_factor=1.25)
    assert padded.mlp_flops(1, capacity=True) == 2 * 2 * 1.25 * dense.mlp_parameters() + 2 * 16 * 4
    assert padded.forward_flops_per_token() == moe.forward_flops_per_token()  # padding is not model FLOPs


def test_activation_and_dispatch_bytes():
    m = Transformer(layers=1, hidden=10, seq_len=4, vocab=0, experts=4, top_k=2, capacity_factor=1.5)
    assert m.activation_bytes(8, 2) == 8 * 10 * 2
    assert m.dispatch_bytes(8, 2) == 8 * 2 * 1.5 * 10 * 2
