"""The NumPy training kernel: models, data, optimizers and compute time.

Everything here is plain NumPy and is tested without SimPy; only
``netsim.training.sync`` drives it inside a simulation.
"""

from netsim.training.compute import ComputeModel
from netsim.training.data import (
    DATASETS,
    SHARDING_METHODS,
    BatchSampler,
    Dataset,
    make_classification,
    make_dataset,
    make_regression,
    shard,
)
from netsim.training.models import MODELS, LinearRegression, LogisticRegression, Model, make_model
from netsim.training.optimizers import OPTIMIZERS, SGD, Optimizer, make_optimizer

__all__ = [
    # models
    "Model",
    "LogisticRegression",
    "LinearRegression",
    "MODELS",
    "make_model",
    # data
    "Dataset",
    "make_classification",
    "make_regression",
    "DATASETS",
    "make_dataset",
    "SHARDING_METHODS",
    "shard",
    "BatchSampler",
    # optimizers
    "Optimizer",
    "SGD",
    "OPTIMIZERS",
    "make_optimizer",
    # compute
    "ComputeModel",
]
