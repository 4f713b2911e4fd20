"""DDP-style bucket planning: reverse order, caps, first bucket, ready times."""

import pytest

from netsim.training.buckets import FORWARD_FRACTION, plan_buckets

MiB = 2**20


def covers(plan, total):
    spans = sorted((b.start, b.stop) for b in plan)
    assert spans[0][0] == 0 and spans[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_ddp_defaults_on_a_layered_model():
    # 10 layers of 1M float32 weights (4 MiB) + 1K biases each, forward order
    tensors = []
    for i in range(10):
        tensors += [(f"w{i}", 2**20), (f"b{i}", 1024)]
    plan = plan_buckets(tensors, 4, 25 * MiB, 1 * MiB)
    total = sum(n for _, n in tensors)
    covers(plan, total)
    # last layer first; the first bucket (1 MiB cap) holds b9 only (w9 would overflow it)
    assert (plan[0].start, plan[0].stop) == (total - 1024, total)
    # later buckets are capped at 25 MiB (each layer is 4 MiB + 4 KiB: 6 layers fit in one bucket)
    assert len(plan) == 3  # [b9], [w9 .. b3] (24 MiB + 24 KiB), [w3 .. w0]
    for bucket in plan[1:]:
        assert bucket.size * 4 <= 25 * MiB
    assert [b.start for b in plan] == sorted((b.start for b in plan), reverse=True)
    fractions = [b.ready_fraction for b in plan]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert fractions[0] == pytest.approx(FORWARD_FRACTION + (1 - FORWARD_FRACTION) * 1024 / total)


def test_a_tensor_larger_than_the_cap_gets_its_own_bucket():
    plan = plan_buckets([("a", 10), ("big", 1000), ("c", 10)], 8, 100)
    assert [(b.start, b.stop) for b in plan] == [(1010, 1020), (10, 1010), (0, 10)]


def test_one_bucket_when_unbounded():
    for cap in (None, 0):
        plan = plan_buckets([("a", 5), ("b", 7)], 8, cap)
        assert [(b.start, b.stop, b.ready_fraction) for b in plan] == [(0, 12, 1.0)]


def test_empty_model():
    assert plan_buckets([], 8, 100) == []
