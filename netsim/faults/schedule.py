"""When a lasting fault is active: one fixed window, or a seeded MTBF/MTTR schedule.

A :class:`Windows` yields the occurrences ``[start, end)`` (seconds) of one fault on one
target, in time order, without overlap. A fixed fault has one window, ``[time, time +
duration)`` (``end`` may be ``inf``: the rest of the run). A random schedule alternates
up and down periods from ``time``: the time to the next failure is exponential with mean
``mtbf`` and the repair time exponential with mean ``mttr`` (an alternating renewal
process, the usual availability model), each drawn from the schedule's own
:class:`numpy.random.Generator`, two variates per occurrence, in order. Failures start
before ``end`` (default never); a failure drawn before ``end`` is always repaired. The
long-run fraction of time down is ``mttr / (mtbf + mttr)``.

Windows are drawn lazily, as far as they are asked for, so an open-ended schedule costs
nothing beyond the run; the draws do not depend on who asks or in what order, so the
same seed gives the same windows in every run.

Examples
--------
>>> import numpy as np
>>> fixed = Windows(0.005, end=0.007)
>>> list(fixed)
[(0.005, 0.007)]
>>> flaky = Windows(0.0, mtbf=10.0, mttr=1.0, rng=np.random.default_rng(1))
>>> first = flaky.window(0); first[0] < first[1]
True
>>> flaky.window(0) == first                  # the same window every time it is asked for
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

__all__ = ["Windows"]


class Windows:
    """Occurrences ``[start, end)`` of one fault on one target (seconds).

    Parameters
    ----------
    start : float
        Time of the fixed occurrence, or when a random schedule begins (s).
    end : float, default inf
        Fixed: end of the occurrence (``inf``: never ends). Random: no failure starts at
        or after ``end``.
    mtbf, mttr : float, optional
        Mean time between failures and mean time to repair (s, ``> 0``): give both for a
        random schedule, neither for a fixed window.
    rng : numpy.random.Generator, optional
        The schedule's own generator (required for a random schedule).
    """

    def __init__(
        self,
        start: float,
        end: float = math.inf,
        *,
        mtbf: float | None = None,
        mttr: float | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if (mtbf is None) != (mttr is None):
            raise ValueError("give both mtbf and mttr, or neither")
        if mtbf is not None and (rng is None or not mtbf > 0 or not mttr > 0):
            raise ValueError("a random schedule needs mtbf > 0, mttr > 0 and a generator")
        if not start >= 0 or not end > start:
            raise ValueError(f"need 0 <= start < end, got start={start!r}, end={end!r}")
        self.start, self.end = float(start), float(end)
        self.mtbf, self.mttr = mtbf, mttr
        self._rng = rng
        self._windows: list[tuple[float, float]] = [] if self.random else [(self.start, self.end)]
        self._clock = self.start  # end of the last window drawn (random schedules)
        self._over = not self.random

    @property
    def random(self) -> bool:
        """Whether windows are drawn from the MTBF/MTTR schedule."""
        return self.mtbf is not None

    def _draw(self) -> bool:
        """Draw the next window; ``False`` once the schedule is over."""
        if self._over:
            return False
        failure = self._clock + float(self._rng.exponential(self.mtbf))
        if not failure < self.end:
            self._over = True
            return False
        repair = failure + float(self._rng.exponential(self.mttr))
        if repair == failure:  # a zero draw: keep windows non-empty
            repair = math.nextafter(failure, math.inf)
        self._windows.append((failure, repair))
        self._clock = repair
        return True

    def window(self, index: int) -> tuple[float, float] | None:
        """The ``index``-th window (from 0), or ``None`` if the schedule has fewer."""
        while len(self._windows) <= index:
            if not self._draw():
                return None
        return self._windows[index]

    def __iter__(self) -> Iterator[tuple[float, float]]:
        """Every window, in time order (endless for an open random schedule: stop yourself)."""
        index = 0
        while (window := self.window(index)) is not None:
            yield window
            index += 1

    def until(self, time: float) -> list[tuple[float, float]]:
        """The windows that start before ``time`` (s)."""
        found = []
        for window in self:
            if window[0] >= time:
                break
            found.append(window)
        return found

    def down_fraction(self, horizon: float) -> float:
        """Fraction of ``[start, horizon)`` covered by windows (for checks and reports)."""
        if not horizon > self.start:
            return 0.0
        covered = sum(min(b, horizon) - a for a, b in self.until(horizon))
        return covered / (horizon - self.start)
