"""Cross-check netsim's fluid model against SimGrid's (CM02, correction factors 1).

Runs every case of :data:`cases.SIMGRID_CASES` (one flow over 1 and 3 links, two flows
through a bottleneck, a 4-to-1 incast, a parking lot, a late joiner, a flow held back
elsewhere, a ring allreduce) in SimGrid and in netsim's ``flow`` model (and ``packet``,
when registered, with buffers too large to drop), and prints a Markdown table of the
delivery times and the relative differences.

SimGrid is optional and not a netsim dependency. Install it with Debian's
``apt-get install python3-simgrid`` (bindings for the system Python) or
``pip install simgrid`` (builds from source). The worker runs under the first Python
that imports ``simgrid``: ``--python``, this one, or ``/usr/bin/python3``.

Usage::

    python benchmarks/validation/simgrid_compare.py [--python /usr/bin/python3] [--case NAME]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import SIMGRID_CASES, netsim_times, table, to_spec, worst_error  # noqa: E402
from external import find_python, run_worker  # noqa: E402

#: The packet model runs without drops (so the comparison is about sharing, not loss).
PACKET_OPTIONS = {"buffer": 1 << 30}


def _measured(case, times: list[float]) -> float:
    return max(times) if case.measure is None or case.ring else times[case.measure]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="Python interpreter with the simgrid module")
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    from netsim.network import NETWORK_MODELS

    python = find_python(
        "simgrid",
        [args.python] if args.python else [sys.executable, "/usr/bin/python3"],
        "install it with 'apt-get install python3-simgrid' or 'pip install simgrid'",
    )
    version = subprocess.run(
        [python, "-c", "import simgrid; print(simgrid.simgrid_version if hasattr(simgrid, 'simgrid_version') else '?')"],
        capture_output=True, text=True,
    ).stdout.strip()
    chosen = [c for c in SIMGRID_CASES if not args.case or c.name in args.case]
    has_packet = "packet" in NETWORK_MODELS
    rows = []
    for case in chosen:
        start = time.perf_counter()
        finish = run_worker(python, "_simgrid_worker.py", to_spec(case))
        wall_sg = time.perf_counter() - start
        simgrid_time = max(finish) if case.measure is None else finish[case.measure]
        start = time.perf_counter()
        flow_each = netsim_times(case, "flow")
        flow = _measured(case, flow_each)
        wall_flow = time.perf_counter() - start
        row = {
            "case": case.name,
            "setup": case.description,
            "SimGrid_ms": simgrid_time * 1e3,
            "flow_ms": flow * 1e3,
            "flow_err": flow / simgrid_time - 1,
            "flow_each_err": worst_error(flow_each, finish),
            "wall_SimGrid_s": wall_sg,
            "wall_flow_s": wall_flow,
            "SimGrid_each_ms": [t * 1e3 for t in finish],
        }
        if has_packet:
            packet_each = netsim_times(case, "packet", **PACKET_OPTIONS)
            packet = _measured(case, packet_each)
            row["packet_each_err"] = worst_error(packet_each, finish)
            row["packet_ms"] = packet * 1e3
            row["packet_err"] = packet / simgrid_time - 1
        rows.append(row)
        print(f"{case.name}: SimGrid {simgrid_time * 1e3:.6f} ms, flow {flow * 1e3:.6f} ms", file=sys.stderr)
    columns = ["case", "setup", "SimGrid_ms", "flow_ms", "flow_err", "flow_each_err"]
    if has_packet:
        columns += ["packet_ms", "packet_err", "packet_each_err"]
    print(f"SimGrid {version} (CM02, factors 1, no cross traffic, no TCP-gamma bound) vs netsim\n")
    print(table(rows, columns))
    if args.json:
        args.json.write_text(json.dumps({"simgrid": version, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
