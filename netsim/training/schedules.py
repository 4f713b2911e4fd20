"""Learning-rate schedules with linear warm-up, and an optimizer wrapper that follows one.

A schedule maps the 0-based index ``t`` of the update about to be applied to a
learning rate. With ``W = warmup_steps`` and ``T = total_steps``:

* warm-up, ``t < W``: ``lr = base_lr · (t + 1) / W`` (rises linearly and reaches
  ``base_lr`` at ``t = W − 1``; never 0, so no step is wasted);
* then, with progress ``p = min((t − W) / (T − W), 1)``:

  - ``constant``: ``base_lr``;
  - ``linear``: ``base_lr + (min_lr − base_lr) · p`` (decays to ``min_lr`` at ``t = T``);
  - ``cosine``: ``min_lr + (base_lr − min_lr) · (1 + cos(π p)) / 2`` (SGDR /
    ``CosineAnnealingLR``, half a period, no restarts);
  - ``step``: ``base_lr · decay_factor ^ ⌊(t − W) / decay_every⌋`` (``StepLR``
    counted from the end of the warm-up).

Examples
--------
>>> s = make_schedule("cosine", 0.1, warmup_steps=2, total_steps=10)
>>> [round(s(t), 4) for t in (0, 1, 2, 6, 10)]
[0.05, 0.1, 0.1, 0.05, 0.0]
>>> s = make_schedule("step", 1.0, decay_every=3, decay_factor=0.5)
>>> [s(t) for t in range(7)]
[1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from netsim.exceptions import ScenarioError
from netsim.training.optimizers import Optimizer

__all__ = ["SCHEDULES", "Schedule", "make_schedule", "ScheduledOptimizer"]

SCHEDULES = ("constant", "linear", "cosine", "step")
"""Schedule names (scenario key ``training.lr_schedule``)."""

_USES = {
    "constant": (),
    "linear": ("min_lr",),
    "cosine": ("min_lr",),
    "step": ("decay_every", "decay_factor"),
}


def _int(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ScenarioError(f"{field}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _real(value: object, field: str) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
    if not ok or not math.isfinite(value):
        raise ScenarioError(f"{field}: must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Schedule:
    """A validated learning-rate schedule; call it with a step index (see the module docstring).

    Build it with :func:`make_schedule`. Attributes are the validated arguments.
    """

    name: str
    base_lr: float
    warmup_steps: int = 0
    total_steps: int | None = None
    min_lr: float = 0.0
    decay_every: int | None = None
    decay_factor: float = 0.1

    def __call__(self, step: int) -> float:
        """Learning rate of update ``step`` (0-based, ``>= 0``)."""
        if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
            raise ValueError(f"step must be an integer >= 0, got {step!r}")
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        since = step - self.warmup_steps
        if self.name == "constant":
            return self.base_lr
        if self.name == "step":
            return self.base_lr * self.decay_factor ** (since // self.decay_every)
        progress = min(since / (self.total_steps - self.warmup_steps), 1.0)
        if self.name == "linear":
            return self.base_lr + (self.min_lr - self.base_lr) * progress
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_lr + (self.base_lr - self.min_lr) * cosine


def make_schedule(
    name: str,
    base_lr: float,
    warmup_steps: int = 0,
    total_steps: int | None = None,
    *,
    min_lr: float | None = None,
    decay_every: int | None = None,
    decay_factor: float | None = None,
) -> Schedule:
    """Build a learning-rate schedule.

    Parameters
    ----------
    name : str
        One of :data:`SCHEDULES`: ``"constant"``, ``"linear"``, ``"cosine"``, ``"step"``.
    base_lr : float
        Peak learning rate (``> 0``), normally the optimizer's ``lr``.
    warmup_steps : int, optional
        Steps of linear warm-up, ``>= 0`` (default 0: none).
    total_steps : int, optional
        Steps of the whole run (``training.steps``); required by ``"linear"`` and
        ``"cosine"``, which decay over ``total_steps − warmup_steps`` steps.
    min_lr : float, optional
        Final learning rate of ``"linear"`` and ``"cosine"``, in ``[0, base_lr]``
        (default 0).
    decay_every : int, optional
        Steps between decays of ``"step"``, ``>= 1`` (required by ``"step"``).
    decay_factor : float, optional
        Multiplier per decay of ``"step"``, in ``(0, 1]`` (default 0.1).

    Returns
    -------
    Schedule
        A callable ``step -> lr``.

    Raises
    ------
    ScenarioError
        For an unknown name (``training.lr_schedule``), an invalid or missing value
        (``training.lr``, ``training.warmup_steps``, ``training.steps``,
        ``training.min_lr``, ``training.decay_every``, ``training.decay_factor``), or
        an option given to a schedule that does not use it.

    Examples
    --------
    >>> make_schedule("linear", 1.0, warmup_steps=4, total_steps=8)(5)
    0.75
    >>> make_schedule("exp", 1.0)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.lr_schedule: unknown schedule 'exp'; accepted: constant, linear, cosine, step
    """
    if name not in SCHEDULES:
        raise ScenarioError(
            f"training.lr_schedule: unknown schedule {name!r}; accepted: {', '.join(SCHEDULES)}"
        )
    base_lr = _real(base_lr, "training.lr")
    if base_lr <= 0:
        raise ScenarioError(f"training.lr: must be positive, got {base_lr!r}")
    warmup_steps = _int(warmup_steps, "training.warmup_steps", 0)
    given = {"min_lr": min_lr, "decay_every": decay_every, "decay_factor": decay_factor}
    for key, value in given.items():
        if value is not None and key not in _USES[name]:
            raise ScenarioError(
                f"training.{key}: does not apply to lr_schedule {name!r}"
                + (f" (it uses: {', '.join(_USES[name])})" if _USES[name] else "")
            )
    if total_steps is not None:
        total_steps = _int(total_steps, "training.steps", 1)
    kwargs: dict = {}
    if name in ("linear", "cosine"):
        if total_steps is None:
            raise ScenarioError(f"training.steps: lr_schedule {name!r} needs the total step count")
        if warmup_steps >= total_steps:
            raise ScenarioError(
                f"training.warmup_steps: {warmup_steps} warm-up steps leave no room to decay "
                f"within training.steps = {total_steps}"
            )
        floor = 0.0 if min_lr is None else _real(min_lr, "training.min_lr")
        if not 0.0 <= floor <= base_lr:
            raise ScenarioError(
                f"training.min_lr: must lie in [0, training.lr = {base_lr:g}], got {min_lr!r}"
            )
        kwargs["min_lr"] = floor
    elif name == "step":
        if decay_every is None:
            raise ScenarioError("training.decay_every: required by lr_schedule 'step'")
        kwargs["decay_every"] = _int(decay_every, "training.decay_every", 1)
        if decay_factor is not None:
            factor = _real(decay_factor, "training.decay_factor")
            if not 0.0 < factor <= 1.0:
                raise ScenarioError(
                    f"training.decay_factor: must lie in (0, 1], got {decay_factor!r}"
                )
            kwargs["decay_factor"] = factor
    return Schedule(name, base_lr, warmup_steps, total_steps, **kwargs)


class ScheduledOptimizer(Optimizer):
    """An optimizer whose every step uses the learning rate of a schedule.

    Update ``t`` (counted by this wrapper from 0) uses ``schedule(t)`` unless the
    caller passes ``lr`` explicitly. Give every replica (and every per-bucket
    optimizer of a parameter server) its own wrapper: each is stepped once per
    training step, so their counters stay equal to the global step.

    Parameters
    ----------
    optimizer : Optimizer
        The wrapped optimizer (its own ``lr`` is then unused).
    schedule : callable
        ``step -> lr``, e.g. from :func:`make_schedule`.

    Examples
    --------
    >>> import numpy as np
    >>> from netsim.training.optimizers import SGD
    >>> opt = ScheduledOptimizer(SGD(lr=1.0), make_schedule("constant", 1.0, warmup_steps=2))
    >>> p = opt.step(np.array([1.0]), np.array([1.0]))  # lr 0.5
    >>> opt.step(p, np.array([1.0])), opt.steps  # lr 1.0
    (array([-0.5]), 2)
    """

    def __init__(self, optimizer: Optimizer, schedule: Callable[[int], float]) -> None:
        self.optimizer = optimizer
        self.schedule = schedule
        self.steps = 0

    def __repr__(self) -> str:
        return f"ScheduledOptimizer({self.optimizer!r}, {self.schedule!r})"

    @property
    def lr(self) -> float:
        """Learning rate of the next update."""
        return float(self.schedule(self.steps))

    def step(self, params: np.ndarray, grad: np.ndarray, lr: float | None = None) -> np.ndarray:
        """Step the wrapped optimizer with ``schedule(t)`` (or ``lr`` if given); ``t += 1``."""
        new = self.optimizer.step(params, grad, lr=self.lr if lr is None else lr)
        self.steps += 1
        return new

    def state_bytes(self) -> int:
        """The wrapped optimizer's state (the step counter is not counted)."""
        return self.optimizer.state_bytes()
