"""Every bundled scenario runs and matches its golden summary (times exact, losses to 1e-9)."""

import json
import math
from pathlib import Path

import pytest

from netsim.runner import simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
LOOSE = ("loss", "accuracy")


def test_every_scenario_has_a_golden_file():
    goldens = {p.stem for p in (ROOT / "tests" / "golden").glob("*.json")}
    assert {s.stem for s in SCENARIOS} <= goldens
    assert len(SCENARIOS) >= 4


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_golden_summary(path):
    golden = json.loads((ROOT / "tests" / "golden" / f"{path.stem}.json").read_text())
    summary = simulate(path).deterministic_summary()
    summary.pop("netsim_version", None)
    assert set(summary) == set(golden)
    for key, expected in golden.items():
        actual = summary[key]
        if isinstance(expected, float) and any(word in key for word in LOOSE):
            assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12), key
        else:
            assert actual == expected, key
