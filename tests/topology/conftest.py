"""Fixtures for the topology tests.

"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

TOPOLOGY_FILES = REPO_ROOT / "topologies"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def two_racks_path() -> Path:
    return TOPOLOGY_FILES / "two_racks.toml"


@pytest.fixture
def small_dc_path() -> Path:
    return TOPOLOGY_FILES / "small_dc.json"
