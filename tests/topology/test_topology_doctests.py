"""Run the Examples sections of every netsim.topology module as doctests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import netsim.topology

MODULES = sorted(
    ["netsim.topology"]
    + [f"netsim.topology.{info.name}" for info in pkgutil.iter_modules(netsim.topology.__path__)]
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_modules_have_examples():
    finder = doctest.DocTestFinder()
    total = sum(
        len(test.examples)
        for name in MODULES
        for test in finder.find(importlib.import_module(name))
    )
    assert total >= 30


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all(name):
    module = importlib.import_module(name)
    assert isinstance(module.__all__, list) and module.__all__
    for symbol in module.__all__:
        assert hasattr(module, symbol), (name, symbol)
