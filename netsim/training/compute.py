"""Simulated compute time of a training step (never measured from wall time).

A step's compute time on worker ``k`` is::

    base_k × slowdown_k × M

* ``base_k``: ``n_samples · flops_per_sample / rate_k`` with ``rate_k`` the common
  ``flops_per_second`` or the worker's entry of ``worker_rates`` (heterogeneous
  devices), or a fixed ``step_time`` whatever the batch;
* ``slowdown_k``: a deterministic per-worker multiplier ("worker 3 is 3× slower"),
  1 by default;
* ``M``: a random straggler multiplier drawn from a :class:`Straggler` distribution,
  1 when none is configured.

Randomness comes only from the :class:`numpy.random.Generator` the caller passes to
:meth:`ComputeModel.compute_time`, one generator **per worker**, so a worker's draws
do not depend on how the simulation interleaves workers. The runner should derive
them from its root ``SeedSequence`` as one child per worker, e.g.
``[np.random.default_rng(s) for s in compute_stream.spawn(workers)]`` (with the
``compute`` stream appended *after* the existing streams, so their seeds do not
change), and call ``compute_time`` once per (worker, step), in step order.

Examples
--------
>>> ComputeModel(flops_per_second=1e12).compute_time(n_samples=32, flops_per_sample=6e9)
0.192
>>> ComputeModel(step_time=0.05).compute_time(32, 6e9)
0.05
>>> model = ComputeModel(worker_rates=[1e12, 5e11], slowdown={"1": 2.0})
>>> model.compute_time(32, 6e9, worker=1)
0.768
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = ["ComputeModel", "Straggler", "STRAGGLER_DISTRIBUTIONS"]

STRAGGLER_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "lognormal": ("sigma",),
    "exponential": ("mean",),
    "bernoulli": ("probability", "factor"),
}
"""Straggler distributions and their parameters (``compute.straggler.<parameter>``)."""


def _is_real(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def _positive(value: object, field: str, unit: str) -> float:
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ScenarioError(f"{field}: must be a positive finite number of {unit}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Straggler:
    """Random multiplier ``M`` of a worker's compute time, one draw per step.

    ``lognormal``
        ``M = exp(sigma · Z)``, ``Z ~ N(0, 1)``: median 1, mean ``exp(sigma²/2)``.
        ``sigma >= 0``.
    ``exponential``
        ``M = 1 + Exp(mean)`` (shifted exponential, the usual model of coded
        computing): never faster than nominal, ``E[M] = 1 + mean``. ``mean >= 0``.
    ``bernoulli``
        ``M = factor`` with probability ``probability``, else 1: occasional
        stragglers. ``probability`` in ``[0, 1]``, ``factor > 0``.

    Each :meth:`sample` consumes exactly one variate of the generator
    (``standard_normal``, ``exponential`` or ``random``).

    Raises
    ------
    ScenarioError
        For an unknown distribution (``compute.straggler.distribution``), a missing,
        foreign or invalid parameter (``compute.straggler.<parameter>``).

    Examples
    --------
    >>> import numpy as np
    >>> s = Straggler.from_spec({"distribution": "bernoulli", "probability": 0.1, "factor": 4})
    >>> s.mean()
    1.3
    >>> s.sample(np.random.default_rng(0)) in (1.0, 4.0)
    True
    """

    distribution: str
    sigma: float | None = None
    mean_delay: float | None = None
    probability: float | None = None
    factor: float | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, object]) -> Straggler:
        """Build from a scenario table, e.g. ``{"distribution": "lognormal", "sigma": 0.3}``.

        (The ``exponential`` distribution's ``mean`` key maps to :attr:`mean_delay`.)
        """
        if not isinstance(spec, Mapping) or "distribution" not in spec:
            raise ScenarioError(
                "compute.straggler: must be a table with a 'distribution' key "
                f"({', '.join(STRAGGLER_DISTRIBUTIONS)}), got {spec!r}"
            )
        distribution = spec["distribution"]
        if distribution not in STRAGGLER_DISTRIBUTIONS:
            raise ScenarioError(
                f"compute.straggler.distribution: unknown distribution {distribution!r}; "
                f"accepted: {', '.join(STRAGGLER_DISTRIBUTIONS)}"
            )
        accepted = STRAGGLER_DISTRIBUTIONS[distribution]
        params = {}
        for key, value in spec.items():
            if key == "distribution":
                continue
            if key not in accepted:
                raise ScenarioError(
                    f"compute.straggler.{key}: not a parameter of the {distribution!r} "
                    f"distribution; accepted: {', '.join(accepted)}"
                )
            params["mean_delay" if key == "mean" else key] = value
        return cls(distribution, **params)

    def __post_init__(self) -> None:
        if self.distribution not in STRAGGLER_DISTRIBUTIONS:
            raise ScenarioError(
                f"compute.straggler.distribution: unknown distribution {self.distribution!r}; "
                f"accepted: {', '.join(STRAGGLER_DISTRIBUTIONS)}"
            )
        names = {
            "sigma": "sigma",
            "mean_delay": "mean",
            "probability": "probability",
            "factor": "factor",
        }
        accepted = STRAGGLER_DISTRIBUTIONS[self.distribution]
        for attribute, key in names.items():
            value = getattr(self, attribute)
            field_name = f"compute.straggler.{key}"
            if key not in accepted:
                if value is not None:
                    raise ScenarioError(
                        f"{field_name}: not a parameter of the {self.distribution!r} "
                        f"distribution; accepted: {', '.join(accepted)}"
                    )
                continue
            if value is None:
                raise ScenarioError(
                    f"{field_name}: required by the {self.distribution!r} distribution"
                )
            ok = _is_real(value) and math.isfinite(value)
            if key == "probability":
                ok = ok and 0.0 <= value <= 1.0
                rule = "a number in [0, 1]"
            elif key == "factor":
                ok = ok and 0 < value <= 1e6
                rule = "a positive finite number <= 1e6"
            elif key == "sigma":  # exp(sigma * z) must stay finite
                ok = ok and 0 <= value <= 10
                rule = "a finite number >= 0 and <= 10"
            else:
                ok = ok and 0 <= value <= 1e6
                rule = "a finite number >= 0 and <= 1e6"
            if not ok:
                raise ScenarioError(f"{field_name}: must be {rule}, got {value!r}")
            object.__setattr__(self, attribute, float(value))

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one multiplier ``M`` from ``rng`` (one variate)."""
        if self.distribution == "lognormal":
            return math.exp(self.sigma * float(rng.standard_normal()))
        if self.distribution == "exponential":
            return 1.0 + float(rng.exponential(self.mean_delay))
        return self.factor if float(rng.random()) < self.probability else 1.0

    def mean(self) -> float:
        """``E[M]``, the expected multiplier."""
        if self.distribution == "lognormal":
            return math.exp(self.sigma**2 / 2.0)
        if self.distribution == "exponential":
            return 1.0 + self.mean_delay
        return 1.0 + self.probability * (self.factor - 1.0)


def _normalise_slowdown(slowdown: object) -> tuple[tuple[tuple[int, float], ...], int | None]:
    """``(((worker, factor), ...), list length or None)`` from a mapping or a list."""
    if isinstance(slowdown, Mapping):
        items, length = list(slowdown.items()), None
    elif isinstance(slowdown, Sequence | np.ndarray) and not isinstance(slowdown, str):
        items, length = list(enumerate(slowdown)), len(slowdown)
    else:
        raise ScenarioError(
            "compute.slowdown: must be a table {worker = factor} or a list of per-worker "
            f"factors, got {slowdown!r}"
        )
    pairs = {}
    for key, factor in items:
        worker = key
        if isinstance(key, str) and key.isdigit():
            worker = int(key)
        if isinstance(worker, bool) or not isinstance(worker, int | np.integer) or worker < 0:
            raise ScenarioError(f"compute.slowdown: worker keys must be integers >= 0, got {key!r}")
        if not _is_real(factor) or not math.isfinite(factor) or factor <= 0:
            raise ScenarioError(
                f"compute.slowdown: the factor of worker {worker} must be a positive finite "
                f"number, got {factor!r}"
            )
        if int(worker) in pairs:
            raise ScenarioError(f"compute.slowdown: worker {worker} is given twice")
        pairs[int(worker)] = float(factor)
    return tuple(sorted(pairs.items())), length


@dataclass(frozen=True)
class ComputeModel:
    """Time to compute forward + backward for a mini-batch on one worker.

    Give exactly one of ``flops_per_second``, ``step_time`` and ``worker_rates``.

    Parameters
    ----------
    flops_per_second : float, optional
        Sustained device rate of every worker in FLOP/s (``> 0``); the step time is
        then ``n_samples * flops_per_sample / flops_per_second``.
    step_time : float, optional
        Fixed compute time per step in seconds (``> 0``), whatever the batch.
    worker_rates : sequence of float, optional
        Per-worker device rates in FLOP/s (heterogeneous workers), one per worker.
    slowdown : mapping or sequence, optional
        Deterministic per-worker multipliers of the compute time (``> 0``): a
        mapping ``{worker: factor}`` (keys may be digit strings, as TOML tables
        have) for the listed workers, others 1; or a list with one factor per
        worker. Stored as sorted ``(worker, factor)`` pairs.
    straggler : Straggler or mapping, optional
        Random per-step multiplier (see :class:`Straggler`), e.g.
        ``{"distribution": "lognormal", "sigma": 0.3}``.

    Raises
    ------
    ScenarioError
        For a missing or conflicting rate, or an invalid value; the message names
        ``compute.flops_per_second``, ``compute.step_time``, ``compute.worker_rates``,
        ``compute.slowdown`` or ``compute.straggler.*``.

    Examples
    --------
    >>> ComputeModel()
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: compute.flops_per_second / compute.step_time: give exactly one, got neither
    """

    flops_per_second: float | None = None
    step_time: float | None = None
    worker_rates: tuple[float, ...] | None = None
    slowdown: tuple[tuple[int, float], ...] | None = None
    straggler: Straggler | None = None
    _slowdown_length: int | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.worker_rates is not None:
            if self.flops_per_second is not None:
                raise ScenarioError(
                    "compute.worker_rates: give compute.flops_per_second or "
                    "compute.worker_rates, not both"
                )
            if self.step_time is not None:
                raise ScenarioError(
                    "compute.worker_rates: per-worker FLOP rates cannot be combined with "
                    "compute.step_time (use compute.slowdown to make workers slower)"
                )
            rates = self.worker_rates
            is_list = isinstance(rates, Sequence | np.ndarray) and not isinstance(rates, str)
            if not is_list or not len(rates):
                raise ScenarioError(
                    f"compute.worker_rates: must be a non-empty list of FLOP/s, got {rates!r}"
                )
            checked = tuple(_positive(r, "compute.worker_rates", "FLOP/s") for r in rates)
            object.__setattr__(self, "worker_rates", checked)
        else:
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
        if self.slowdown is not None:
            pairs, length = _normalise_slowdown(self.slowdown)
            object.__setattr__(self, "slowdown", pairs)
            object.__setattr__(self, "_slowdown_length", length)
        if self.straggler is not None and not isinstance(self.straggler, Straggler):
            object.__setattr__(self, "straggler", Straggler.from_spec(self.straggler))

    def check_workers(self, workers: int) -> None:
        """Check the per-worker settings against the number of workers.

        Raises
        ------
        ScenarioError
            If ``worker_rates`` (``compute.worker_rates``) or a ``slowdown`` list does
            not have one entry per worker, or a ``slowdown`` key names no worker
            (``compute.slowdown``).
        """
        if self.worker_rates is not None and len(self.worker_rates) != workers:
            raise ScenarioError(
                f"compute.worker_rates: {len(self.worker_rates)} rates given for {workers} workers"
            )
        if self._slowdown_length is not None and self._slowdown_length != workers:
            raise ScenarioError(
                f"compute.slowdown: {self._slowdown_length} factors given for {workers} workers"
            )
        for worker, _ in self.slowdown or ():
            if worker >= workers:
                raise ScenarioError(
                    f"compute.slowdown: worker {worker} does not exist ({workers} workers: "
                    f"0 to {workers - 1})"
                )

    def rate(self, worker: int = 0) -> float:
        """Device rate of ``worker`` in FLOP/s.

        Raises
        ------
        ValueError
            With a fixed ``step_time`` (no rate), or for a worker without a rate.
        """
        if self.worker_rates is not None:
            if not 0 <= worker < len(self.worker_rates):
                raise ValueError(
                    f"worker {worker} has no rate: compute.worker_rates lists "
                    f"{len(self.worker_rates)} workers"
                )
            return self.worker_rates[worker]
        if self.flops_per_second is None:
            raise ValueError("a fixed compute.step_time has no FLOP rate")
        return self.flops_per_second

    def slowdown_of(self, worker: int) -> float:
        """Deterministic multiplier of ``worker``'s compute time (1.0 if not listed)."""
        return dict(self.slowdown or ()).get(worker, 1.0)

    def compute_time(
        self,
        n_samples: int,
        flops_per_sample: float,
        worker: int = 0,
        rng: np.random.Generator | None = None,
    ) -> float:
        """Compute time of one step of one worker.

        Parameters
        ----------
        n_samples : int
            Samples in the worker's mini-batch (``>= 0``).
        flops_per_sample : float
            Training FLOPs per sample (forward + backward, ``>= 0``), e.g.
            :meth:`netsim.training.models.Model.flops_per_sample`.
        worker : int, optional
            The worker's rank (``>= 0``), selecting its rate and slowdown.
        rng : numpy.random.Generator, optional
            The worker's own generator; required when a straggler distribution is
            configured (one variate is drawn per call), unused otherwise.

        Returns
        -------
        float
            Seconds of simulated time: ``base × slowdown × M`` (module docstring).

        Raises
        ------
        ValueError
            If ``n_samples`` or ``flops_per_sample`` is negative or not finite, the
            worker is invalid, or a straggler is configured and ``rng`` is missing.
        """
        if not (n_samples >= 0 and math.isfinite(n_samples)):
            raise ValueError(f"n_samples must be a non-negative count, got {n_samples!r}")
        if not (flops_per_sample >= 0 and math.isfinite(flops_per_sample)):
            raise ValueError(
                f"flops_per_sample must be a non-negative finite number, got {flops_per_sample!r}"
            )
        if isinstance(worker, bool) or not isinstance(worker, int | np.integer) or worker < 0:
            raise ValueError(f"worker must be an integer >= 0, got {worker!r}")
        if self.step_time is not None:
            seconds = self.step_time
        else:
            seconds = n_samples * flops_per_sample / self.rate(worker)
        if self.slowdown:
            seconds *= self.slowdown_of(int(worker))
        if self.straggler is not None:
            if rng is None:
                raise ValueError(
                    "compute.straggler is set: pass the worker's numpy Generator as rng"
                )
            seconds *= self.straggler.sample(rng)
        return seconds
