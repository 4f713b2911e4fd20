"""Exact wire sizes (as sent and ideal) against REFERENCES §4, for several shapes."""

import math
from fractions import Fraction

import numpy as np
import pytest

from netsim.training.compression import (
    DGC,
    QSGD,
    ErrorFeedback,
    PowerSGD,
    Threshold,
    TopK,
    count_for_ratio,
    elias_gamma_bits,
    index_bits,
    make_compressor,
    worker_rngs,
)

SHAPES = {"d1": [(1,)], "d7": [(7,)], "d1000": [(1000,)], "d1001": [(1001,)], "64x33": [(64, 33)]}
SIZES = {"d1": 1, "d7": 7, "d1000": 1000, "d1001": 1001, "64x33": 2112}

# Hand-computed (sent, ideal) bytes with the registry defaults (fp32 values, int32 indices,
# topk/randomk ratio 0.01, qsgd s = 127 (ideal: fixed-width bound), dgc sparsity 0.999,
# powersgd rank 1). lg = ⌈log2 d⌉: 0, 3, 10, 10, 12.
EXPECTED = {
    #            d=1      d=7       d=1000        d=1001        64x33
    "none": [(4, 4), (28, 28), (4000, 4000), (4004, 4004), (8448, 8448)],
    "fp16": [(2, 2), (14, 14), (2000, 2000), (2002, 2002), (4224, 4224)],
    "bf16": [(2, 2), (14, 14), (2000, 2000), (2002, 2002), (4224, 4224)],
    # k = 1, 1, 10, 11, 22: 8k and 4k + ⌈k·lg/8⌉
    "topk": [(8, 4), (8, 5), (80, 53), (88, 58), (176, 121)],
    "randomk": [(4, 4), (4, 4), (40, 40), (44, 44), (88, 88)],
    "qsgd": [(5, 5), (11, 11), (1004, 1004), (1005, 1005), (2116, 2116)],
    "terngrad": [(5, 5), (11, 6), (1004, 254), (1005, 255), (2116, 532)],
    "signsgd": [(1, 1), (7, 1), (1000, 125), (1001, 126), (2112, 264)],
    "ef_signsgd": [(5, 5), (11, 5), (1004, 129), (1005, 130), (2116, 268)],
    "onebit": [(9, 9), (15, 9), (1008, 133), (1009, 134), (2120, 272)],
    # k = ⌈0.001·d⌉ = 1, 1, 1, 2, 3
    "dgc": [(8, 4), (8, 5), (8, 6), (16, 11), (24, 17)],
    # vectors are sent uncompressed; 64x33 at rank 1: 4·(64 + 33)
    "powersgd": [(4, 4), (28, 28), (4000, 4000), (4004, 4004), (388, 388)],
}


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("case", list(SHAPES))
def test_wire_size_table(method, case):
    compressor = make_compressor(method)
    expected = EXPECTED[method][list(SHAPES).index(case)]
    size = compressor.wire_size(SHAPES[case])
    assert (size.sent, size.ideal) == expected
    assert isinstance(size.sent, int) and isinstance(size.ideal, int)


