"""Straggler windows: a worker computes ``factor`` times slower while a window is active.

During a window of factor ``f`` a worker does ``1/f`` seconds of nominal work per
second; overlapping windows multiply their factors. A computation of ``work`` nominal
seconds that starts at ``t0`` therefore ends at the ``t`` where the work done,
``∫ dt / F(t)`` from ``t0``, reaches ``work`` (:func:`stretched_time`): entirely
inside one window it takes ``work · f``; one starting ``a`` seconds before a window
takes ``a + (work − a) · f`` if it ends inside it. This is on top of the compute
model's own noise (``compute.straggler``), which sets ``work``.

Pure functions and a small class (no SimPy): :class:`StragglerClock` answers
``stretch(worker, start, work)`` for the training job's compute hook.

Examples
--------
>>> from netsim.faults.schedule import Windows
>>> stretched_time(0.0, 1.0, [(Windows(0.0, 10.0), 4.0)])      # inside a 4x window
4.0
>>> stretched_time(0.0, 1.0, [(Windows(0.5, 10.0), 4.0)])      # 0.5 s at speed, then 4x
2.5
>>> stretched_time(0.0, 1.0, [(Windows(0.5, 1.0), 4.0)])       # 0.125 s of work in the window
1.375
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from netsim.faults.schedule import Windows

__all__ = ["stretched_time", "StragglerClock"]


def stretched_time(
    start: float, work: float, windows: Sequence[tuple[Windows, float]], cursor: list[int] | None = None
) -> float:
    """Seconds a computation of ``work`` nominal seconds started at ``start`` takes.

    Parameters
    ----------
    start : float
        Simulated time the computation starts (s).
    work : float
        Its duration without slowdown (s, ``>= 0``).
    windows : sequence of (Windows, float)
        Each schedule of slowdown windows with its factor (``> 0``).
    cursor : list of int, optional
        Per schedule, the first window that may still end after ``start`` (updated in
        place): callers asking in increasing ``start`` skip the windows already past.

    Returns
    -------
    float
        The stretched duration (s); ``work`` when no window touches it.
    """
    if work <= 0 or not windows:
        return work
    if cursor is None:
        cursor = [0] * len(windows)
    t, left = start, work
    while left > 0:
        factor, boundary = 1.0, math.inf
        for i, (schedule, f) in enumerate(windows):
            while (w := schedule.window(cursor[i])) is not None and w[1] <= t:
                cursor[i] += 1
            if w is None:
                continue
            if w[0] <= t:  # active now: until it ends
                factor *= f
                boundary = min(boundary, w[1])
            else:
                boundary = min(boundary, w[0])
        span = boundary - t
        if left * factor <= span:
            t += left * factor
            left = 0.0
        else:
            left -= span / factor
            t = boundary
    return t - start


class StragglerClock:
    """Straggler windows of every worker, answering the job's compute hook.

    Parameters
    ----------
    windows : dict
        ``worker -> [(Windows, factor), ...]``.
    now : callable
        ``() -> float``: the current simulated time (the computation starts now).
    on_stretch : callable, optional
        ``(worker, start, work, seconds)``, told each time a window changed a duration.
    """

    def __init__(self, windows: dict[int, list[tuple[Windows, float]]], now: Callable[[], float], on_stretch=None) -> None:
        self.windows = windows
        self._cursors = {worker: [0] * len(mine) for worker, mine in windows.items()}
        self._now = now
        self._on_stretch = on_stretch

    def stretch(self, worker: int, work: float) -> float:
        """Duration (s) of ``work`` nominal seconds of ``worker``'s compute starting now."""
        mine = self.windows.get(worker)
        if not mine:
            return work
        start = self._now()
        seconds = stretched_time(start, work, mine, self._cursors[worker])
        if seconds != work and self._on_stretch is not None:
            self._on_stretch(worker, start, work, seconds)
        return seconds
