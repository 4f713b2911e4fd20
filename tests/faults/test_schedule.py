"""Fault windows: fixed, and seeded MTBF/MTTR schedules; straggler stretching (pure functions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsim.faults import Windows, stretched_time
from netsim.faults.stragglers import StragglerClock


def test_fixed_window():
    assert list(Windows(2.0, 5.0)) == [(2.0, 5.0)]
    assert Windows(2.0).window(0) == (2.0, math.inf) and Windows(2.0).window(1) is None
    with pytest.raises(ValueError):
        Windows(3.0, 1.0)


def test_random_schedule_is_deterministic_and_lazy():
    a = Windows(1.0, mtbf=10.0, mttr=1.0, rng=np.random.default_rng(7))
    b = Windows(1.0, mtbf=10.0, mttr=1.0, rng=np.random.default_rng(7))
    far = b.window(50)  # drawing far ahead first changes nothing
    assert [a.window(i) for i in range(51)][-1] == far
    assert a.until(100.0) == b.until(100.0)
    c = Windows(1.0, mtbf=10.0, mttr=1.0, rng=np.random.default_rng(8))
    assert c.window(0) != a.window(0)
    windows = a.until(1e4)
    assert windows[0][0] > 1.0
    assert all(x[1] <= y[0] for x, y in zip(windows, windows[1:], strict=False))  # in order, no overlap


def test_random_schedule_follows_mtbf_and_mttr():
    schedule = Windows(0.0, mtbf=9.0, mttr=1.0, rng=np.random.default_rng(0))
    windows = schedule.until(1e5)
    ups = np.diff([0.0] + [x for w in windows for x in w])[0::2]
    downs = np.array([b - a for a, b in windows])
    assert len(windows) > 9000
    assert ups.mean() == pytest.approx(9.0, rel=0.05) and downs.mean() == pytest.approx(1.0, rel=0.05)
    assert schedule.down_fraction(1e5) == pytest.approx(1 / (9 + 1), rel=0.05)


def test_schedule_end_stops_new_failures_but_repairs_the_last():
    schedule = Windows(0.0, end=50.0, mtbf=5.0, mttr=20.0, rng=np.random.default_rng(3))
    windows = list(schedule)
    assert windows and all(a < 50.0 for a, _ in windows)
    assert all(b > a for a, b in windows)


@pytest.mark.parametrize(
    ("start", "work", "windows", "expected"),
    [
        (0.0, 1.0, [], 1.0),
        (0.0, 1.0, [((0.0, 10.0), 4.0)], 4.0),  # inside
        (0.0, 1.0, [((0.5, 10.0), 4.0)], 0.5 + 0.5 * 4),  # the window starts during the work
        (0.0, 1.0, [((0.5, 1.0), 4.0)], 0.5 + 0.5 + 0.375),  # 0.125 of work in the window
        (2.0, 1.0, [((0.0, 2.5), 2.0)], 0.5 + 0.75),  # starts inside, outlasts it
        (0.0, 1.0, [((0.0, 10.0), 2.0), ((0.0, 10.0), 3.0)], 6.0),  # overlapping windows multiply
        (0.0, 1.0, [((0.0, 10.0), 0.5)], 0.5),  # a factor below 1 speeds up
        (5.0, 1.0, [((0.0, 2.0), 4.0)], 1.0),  # over before
    ],
)
def test_stretched_time(start, work, windows, expected):
    schedules = [(Windows(a, b), f) for (a, b), f in windows]
    assert stretched_time(start, work, schedules) == pytest.approx(expected, rel=1e-15)


def test_straggler_clock_reads_the_time_and_reports_stretches():
    now = [0.0]
    seen = []
    clock = StragglerClock({1: [(Windows(1.0, 2.0), 3.0)]}, lambda: now[0], lambda *a: seen.append(a))
    assert clock.stretch(0, 0.5) == 0.5  # another worker
    now[0] = 1.5
    assert clock.stretch(1, 0.25) == pytest.approx(0.5 + (0.25 - 0.5 / 3))
    assert seen == [(1, 1.5, 0.25, pytest.approx(0.5 + (0.25 - 0.5 / 3)))]
    now[0] = 3.0
    assert clock.stretch(1, 0.25) == 0.25


@pytest.mark.parametrize("name", ["spec", "schedule", "stragglers", "links", "records", "workers", "injector"])
def test_doctests_and_all(name):
    import doctest
    import importlib

    module = importlib.import_module(f"netsim.faults.{name}")
    assert doctest.testmod(module).failed == 0
    assert all(hasattr(module, item) for item in module.__all__)
