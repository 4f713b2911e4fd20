"""Regenerate the golden summaries of the bundled scenarios.

Run ``python tests/golden/regenerate.py`` after a change that is MEANT to alter results,
and say why in the commit message. ``tests/test_golden.py`` compares against these files.
"""

import json
from pathlib import Path

from netsim.runner import simulate

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    for scenario in sorted((ROOT / "scenarios").glob("*.toml")):
        summary = simulate(scenario).deterministic_summary()
        summary.pop("netsim_version", None)
        target = Path(__file__).parent / f"{scenario.stem}.json"
        target.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