def _formula(method: str, d: int, shape) -> tuple[int, int]:
    """REFERENCES §4, written independently of the implementation."""
    lg = math.ceil(math.log2(d)) if d > 1 else 0
    k = math.ceil(Fraction("0.01") * d)
    if method == "none":
        return 4 * d, 4 * d
    if method in ("fp16", "bf16"):
        return 2 * d, 2 * d
    if method == "topk":
        return 4 * k + 4 * k, 4 * k + math.ceil(k * lg / 8)
    if method == "randomk":
        return 4 * k, 4 * k
    if method == "qsgd":
        return d + 4, 4 + math.ceil(d * math.ceil(math.log2(2 * 127 + 1)) / 8)
    if method == "terngrad":
        return d + 4, math.ceil(d / 4) + 4
    if method == "signsgd":
        return d, math.ceil(d / 8)
    if method == "ef_signsgd":
        return d + 4, math.ceil(d / 8) + 4
    if method == "onebit":
        return d + 8, math.ceil(d / 8) + 8
    if method == "dgc":
        kd = math.ceil(Fraction("0.001") * d)
        return 8 * kd, 4 * kd + math.ceil(kd * lg / 8)
    if method == "powersgd":
        if len(shape) == 2:
            n, m = shape
            return 4 * (n + m), 4 * (n + m)
        return 4 * d, 4 * d
    raise AssertionError(method)


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("case", list(SHAPES))
def test_payload_sizes_match_formulas(method, case):
    """The realised payloads of a real exchange have the formula's sizes."""
    compressor = make_compressor(method)
    shapes, d = SHAPES[case], SIZES[case]
    grad = np.random.default_rng(3).standard_normal(d)
    state = compressor.init_state(shapes)
    rng = worker_rngs(compressor, 0, 1)[0]
    session = compressor.exchange(grad, state, rng, 1)
    request, sent, ideal = next(session), 0, 0
    while True:
        sent, ideal = sent + request.wire_bytes, ideal + request.ideal_bytes
        result = request.data if request.op == "allreduce" else [request.data]
        try:
            request = session.send(result)
        except StopIteration:
            break
    expected = _formula(method, d, shapes[0])
    if method == "qsgd":  # the realised ideal size is at most the fixed-width bound
        assert sent == expected[0] and ideal <= expected[1]
    else:
        assert (sent, ideal) == expected


def test_index_bits_and_counts():
    assert [index_bits(d) for d in (1, 2, 3, 4, 5, 1000, 1001, 2048, 2049, 2112)] == [
        0,
        1,
        2,
        2,
        3,
        10,
        10,
        11,
        12,
        12,
    ]
    # k = ⌈ρd⌉ read as decimals: no floating-point surprises
    assert count_for_ratio(0.001, 1000) == 1
    assert count_for_ratio(0.1, 30) == 3
    assert count_for_ratio(0.01, 1001) == 11
    assert count_for_ratio(1.0, 7) == 7
    assert count_for_ratio(1e-9, 7) == 1


def test_int64_indices_and_fp64_values():
    # REFERENCES: 4k values + 8k (int64) indices
    assert TopK(0.01, index_bytes=8).wire_size(1000).sent == 4 * 10 + 8 * 10
    assert TopK(0.01, value_bytes=8).wire_size(1000).sent == 8 * 10 + 4 * 10
    assert TopK(0.01, value_bytes=8).wire_size(1000).ideal == 80 + 13
    assert make_compressor("none", value_bytes=8).wire_size(7).sent == 56
    assert make_compressor("qsgd", value_bytes=8).wire_size(7).sent == 15
    assert PowerSGD(2, value_bytes=8).wire_size([(64, 33)]).sent == 8 * 2 * 97


def test_threshold_size_counts_nonzeros():
    c = Threshold(0.5)
    grad = np.zeros(1001)
    grad[[3, 10, 999]] = [1.0, -0.6, 0.7]
    grad[500] = 0.5  # not strictly above the threshold
    payload = c.encode(grad, c.init_state(1001))
    assert payload.parts["indices"].tolist() == [3, 10, 999]
    assert (payload.wire_bytes, payload.ideal_bytes) == (8 * 3, 4 * 3 + math.ceil(3 * 10 / 8))
    empty = c.encode(np.zeros(7), c.init_state(7))
    assert (empty.wire_bytes, empty.ideal_bytes) == (0, 0)
    assert c.wire_size(1001).sent == 8 * 1001  # upper bound: every entry above τ


