"""Pipeline schedules: operation orders and the bubble (pp − 1)/(m + pp − 1)."""

import pytest

from netsim.exceptions import SimulationError
from netsim.workload import bubble_fraction, pipeline_timeline, stage_ops

CASES = [(pp, m) for pp in (1, 2, 3, 4, 8) for m in (1, 2, 3, 5, 8, 16)]


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize(("pp", "m"), CASES)
def test_uniform_stages_have_the_textbook_bubble(schedule, pp, m):
    f, b = 0.7, 1.3
    t = pipeline_timeline(schedule, pp, m, [[f] * m] * pp, [[b] * m] * pp)
    assert t.makespan == pytest.approx((m + pp - 1) * (f + b), rel=1e-12)
    idle = (t.makespan - m * (f + b)) / t.makespan
    assert idle == pytest.approx(bubble_fraction(pp, m), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
def test_every_stage_runs_every_microbatch_once(schedule):
    for p in range(4):
        ops = stage_ops(schedule, 4, 6, p)
        assert sorted(ops) == sorted([("F", i) for i in range(6)] + [("B", i) for i in range(6)])
        assert all(ops.index(("F", i)) < ops.index(("B", i)) for i in range(6))


def test_1f1b_keeps_at_most_pp_microbatches_in_flight():
    pp, m = 4, 12
    for p in range(pp):
        alive = peak = 0
        for kind, _ in stage_ops("1f1b", pp, m, p):
            alive += 1 if kind == "F" else -1
            peak = max(peak, alive)
        assert peak == min(pp - p, m)
    gpipe_peak = max(sum(1 for k, _ in stage_ops("gpipe", pp, m, 0)[: i + 1] if k == "F") for i in range(m))
    assert gpipe_peak == m


def test_transfers_delay_the_pipeline_by_the_formula():
    """Uniform stages, one transfer time c per hop: the first forward wave and the last backward
    wave each cross pp − 1 hops, so the makespan grows by 2(pp − 1)c (GPipe)."""
    pp, m, f, b, c = 4, 6, 1.0, 2.0, 0.25
    t = pipeline_timeline("gpipe", pp, m, [[f] * m] * pp, [[b] * m] * pp, c, c)
    assert t.makespan == pytest.approx((m + pp - 1) * (f + b) + 2 * (pp - 1) * c, rel=1e-12)


def test_unknown_schedule():
    with pytest.raises(ValueError, match="accepted: 1f1b, gpipe"):
        stage_ops("zb", 2, 2, 0)


def test_busy_time_per_stage():
    t = pipeline_timeline("1f1b", 2, 2, [[1.0, 1.0], [1.0, 1.0]], [[2.0, 2.0], [2.0, 2.0]])
    assert t.busy(0) == t.busy(1) == 6.0


def test_a_cyclic_dependency_is_reported(monkeypatch):
    from netsim.workload import schedule

    monkeypatch.setattr(schedule, "dependency", lambda kind, stage, pp: (stage + 1) % pp if kind == "F" else None)
    with pytest.raises(SimulationError, match="deadlocks"):
        schedule.pipeline_timeline("gpipe", 2, 1, [[1.0], [1.0]], [[1.0], [1.0]])
