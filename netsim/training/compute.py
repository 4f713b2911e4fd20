"""Simulated compute time of a training step (never measured from wall time).

A step's compute time comes either from the device rate and the model's FLOPs,
or from a fixed per-step time given in the scenario.

Examples
--------
>>> ComputeModel(flops_per_second=1e12).compute_time(n_samples=32, flops_per_sample=6e9)
0.192
>>> ComputeModel(step_time=0.05).compute_time(32, 6e9)
0.05
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from netsim.exceptions import ScenarioError

__all__ = ["ComputeModel"]


def _positive(value: object, field: str, unit: str) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ScenarioError(f"{field}: must be a positive finite number of {unit}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ComputeModel:
    """Time to compute forward + backward for a mini-batch on one worker.

    Exactly one of the two parameters must be given.

    Parameters
    ----------
    flops_per_second : float, optional
        Sustained device rate in FLOP/s (``> 0``); the step time is then
        ``n_samples * flops_per_sample / flops_per_second``.
    step_time : float, optional
        Fixed compute time per step in seconds (``> 0``), whatever the batch.

    Raises
    ------
    ScenarioError
        If neither or both are given, or a value is not a positive finite
        number; the message names ``compute.flops_per_second`` /
        ``compute.step_time``.

    Examples
    --------
    >>> ComputeModel()
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: compute.flops_per_second / compute.step_time: give exactly one, got neither
    """

    flops_per_second: float | None = None
    step_time: float | None = None

    def __post_init__(self) -> None:
        given = (self.flops_per_second is not None, self.step_time is not None)
        if given.count(True) != 1:
            which = "both" if all(given) else "neither"
            raise ScenarioError(
                f"compute.flops_per_second / compute.step_time: give exactly one, got {which}"
            )
        if self.flops_per_second is not None:
            rate = _positive(self.flops_per_second, "compute.flops_per_second", "FLOP/s")
            object.__setattr__(self, "flops_per_second", rate)
        else:
            seconds = _positive(self.step_time, "compute.step_time", "seconds")
            object.__setattr__(self, "step_time", seconds)

    def compute_time(self, n_samples: int, flops_per_sample: float) -> float:
        """Compute time of one step.

        Parameters
        ----------
        n_samples : int
            Samples in the worker's mini-batch (``>= 0``).
        flops_per_sample : float
            Training FLOPs per sample (forward + backward, ``>= 0``), e.g.
            :meth:`netsim.training.models.Model.flops_per_sample`.

        Returns
        -------
        float
            Seconds of simulated time: ``step_time`` if set, else
            ``n_samples * flops_per_sample / flops_per_second``.

        Raises
        ------
        ValueError
            If ``n_samples`` or ``flops_per_sample`` is negative or not finite.
        """
        if not (n_samples >= 0 and math.isfinite(n_samples)):
            raise ValueError(f"n_samples must be a non-negative count, got {n_samples!r}")
        if not (flops_per_sample >= 0 and math.isfinite(flops_per_sample)):
            raise ValueError(
                f"flops_per_sample must be a non-negative finite number, got {flops_per_sample!r}"
            )
        if self.step_time is not None:
            return self.step_time
        return n_samples * flops_per_sample / self.flops_per_second
