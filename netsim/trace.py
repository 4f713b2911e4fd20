"""Chrome / Perfetto trace-event JSON of a run (``netsim run --trace out.json``).

Built from a :class:`~netsim.results.Result` only (no re-simulation). Layout, with
simulated time in microseconds (the trace-event format's unit):

- process "workers": one track per worker with ``compute`` and ``communication``
  (exposed: from the end of compute to the end of the step) spans per step, and ``wait``
  spans where a scheme records waiting (SSP);
- process "links": one track per directed link that carried traffic, with a span per flow
  (``src → dst``, bytes) and a ``utilisation`` counter (fraction of the link's bandwidth
  in use, piecewise constant), present when the run was recorded (``simulate(...,
  record=True)``);
- process "faults" (runs with ``[[faults]]``): one track per faulted target (link,
  switch, worker) with a span per occurrence (a crash spans crash to resumed training;
  one still active at the end runs to the end of the run), its costs in ``args``.

Open the file in https://ui.perfetto.dev or ``chrome://tracing``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from netsim.results import Result, atomic_write_text

__all__ = ["build_trace", "write_trace", "validate_trace"]

_WORKERS_PID, _LINKS_PID, _FAULTS_PID = 1, 2, 3
_US = 1e6


def _meta(pid: int, tid: int | None, name: str, kind: str) -> dict:
    event = {"ph": "M", "pid": pid, "name": kind, "args": {"name": name}}
    if tid is not None:
        event["tid"] = tid
    return event


def _span(pid: int, tid: int, name: str, start_s: float, duration_s: float, cat: str, args: dict | None = None) -> dict:
    event = {"ph": "X", "pid": pid, "tid": tid, "name": name, "cat": cat, "ts": start_s * _US, "dur": max(duration_s, 0.0) * _US}
    if args:
        event["args"] = args
    return event


def build_trace(result: Result) -> dict:
    """The trace-event document of ``result`` (a dict ready for ``json.dump``)."""
    events: list[dict] = [_meta(_WORKERS_PID, None, "workers", "process_name"), _meta(_LINKS_PID, None, "links", "process_name")]
    workers = result.workers
    for worker in sorted(workers["worker"].unique()) if len(workers) else []:
        events.append(_meta(_WORKERS_PID, int(worker), f"worker {worker}", "thread_name"))
    for row in workers.itertuples(index=False):
        rank, step = int(row.worker), int(row.step)
        events.append(_span(_WORKERS_PID, rank, "compute", row.start_s, row.compute_s, "compute", {"step": step}))
        comm_start = row.end_s - row.comm_s
        wait = float(getattr(row, "wait_s", 0.0) or 0.0)
        if wait > 0:
            events.append(_span(_WORKERS_PID, rank, "wait", comm_start, wait, "wait", {"step": step}))
        if row.comm_s > 0:
            args = {"step": step, "bytes_sent": float(row.bytes_sent), "busy_s": float(getattr(row, "comm_busy_s", row.comm_s))}
            events.append(_span(_WORKERS_PID, rank, "communication", comm_start + wait, row.comm_s - wait, "communication", args))
    events.extend(_link_events(result))
    events.extend(_fault_events(result))
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": {"netsim": result.summary.get("netsim_version"), "scenario": result.summary.get("name")}}


def _link_events(result: Result) -> list[dict]:
    flows, timeline, links = result.flows, result.link_timeline, result.links
    if flows is None or len(flows) == 0:
        return []
    names = {i: f"{row.src} → {row.dst}" for i, row in enumerate(links.itertuples(index=False))}
    bandwidth = links["bandwidth"].to_numpy() if len(links) else []
    used = sorted({int(link) for links_of in flows["links"] for link in links_of})
    events = [_meta(_LINKS_PID, link, names.get(link, f"link {link}"), "thread_name") for link in used]
    for flow in flows.itertuples(index=False):
        args = {"src": str(flow.src), "dst": str(flow.dst), "bytes": float(flow.bytes)}
        for link in flow.links:
            events.append(_span(_LINKS_PID, int(link), f"{flow.src}→{flow.dst}", flow.start_s, flow.end_s - flow.start_s, "flow", args))
    if timeline is not None:
        for sample in timeline.itertuples(index=False):
            link = int(sample.link)
            share = float(sample.rate) / float(bandwidth[link]) if len(bandwidth) else 0.0
            events.append(
                {"ph": "C", "pid": _LINKS_PID, "tid": link, "name": f"utilisation {names.get(link, link)}", "ts": sample.time_s * _US, "args": {"utilisation": round(share, 12)}}
            )
    return events


def _fault_events(result: Result) -> list[dict]:
    """One track per faulted target, one span per fault occurrence (``Result.faults``)."""
    faults = getattr(result, "faults", None)
    if faults is None or len(faults) == 0:
        return []
    targets = list(dict.fromkeys(str(t) for t in faults["target"]))
    events = [_meta(_FAULTS_PID, None, "faults", "process_name")]
    events += [_meta(_FAULTS_PID, tid, target, "thread_name") for tid, target in enumerate(targets)]
    run_end = float(result.summary.get("sim_time_s") or 0.0)
    for row in faults.itertuples(index=False):
        end = row.end_s if isinstance(row.end_s, int | float) and math.isfinite(row.end_s) else max(run_end, row.start_s)
        args = {"fault": f"faults[{int(row.fault)}]", "detail": str(row.detail), "effect": bool(row.effect)}
        for key in ("bytes_lost", "bytes_resent", "flows_moved", "flows_stalled", "steps_lost", "recovery_s"):
            args[key] = float(getattr(row, key))
        events.append(_span(_FAULTS_PID, targets.index(str(row.target)), str(row.kind), row.start_s, end - row.start_s, "fault", args))
    return events


def write_trace(result: Result, path: str | Path) -> Path:
    """Write ``result``'s trace to ``path`` atomically and return the path."""
    path = Path(path)
    atomic_write_text(path, json.dumps(build_trace(result), separators=(",", ":")) + "\n")
    return path


