"""A data-parallel training job: model, data shards, per-worker state, evaluation.

Pure NumPy (no SimPy): :mod:`netsim.training.sync` drives a job inside a simulation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from netsim.training.clipping import clip_grad_norm, clip_weights
from netsim.training.compute import ComputeModel
from netsim.training.data import BatchSampler, Dataset
from netsim.training.models import Model
from netsim.training.optimizers import Optimizer

__all__ = ["TrainingJob", "WorkerState"]


@dataclass
class WorkerState:
    """One worker's replica: parameters (shape ``(num_params,)``), optimizer and batch sampler."""

    rank: int
    params: np.ndarray
    optimizer: Optimizer
    sampler: BatchSampler


@dataclass
class TrainingJob:
    """Everything a synchronisation scheme needs to train for real.

    Parameters
    ----------
    model : Model
        The NumPy model (flat parameter vector).
    dataset : Dataset
        Training and held-out data.
    shards : list of numpy.ndarray
        Training-sample indices of each worker (one array per worker).
    batch_size : int
        Samples per worker per step.
    steps : int
        Training steps.
    compute : ComputeModel
        Gives the simulated compute time of a step.
    make_optimizer : callable
        ``make_optimizer() -> Optimizer``; one fresh optimizer per replica (and server).
    initial_params : numpy.ndarray
        Starting parameters, shape ``(model.num_params,)``.
    sampler_rngs : list of numpy.random.Generator
        One batch-sampling generator per worker.
    eval_every : int
        Evaluate on the held-out split every this many steps (and after the last).
    compute_rngs : list of numpy.random.Generator, optional
        One generator per worker for the compute model's straggler noise.
    clip_grad_norm : float, optional
        Clip the averaged gradient to this global norm before the update (PyTorch's
        ``clip_grad_norm_``; ``clip_norm_type`` is the norm's order).
    clip_weights : float, optional
        Clip every parameter to ``[-clip_weights, clip_weights]`` after the update.
    stretch : callable, optional
        ``stretch(worker, seconds) -> seconds``: transient slowdowns of a computation
        starting now (straggler faults, :mod:`netsim.faults.stragglers`), applied to
        the compute model's time.
    """

    model: Model
    dataset: Dataset
    shards: list[np.ndarray]
    batch_size: int
    steps: int
    compute: ComputeModel
    make_optimizer: Callable[[], Optimizer]
    initial_params: np.ndarray
    sampler_rngs: list[np.random.Generator]
    eval_every: int = 1
    compute_rngs: list[np.random.Generator] | None = None
    clip_grad_norm: float | None = None
    clip_norm_type: float = 2.0
    clip_weights: float | None = None
    stretch: Callable[[int, float], float] | None = None
    _flops: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if len(self.shards) != len(self.sampler_rngs):
            raise ValueError("one sampler generator per shard is required")
        self._flops = self.model.flops_per_sample()

    @property
    def workers(self) -> int:
        """Number of data-parallel workers."""
        return len(self.shards)

    @property
    def model_bytes(self) -> int:
        """Bytes of one copy of the parameters (and of one full gradient)."""
        return int(self.initial_params.nbytes)

    def new_worker(self, rank: int) -> WorkerState:
        """A fresh replica for worker ``rank`` (own parameter copy, optimizer, sampler)."""
        sampler = BatchSampler(self.shards[rank], self.batch_size, self.sampler_rngs[rank])
        return WorkerState(rank, self.initial_params.copy(), self.make_optimizer(), sampler)

    def gradient(self, state: WorkerState) -> tuple[float, np.ndarray, float]:
        """Draw the worker's next batch and compute its gradient.

        Returns
        -------
        loss : float
            Mean training loss on the batch (before the update).
        grad : numpy.ndarray of shape (num_params,)
            Mean gradient over the batch.
        compute_time : float
            Simulated seconds the computation takes (from the compute model).
        """
        batch = state.sampler.next_batch()
        data = self.dataset
        loss, grad = self.model.loss_and_grad(state.params, data.X_train[batch], data.y_train[batch])
        rng = self.compute_rngs[state.rank] if self.compute_rngs is not None else None
        seconds = self.compute.compute_time(len(batch), self._flops, worker=state.rank, rng=rng)
        if self.stretch is not None:
            seconds = self.stretch(state.rank, seconds)
        return loss, grad, seconds

    def update(self, state: WorkerState, mean_grad: np.ndarray) -> np.ndarray:
        """Apply one step of the worker's optimizer with the averaged gradient (clipping included).

        Returns the new parameters (shape ``(num_params,)``); ``mean_grad`` is clipped to
        ``clip_grad_norm`` first and the result to ``clip_weights``, if set.
        """
        if self.clip_grad_norm is not None:
            mean_grad, _ = clip_grad_norm(mean_grad, self.clip_grad_norm, self.clip_norm_type)
        params = state.optimizer.step(state.params, mean_grad)
        if self.clip_weights is not None:
            params = clip_weights(params, self.clip_weights)
        return params

    def should_evaluate(self, step: int) -> bool:
        """Whether step ``step`` (0-based) ends with an evaluation."""
        return (step + 1) % self.eval_every == 0 or step == self.steps - 1

    def evaluate(self, params: np.ndarray) -> tuple[float, float]:
        """Held-out ``(loss, accuracy)`` of ``params`` (accuracy is R² for regression)."""
        data = self.dataset
        return (
            self.model.loss(params, data.X_test, data.y_test),
            self.model.accuracy(params, data.X_test, data.y_test),
        )
