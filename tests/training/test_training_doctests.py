"""Run the Examples sections of the training modules as doctests."""

import doctest

import pytest

from netsim.training import compute, data, models, optimizers


@pytest.mark.parametrize("module", [models, data, optimizers, compute], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
