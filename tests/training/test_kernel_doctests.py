"""Run the Examples sections of the training-kernel modules added beside models/data/optimizers."""

import doctest

import pytest

from netsim.training import bundled, clipping, lm, mlp, model_base, sampling, schedules, sharding

MODULES = [model_base, mlp, lm, sharding, bundled, sampling, clipping, schedules]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
