"""Optimizers over flat parameter vectors (PyTorch update semantics).

An optimizer turns ``(params, grad)`` into new parameters and keeps its own
state (e.g. the momentum buffer). New optimizers subclass :class:`Optimizer`
and are registered in :data:`OPTIMIZERS`: ``sgd`` (momentum, Nesterov, L2 weight
decay), ``adam`` (L2 weight decay added to the gradient) and ``adamw`` (decoupled
weight decay).

Every step takes an optional learning rate, ``step(params, grad, lr=None)``, which
overrides the constructor's ``lr`` for that step (learning-rate schedules, see
:mod:`netsim.training.schedules`).

Every optimizer here is **element-wise**: the update of parameter ``i`` depends only
on ``params[i]``, ``grad[i]``, its own state and the step count. Applying one
optimizer per slice of the vector (as the parameter server in
:mod:`netsim.training.sync` does, one per bucket) therefore gives exactly the update
of one optimizer on the whole vector, provided every slice is stepped once per step.
Operations that couple elements, such as clipping by the *global* gradient norm
(:func:`netsim.training.clipping.clip_grad_norm`), must be applied to the full
(averaged) gradient before it is sliced.

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

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "OPTIMIZERS", "make_optimizer"]


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
    """Stateful update rule ``params, grad -> new params`` on flat ``float64`` vectors.

    Subclasses set ``self.lr`` and implement :meth:`step` and :meth:`state_bytes`.
    """

    lr: float

    @abstractmethod
    def step(self, params: np.ndarray, grad: np.ndarray, lr: float | None = None) -> np.ndarray:
        """Apply one update.

        Parameters
        ----------
        params : numpy.ndarray
            Current parameters, shape ``(n,)``; not modified.
        grad : numpy.ndarray
            Gradient of the loss at ``params``, shape ``(n,)``; not modified.
        lr : float, optional
            Learning rate of this step (``>= 0``, finite); default the optimizer's
            ``lr``. Used by learning-rate schedules.

        Returns
        -------
        numpy.ndarray
            The new parameters, a new array of shape ``(n,)``.
        """

    @abstractmethod
    def state_bytes(self) -> int:
        """Bytes of optimizer state currently held (e.g. momentum buffers)."""

    def _step_lr(self, lr: float | None) -> float:
        """The learning rate of this step: ``lr`` if given (validated), else ``self.lr``."""
        if lr is None:
            return self.lr
        ok = not isinstance(lr, bool) and isinstance(lr, int | float | np.integer | np.floating)
        if not ok or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"the step's learning rate must be a finite number >= 0, got {lr!r}")
        return float(lr)

    @staticmethod
    def _check_shapes(params: np.ndarray, grad: np.ndarray) -> None:
        if params.shape != grad.shape or params.ndim != 1:
            raise ValueError(
                f"params and grad must be 1-D of equal shape, got {params.shape} and {grad.shape}"
            )


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

    def step(self, params: np.ndarray, grad: np.ndarray, lr: float | None = None) -> np.ndarray:
        """Apply one SGD update and return the new parameters (see :meth:`Optimizer.step`)."""
        self._check_shapes(params, grad)
        lr = self._step_lr(lr)
        d = grad + self.weight_decay * params if self.weight_decay else grad
        if self.momentum == 0.0:
            return params - lr * d
        if self._velocity is None:
            self._velocity = np.array(d, dtype=np.float64)
        elif self._velocity.shape != d.shape:
            raise ValueError(
                f"gradient shape {d.shape} differs from the momentum buffer {self._velocity.shape}"
            )
        else:
            self._velocity = self.momentum * self._velocity + d
        update = d + self.momentum * self._velocity if self.nesterov else self._velocity
        return params - lr * update

    def state_bytes(self) -> int:
        """Bytes of the momentum buffer: ``8 · n`` after the first step with momentum, else 0."""
        return 0 if self._velocity is None else int(self._velocity.nbytes)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with ``torch.optim.Adam`` semantics.

    For step ``t = 1, 2, …`` (``m``, ``v`` start at 0)::

        g = grad + weight_decay * params                (L2 penalty, coupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g²
        v_max = max(v_max, v)                           (amsgrad only; v̂ uses v_max)
        m̂ = m / (1 - beta1^t);   v̂ = v / (1 - beta2^t)
        params = params - lr * m̂ / (√v̂ + eps)

    Parameters
    ----------
    lr : float
        Learning rate, ``> 0`` and finite.
    beta1, beta2 : float, optional
        Decay rates of the first and second moment estimates, in ``[0, 1)``
        (PyTorch's ``betas``; defaults 0.9 and 0.999).
    eps : float, optional
        Added to the denominator, ``> 0`` (default 1e-8). (PyTorch also accepts 0.)
    weight_decay : float, optional
        L2 penalty coefficient added to the gradient, ``>= 0`` (default 0).
    amsgrad : bool, optional
        Use the AMSGrad variant (running maximum of ``v``).

    Raises
    ------
    ScenarioError
        For an invalid value; the message names ``training.<parameter>``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Adam(lr=0.1)
    >>> opt.step(np.array([1.0, 1.0]), np.array([0.5, -2.0]))  # first step: lr · sign(g)
    array([0.9, 1.1])
    >>> opt.state_bytes()
    32
    """

    decoupled = False

    def __init__(
        self,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        self.lr = _check_real(lr, "training.lr", 0.0, math.inf, low_open=True)
        self.beta1 = _check_real(beta1, "training.beta1", 0.0, 1.0, low_open=False)
        self.beta2 = _check_real(beta2, "training.beta2", 0.0, 1.0, low_open=False)
        self.eps = _check_real(eps, "training.eps", 0.0, math.inf, low_open=True)
        self.weight_decay = _check_real(
            weight_decay, "training.weight_decay", 0.0, math.inf, low_open=False
        )
        if not isinstance(amsgrad, bool | np.bool_):
            raise ScenarioError(f"training.amsgrad: must be true or false, got {amsgrad!r}")
        self.amsgrad = bool(amsgrad)
        self.steps = 0
        self._m: np.ndarray | None = None
        self._v: np.ndarray | None = None
        self._v_max: np.ndarray | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(lr={self.lr!r}, beta1={self.beta1!r}, beta2={self.beta2!r}, "
            f"eps={self.eps!r}, weight_decay={self.weight_decay!r}, amsgrad={self.amsgrad!r})"
        )

    def step(self, params: np.ndarray, grad: np.ndarray, lr: float | None = None) -> np.ndarray:
        """Apply one Adam update and return the new parameters (see :meth:`Optimizer.step`)."""
        self._check_shapes(params, grad)
        lr = self._step_lr(lr)
        if self._m is None:
            self._m = np.zeros_like(grad, dtype=np.float64)
            self._v = np.zeros_like(grad, dtype=np.float64)
            if self.amsgrad:
                self._v_max = np.zeros_like(grad, dtype=np.float64)
        elif self._m.shape != grad.shape:
            raise ValueError(
                f"gradient shape {grad.shape} differs from the moment buffers {self._m.shape}"
            )
        if self.decoupled:
            params = params * (1.0 - lr * self.weight_decay) if self.weight_decay else params
        elif self.weight_decay:
            grad = grad + self.weight_decay * params
        self.steps += 1
        t = self.steps
        self._m = self.beta1 * self._m + (1.0 - self.beta1) * grad
        self._v = self.beta2 * self._v + (1.0 - self.beta2) * grad * grad
        second = self._v
        if self.amsgrad:
            self._v_max = np.maximum(self._v_max, self._v)
            second = self._v_max
        # the order of operations of torch.optim.Adam (single-tensor implementation)
        step_size = lr / (1.0 - self.beta1**t)
        denom = np.sqrt(second) / math.sqrt(1.0 - self.beta2**t) + self.eps
        return params - step_size * self._m / denom

    def state_bytes(self) -> int:
        """Bytes of the moment buffers once stepped: ``16 · n``, ``24 · n`` with amsgrad; else 0."""
        buffers = (self._m, self._v, self._v_max)
        return sum(int(b.nbytes) for b in buffers if b is not None)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.

    ``torch.optim.AdamW`` semantics: each step first shrinks the parameters,
    ``params = params * (1 - lr * weight_decay)`` (with the step's ``lr``), then
    applies the Adam update of :class:`Adam` to the *unpenalised* gradient. The
    default ``weight_decay`` is 0.01, as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> AdamW(lr=0.1, weight_decay=0.5).step(np.array([2.0]), np.array([1.0]))
    array([1.8])
    """

    decoupled = True

    def __init__(
        self,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay, amsgrad)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def make_optimizer(name: str, **kwargs: object) -> Optimizer:
    """Build a registered optimizer by name.

    Parameters
    ----------
    name : str
        A key of :data:`OPTIMIZERS` (``"sgd"``, ``"adam"``, ``"adamw"``).
    **kwargs
        Constructor arguments (for ``"sgd"``: ``lr``, ``momentum``, ``nesterov``,
        ``weight_decay``; for ``"adam"`` and ``"adamw"``: ``lr``, ``beta1``,
        ``beta2``, ``eps``, ``weight_decay``, ``amsgrad``).

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
    AdamW(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01, amsgrad=False)
    >>> make_optimizer("lamb", lr=0.1)
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: training.optimizer: unknown optimizer 'lamb'; accepted: adam, adamw, sgd
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
