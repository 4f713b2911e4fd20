"""The NumPy training kernel: models, data, optimizers and compute time.

Everything here is plain NumPy and is tested without SimPy; only
``netsim.training.sync`` drives it inside a simulation.
"""

from netsim.training.clipping import clip_grad_norm, clip_weights
from netsim.training.compute import ComputeModel, Straggler
from netsim.training.data import (
    DATASETS,
    SHARDING_METHODS,
    BatchSampler,
    Dataset,
    label_histograms,
    make_classification,
    make_dataset,
    make_iris,
    make_regression,
    make_text,
    shard,
)
from netsim.training.models import (
    MLP,
    MODELS,
    CharLM,
    LinearRegression,
    LogisticRegression,
    Model,
    make_model,
)
from netsim.training.optimizers import OPTIMIZERS, SGD, Adam, AdamW, Optimizer, make_optimizer
from netsim.training.schedules import SCHEDULES, Schedule, ScheduledOptimizer, make_schedule

__all__ = [
    # models
    "Model",
    "LogisticRegression",
    "LinearRegression",
    "MLP",
    "CharLM",
    "MODELS",
    "make_model",
    # data
    "Dataset",
    "make_classification",
    "make_regression",
    "make_iris",
    "make_text",
    "DATASETS",
    "make_dataset",
    "SHARDING_METHODS",
    "shard",
    "label_histograms",
    "BatchSampler",
    # optimizers
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "OPTIMIZERS",
    "make_optimizer",
    "clip_grad_norm",
    "clip_weights",
    # learning-rate schedules
    "SCHEDULES",
    "Schedule",
    "make_schedule",
    "ScheduledOptimizer",
    # compute
    "ComputeModel",
    "Straggler",
]
