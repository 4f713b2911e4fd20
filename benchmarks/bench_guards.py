"""Overhead of the run guards (``netsim.guards.run_guarded``) against a bare ``env.run()``.

Runs the quickstart (and a longer variant) with the guards as ``simulate`` uses them,
with both limits set (one ``peek()`` per event and a wall-clock check every
``CHECK_EVERY`` events), and with the guards replaced by a plain ``simpy.Environment`` and ``env.run()``; interleaved
repeats, medians of wall time per run. Prints ratios; asserts nothing.

    python benchmarks/bench_guards.py            # quickstart, 40 and 400 steps
    python benchmarks/bench_guards.py --repeat 60
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import simpy

import netsim.runner as runner
from netsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
_tracked = runner.TrackedEnvironment


def _bare(env, **_ignored) -> None:
    env.run()


def _time(scenario, guard) -> float:
    runner.run_guarded = guard
    runner.TrackedEnvironment = _tracked if guard is not _bare else simpy.Environment
    start = time.perf_counter()
    runner.simulate(scenario)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    guarded = runner.run_guarded
    path = ROOT / "scenarios" / "quickstart.toml"
    cases = {
        "quickstart (40 steps)": {},
        "quickstart, 400 steps": {"training.steps": 400},
    }
    for label, overrides in cases.items():
        plain = load_scenario(path, overrides)
        limited = load_scenario(path, {**overrides, "run.max_sim_time": "1h", "run.max_wall_time": "1h"})
        times: dict[str, list[float]] = {"simpy env.run()": [], "guards": [], "guards + limits": []}
        _time(plain, guarded)  # warm-up (imports, caches)
        for _ in range(args.repeat):
            times["simpy env.run()"].append(_time(plain, _bare))
            times["guards"].append(_time(plain, guarded))
            times["guards + limits"].append(_time(limited, guarded))
        runner.run_guarded, runner.TrackedEnvironment = guarded, _tracked
        base = statistics.median(times["simpy env.run()"])
        print(f"{label}: median wall per run")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:16s} {median * 1e3:8.2f} ms   ratio {median / base:.3f}")


if __name__ == "__main__":
    main()
