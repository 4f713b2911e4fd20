"""Run a worker script under an interpreter that has an external simulator's bindings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

__all__ = ["find_python", "run_worker"]

HERE = Path(__file__).resolve().parent


def find_python(module: str, candidates: list[str], install: str) -> str:
    """The first interpreter of `candidates` that can ``import module``; exit with `install` hints if none."""
    for python in candidates:
        try:
            ok = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=300).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return python
    raise SystemExit(f"no Python with the {module} module found (tried {', '.join(candidates)}); {install}")


def run_worker(python: str, script: str, spec: dict, timeout: float = 900) -> list[float]:
    """Run ``HERE/script`` on one case spec; the times it reports (s)."""
    proc = subprocess.run(
        [python, str(HERE / script)],
        input=json.dumps([spec]),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{script} failed on {spec['name']}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])[0]["finish"]