def validate_trace(document: dict) -> None:
    """Check the trace-event structure Perfetto and ``chrome://tracing`` need.

    Raises
    ------
    ValueError
        Naming the first malformed event.
    """
    if not isinstance(document, dict) or not isinstance(document.get("traceEvents"), list):
        raise ValueError("a trace is a JSON object with a 'traceEvents' list")
    required = {"M": ("pid", "name", "args"), "X": ("pid", "tid", "name", "ts", "dur"), "C": ("pid", "name", "ts", "args")}
    for index, event in enumerate(document["traceEvents"]):
        phase = event.get("ph")
        if phase not in required:
            raise ValueError(f"traceEvents[{index}]: unknown phase {phase!r}")
        for key in required[phase]:
            if key not in event:
                raise ValueError(f"traceEvents[{index}] ({phase}): missing {key!r}")
        for key in ("ts", "dur"):
            if key in event and not (isinstance(event[key], int | float) and math.isfinite(event[key]) and event[key] >= 0):
                raise ValueError(f"traceEvents[{index}]: {key} must be a finite non-negative number of microseconds")
        if phase == "C" and not all(isinstance(v, int | float) for v in event["args"].values()):
            raise ValueError(f"traceEvents[{index}]: counter values must be numbers")


def flows_frame(recorder) -> pd.DataFrame:
    """Flow spans of a :class:`~netsim.network.recorder.FlowRecorder` as a DataFrame."""
    return pd.DataFrame(recorder.flows, columns=["id", "src", "dst", "bytes", "start_s", "end_s", "links"])


def timeline_frame(recorder) -> pd.DataFrame:
    """Link-rate samples of a recorder: ``time_s, link, rate`` (bytes/s)."""
    return pd.DataFrame(recorder.samples, columns=["time_s", "link", "rate"])
