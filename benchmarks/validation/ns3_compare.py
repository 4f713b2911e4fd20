"""Cross-check netsim's TCP against ns-3 (TCP NewReno BulkSend over point-to-point links).

Runs every case of :data:`cases.NS3_CASES` (a 10 MB transfer over 1 and 3 links, two
flows through a bottleneck, a 4-to-1 incast, a 1 MB transfer over a 10 ms path that
spends most of its time in slow start) in ns-3 and in netsim (the ``flow`` model with its
analytic slow start, and the ``packet`` model when registered, with buffers too large to
drop), and prints a Markdown table. For single flows it also prints the closed form
(handshake + slow start + serialisation + latency, netsim's ``tcp_transfer_time``).

netsim's ``tcp`` profile is set to ns-3's point-to-point framing (PPP: 2 bytes per frame,
no preamble, gap or padding) and no software latency, so both put 1502 bytes on the wire
per full segment.

ns-3 is optional and not a netsim dependency: ``pip install ns3`` (a 70 MB wheel plus
cppyy), best in its own virtual environment; pass its interpreter with ``--python``.
Each case starts a fresh interpreter (~10 s to load the bindings).

Usage::

    python benchmarks/validation/ns3_compare.py --python /path/to/venv/bin/python [--case NAME]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import NS3_CASES, netsim_times, table, to_spec, worst_error  # noqa: E402
from external import find_python, run_worker  # noqa: E402

#: The packet model runs without drops, as ns-3 does here.
PACKET_OPTIONS = {"buffer": 1 << 30}


def closed_form(case) -> float:
    """Uncontended TCP time of a single-flow case, s (NaN for several flows)."""
    from netsim.topology import Router
    from netsim.validation.closed_forms import tcp_transfer_time

    if len(case.flows) != 1:
        return math.nan
    src, dst, nbytes, _ = case.flows[0]
    path = Router(case.graph).path(src, dst)
    edges = [case.graph.edges[u, v] for u, v in zip(path, path[1:], strict=False)]
    options = case.transport
    overhead = 40 + options["l2_overhead"] + options["l1_overhead"]
    return tcp_transfer_time(
        int(nbytes),
        min(e["bandwidth"] for e in edges),
        sum(e["latency"] for e in edges),
        software_latency=options["software_latency"],
        overhead=overhead,
    )


def _measured(case, times: list[float]) -> float:
    return max(times) if case.measure is None or case.ring else times[case.measure]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="Python interpreter with the ns3 package (pip install ns3)")
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    from netsim.network import NETWORK_MODELS

    python = find_python("ns", [args.python] if args.python else [sys.executable], "install it with 'pip install ns3'")
    chosen = [c for c in NS3_CASES if not args.case or c.name in args.case]
    has_packet = "packet" in NETWORK_MODELS
    rows = []
    for case in chosen:
        start = time.perf_counter()
        finish = run_worker(python, "_ns3_worker.py", to_spec(case))
        wall = time.perf_counter() - start
        ns3 = max(finish) if case.measure is None else finish[case.measure]
        flow_each = netsim_times(case, "flow")
        flow = _measured(case, flow_each)
        row = {
            "case": case.name,
            "setup": case.description,
            "ns3_ms": ns3 * 1e3,
            "closed_form_ms": closed_form(case) * 1e3,
            "flow_ms": flow * 1e3,
            "flow_err": flow / ns3 - 1,
            "flow_each_err": worst_error(flow_each, finish),
            "wall_ns3_s": wall,
            "ns3_each_ms": [t * 1e3 for t in finish],
        }
        if has_packet:
            start = time.perf_counter()
            packet_each = netsim_times(case, "packet", **PACKET_OPTIONS)
            packet = _measured(case, packet_each)
            row["packet_each_err"] = worst_error(packet_each, finish)
            row["wall_packet_s"] = time.perf_counter() - start
            row["packet_ms"] = packet * 1e3
            row["packet_err"] = packet / ns3 - 1
        rows.append(row)
        print(f"{case.name}: ns-3 {ns3 * 1e3:.6f} ms, flow {flow * 1e3:.6f} ms ({wall:.1f} s)", file=sys.stderr)
    columns = ["case", "setup", "ns3_ms", "closed_form_ms", "flow_ms", "flow_err", "flow_each_err"]
    if has_packet:
        columns += ["packet_ms", "packet_err", "packet_each_err"]
    print("ns-3 (TCP NewReno, BulkSend, point-to-point, no loss) vs netsim (tcp profile, PPP framing)\n")
    print(table(rows, columns))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
