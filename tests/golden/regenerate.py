"""Regenerate the golden summaries of the bundled scenarios.

Run ``python tests/golden/regenerate.py`` after a change that is MEANT to alter results,
and say why in the commit message; ``python tests/golden/regenerate.py NAME ...`` regenerates
only the named scenarios (file stems, e.g. ``quickstart``). ``tests/test_golden.py`` compares against these files.
"""

import json
import sys
from pathlib import Path

from netsim.runner import simulate

ROOT = Path(__file__).resolve().parents[2]


def main(names: list[str]) -> None:
    for scenario in sorted((ROOT / "scenarios").glob("*.toml")):
        if names and scenario.stem not in names:
            continue
        summary = simulate(scenario).deterministic_summary()
        summary.pop("netsim_version", None)
        target = Path(__file__).parent / f"{scenario.stem}.json"
        target.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
