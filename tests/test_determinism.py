"""Same scenario in two processes with different hash seeds: byte-identical result files."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "overrides",
    [
        ["--set", "communication.algorithm=ps", "--set", "topology.hosts=5"],
        ["--set", "topology.kind=tree", "--set", "topology.hosts=8", "--set", "topology.routing=ecmp", "--set", "training.sharding=random"],
    ],
)
def test_two_processes_write_identical_files(tmp_path, overrides):
    outputs = []
    for hash_seed in ("1", "987"):
        out = tmp_path / f"run{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "netsim", "run", str(ROOT / "scenarios" / "quickstart.toml"), "-q", "--out", str(out), "--set", "training.steps=8", *overrides]
        subprocess.run(command, check=True, env=env, capture_output=True)
        outputs.append(out)
    for name in ("summary.json", "steps.csv", "workers.csv", "links.csv"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
