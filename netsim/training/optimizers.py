"""Optimizers over flat parameter vectors (PyTorch update semantics).

An optimizer turns ``(params, grad)`` into new parameters and keeps its own
state (e.g. the momentum buffer). New optimizers subclass :class:`Optimizer`
and are registered in :data:`OPTIMIZERS`.

Examples
--------
>>> import numpy as np
>>> opt = make_optimizer("sgd", lr=0.1, momentum=0.9)
>>> opt.step(np.array([1.0, 2.0]), np.array([1.0, -1.0]))
array([0.9, 2.1])
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod

import numpy as np

from netsim.exceptions import ScenarioError

__all__ = ["Optimizer", "SGD", "OPTIMIZERS", "make_optimizer"]


def _check_real(value: object, field: str, low: float, high: float, *, low_open: bool) -> float:
    """Return ``value`` as float if it is a finite number in the given interval (``high`` open)."""
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > low if low_open else value >= low) and value < high
    if not ok:
        bracket = "(" if low_open else "["
        upper = "inf" if math.isinf(high) else f"{high:g}"
        raise ScenarioError(
            f"{field}: must be a finite number in {bracket}{low:g}, {upper}), got {value!r}"
        )
    return value


class Optimizer(ABC):
    """Stateful update rule ``params, grad -> new params`` on flat ``float64`` vectors."""

    @abstractmethod
    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Apply one update.

        Parameters
        ----------
        params : numpy.ndarray
            Current parameters, shape ``(n,)``; not modified.
        grad : numpy.ndarray
            Gradient of the loss at ``params``, shape ``(n,)``; not modified.

        Returns
        -------
        numpy.ndarray
            The new parameters, a new array of shape ``(n,)``.
        """

    @abstractmethod
    def state_bytes(self) -> int:
        """Bytes of optimizer state currently held (e.g. momentum buffers)."""


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and weight decay.

    Follows ``torch.optim.SGD`` (no dampening). For each step::

        d = grad + weight_decay * params
        v = momentum * v + d            (v starts at 0, so v = d on the first step)
        update = d + momentum * v  if nesterov else  v
        params = params - lr * update

    Parameters
    ----------
    lr : float
        Learning rate, ``> 0`` and finite.
    momentum : float, optional
        Momentum factor ``μ`` in ``[0, 1)``.
    nesterov : bool, optional
        Use Nesterov momentum. Unlike PyTorch, ``momentum = 0`` is accepted
        (the update is then plain SGD), so sweeps over momentum may include 0.
    weight_decay : float, optional
        L2 penalty coefficient, ``>= 0`` and finite.

    Raises
    ------
    ScenarioError
        For an invalid value; the message names ``training.lr``,
        ``training.momentum``, ``training.nesterov`` or ``training.weight_decay``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = SGD(lr=0.5)
    >>> opt.step(np.array([1.0]), np.array([2.0]))
    array([0.])
    >>> opt.state_bytes()
    0
    """

    def __init__(
        self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
    ) -> None:
        self.lr = _check_real(lr, "training.lr", 0.0, math.inf, low_open=True)
        self.momentum = _check_real(momentum, "training.momentum", 0.0, 1.0, low_open=False)
        self.weight_decay = _check_real(
            weight_decay, "training.weight_decay", 0.0, math.inf, low_open=False
        )
        if not isinstance(nesterov, bool | np.bool_):
            raise ScenarioError(f"training.nesterov: must be true or false, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        self._velocity: np.ndarray | None = None

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr!r}, momentum={self.momentum!r}, nesterov={self.nesterov!r}, "
            f"weight_decay={self.weight_decay!r})"
        )

    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Apply one SGD update and return the new parameters (see :meth:`Optimizer.step`)."""
        if params.shape != grad.shape or params.ndim != 1:
            raise ValueError(
                f"params and grad must be 1-D of equal shape, got {params.shape} and {grad.shape}"
            )
        d = grad + self.weight_decay * params if self.weight_decay else grad
        if self.momentum == 0.0:
            return params - self.lr * d
        if self._velocity is None:
            self._velocity = np.array(d, dtype=np.float64)
        elif self._velocity.shape != d.shape:
            raise ValueError(
                f"gradient shape {d.shape} differs from the momentum buffer {self._velocity.shape}"
            )
        else:
            self._velocity = self.momentum * self._velocity + d
        update = d + self.momentum * self._velocity if self.nesterov else self._velocity
        return params - self.lr * update

    def state_bytes(self) -> int:
        """Bytes of the momentum buffer: ``8 · n`` after the first step with momentum, else 0."""
        return 0 if self._velocity is None else int(self._velocity.nbytes)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD}


def make_optimizer(name: str, **kwargs: object) -> Optimizer:
    """Build a registered optimizer by name.

    Parameters
    ----------
    name : str
        A key of :data:`OPTIMIZERS` (``"sgd"``).
    **kwargs
        Constructor arguments (for ``"sgd"``: ``lr``, ``momentum``, ``nesterov``,
        ``weight_decay``).

    Returns
    -------
    Optimizer

    Raises
    ------
    ScenarioError
        If the name is unknown (``training.optimizer``), an argument is unknown or
        missing (``training.<argument>``), or a value is invalid.

    Examples
    --------
    >>> make_optimizer("sgd", lr=0.1)
    SGD(lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0)
    >>> make_optimizer("adamw", lr=0.1)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.optimizer: unknown optimizer 'adamw'; accepted: sgd
    """
    cls = OPTIMIZERS.get(name)
    if cls is None:
        accepted = ", ".join(sorted(OPTIMIZERS))
        raise ScenarioError(f"training.optimizer: unknown optimizer {name!r}; accepted: {accepted}")
    parameters = dict(inspect.signature(cls).parameters)
    for key in kwargs:
        if key not in parameters:
            raise ScenarioError(
                f"training.{key}: not an option of optimizer {name!r}; accepted: {', '.join(parameters)}"
            )
    for key, parameter in parameters.items():
        if parameter.default is inspect.Parameter.empty and key not in kwargs:
            raise ScenarioError(f"training.{key}: required by optimizer {name!r}")
    return cls(**kwargs)
