"""Traces: recorded flows and link rates, Chrome/Perfetto JSON structure, `netsim run --trace`."""

import json
from pathlib import Path

import pytest

from netsim.cli import main
from netsim.runner import simulate
from netsim.scenario import scenario_from_dict
from netsim.trace import build_trace, validate_trace

ROOT = Path(__file__).resolve().parents[1]
DOC = {
    "topology": {"kind": "tree", "hosts": 8, "fanout": 4, "bandwidth": "10Gbps", "latency": "2us", "oversubscription": 4},
    "training": {"steps": 4, "samples": 512, "features": 8, "classes": 3, "batch_size": 16},
    "compute": {"step_time": "100us"},
}


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_recording_matches_the_counters(model):
    result = simulate(scenario_from_dict({**DOC, "network": {"model": model}}), record=True)
    flows = result.flows
    assert len(flows) > 0
    assert flows["bytes"].sum() == pytest.approx(result.summary["bytes_sent"])
    per_link = {}
    for row in flows.itertuples():
        for link in row.links:
            per_link[link] = per_link.get(link, 0.0) + row.bytes
    for link, nbytes in per_link.items():
        assert result.links["bytes"].iloc[link] == pytest.approx(nbytes)
    # bytes = integral of the recorded rate over time, per link
    timeline = result.link_timeline
    for link, group in timeline.groupby("link"):
        times, rates = group["time_s"].to_numpy(), group["rate"].to_numpy()
        integral = float(((times[1:] - times[:-1]) * rates[:-1]).sum())
        assert integral == pytest.approx(per_link[link], rel=1e-9)
        assert rates[-1] == 0.0


def test_no_link_ever_exceeds_its_bandwidth():
    result = simulate(scenario_from_dict({**DOC, "communication": {"algorithm": "ps"}, "training": {**DOC["training"], "workers": 7}}), record=True)
    capacity = result.links["bandwidth"].to_numpy()
    timeline = result.link_timeline
    assert (timeline["rate"].to_numpy() <= capacity[timeline["link"].to_numpy()] * (1 + 1e-9)).all()
    assert (timeline["rate"] >= 0).all()


def test_trace_document_is_valid():
    result = simulate(scenario_from_dict(DOC), record=True)
    document = build_trace(result)
    validate_trace(document)
    events = document["traceEvents"]
    names = {e["name"] for e in events if e["ph"] == "X"}
    assert {"compute", "communication"} <= names
    workers = {e["tid"] for e in events if e["ph"] == "X" and e["pid"] == 1}
    assert workers == set(range(8))
    counters = [e for e in events if e["ph"] == "C"]
    assert counters and all(0 <= e["args"]["utilisation"] <= 1 + 1e-9 for e in counters)
    json.loads(json.dumps(document))  # serialisable


def test_trace_without_recording_has_worker_tracks_only():
    document = build_trace(simulate(scenario_from_dict(DOC)))
    validate_trace(document)
    assert not [e for e in document["traceEvents"] if e["ph"] == "C"]


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({}, "traceEvents"),
        ({"traceEvents": [{"ph": "Q"}]}, "unknown phase"),
        ({"traceEvents": [{"ph": "X", "pid": 1, "tid": 1, "name": "a", "ts": -1, "dur": 1}]}, "ts must be"),
        ({"traceEvents": [{"ph": "X", "pid": 1, "name": "a", "ts": 1, "dur": 1}]}, "missing 'tid'"),
    ],
)
def test_validate_trace_rejects(document, fragment):
    with pytest.raises(ValueError, match=fragment):
        validate_trace(document)


def test_cli_trace(tmp_path, capsys):
    trace = tmp_path / "t.json"
    with pytest.raises(SystemExit) as info:
        main(["run", str(ROOT / "scenarios" / "quickstart.toml"), "-q", "--out", str(tmp_path / "r"), "--trace", str(trace), "--set", "training.steps=3"])
        raise SystemExit(0)
    assert info.value.code == 0
    validate_trace(json.loads(trace.read_text()))