def test_qsgd_elias_ideal_size_hand_case():
    # one nonzero at index 50 of 100, exactly on level s = 4: gap 51 (11 bits), sign (1),
    # level 4 (5 bits) = 17 bits = 3 bytes, below the fixed width 100·⌈lg 9⌉ = 400 bits
    assert elias_gamma_bits(np.array([51, 4])).tolist() == [11, 5]
    c = QSGD(levels=4)
    grad = np.zeros(100)
    grad[50] = -5.0
    payload = c.encode(grad, c.init_state(100), np.random.default_rng(0))
    assert payload.parts["levels"][50] == -4 and np.count_nonzero(payload.parts["levels"]) == 1
    assert (payload.wire_bytes, payload.ideal_bytes) == (104, 4 + 3)
    zero = c.encode(np.zeros(100), c.init_state(100), np.random.default_rng(0))
    assert zero.ideal_bytes == 4 and zero.wire_bytes == 104
    # dense payloads fall back to fixed width: with s = 127 every entry of ones(64) is on
    # level 15 or 16 (Elias >= 1 + 1 + 7 bits each) and ⌈lg 255⌉ = 8 bits per element win
    dense = QSGD().encode(np.ones(64), QSGD().init_state(64), np.random.default_rng(0))
    assert set(np.unique(dense.parts["levels"])) <= {15, 16}
    assert dense.ideal_bytes == 4 + 64
    # s > 127 is sent as int16
    assert QSGD(levels=200).wire_size(10).sent == 4 + 20


def test_dgc_sizes_follow_the_warmup():
    c = DGC(warmup_steps=1)
    # sparsities .75, .9375, .984375, .996, then .999 on d = 1000: k = 250, 63, 16, 4, 1
    ks = [c.count_at(step, 1000) for step in range(6)]
    assert ks == [250, 63, 16, 4, 1, 1]
    assert [c.wire_size(1000, step).sent for step in range(5)] == [8 * k for k in ks[:5]]
    assert c.wire_size(1000).sent == 8


def test_powersgd_sizes_and_ratio():
    for rank in (1, 2, 4):
        c = PowerSGD(rank)
        size = c.wire_size([(64, 33)])
        assert size.sent == size.ideal == 4 * rank * (64 + 33)
        rounds = c.round_sizes([(64, 33)])
        assert [r.sent for r in rounds] == [4 * rank * 64, 4 * rank * 33]
        assert c.compression_ratio([(64, 33)]) == pytest.approx(64 * 33 / (rank * 97))
    assert PowerSGD(1).compression_ratio([(64, 33)]) == pytest.approx(21.7731958)
    # before start_step the whole tensor is allreduced
    assert PowerSGD(1, start_step=3).wire_size([(64, 33)], step=2).sent == 4 * 2112
    assert PowerSGD(1, start_step=3).wire_size([(64, 33)], step=3).sent == 388


def test_error_feedback_keeps_inner_sizes():
    inner = TopK(0.01)
    assert ErrorFeedback(inner).wire_size(1001) == inner.wire_size(1001)


def test_round_sizes_and_the_timed_size():
    assert make_compressor("topk").round_sizes(1000) == [make_compressor("topk").wire_size(1000)]
    c = PowerSGD(1, start_step=1)
    assert [r.sent for r in c.round_sizes([(64, 33)], step=0)] == [4 * 2112]
    assert [r.sent for r in c.round_sizes([(64, 33)], step=1)] == [4 * 64, 4 * 33]
    sent, ideal = make_compressor("signsgd"), make_compressor("signsgd", wire="ideal")
    assert (sent.wire, ideal.wire) == ("sent", "ideal")
    payload = sent.encode(np.ones(1001), sent.init_state(1001))
    request = next(ideal.exchange(np.ones(1001), ideal.init_state(1001), None, 2))
    assert (payload.wire_bytes, sent.round_bytes(request), ideal.round_bytes(request)) == (
        1001,
        1001,
        126,
    )
    assert make_compressor("topk", error_feedback=True, wire="ideal").wire == "ideal"
