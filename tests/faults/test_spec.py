"""The ``[[faults]]`` schema: every kind validates, every mistake is one ScenarioError naming ``faults[i].key``."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.faults import FAULT_KINDS, parse_faults
from netsim.scenario import apply_overrides, scenario_from_dict

TOPOLOGY = {"kind": "star", "hosts": 4}

VALID = [
    {"kind": "link_down", "link": ["s0", "h1"], "time": "5ms"},
    {"kind": "link_down", "links": [["s0", "h1"], ["s0", "h2"]], "mtbf": "20ms", "mttr": "2ms", "end": "1s"},
    {"kind": "link_up", "link": ["h1", "s0"], "time": "7ms"},
    {"kind": "switch_down", "switch": "s0", "time": 0.001, "duration": 0.002},
    {"kind": "link_degrade", "link": ["s0", "h1"], "time": "1ms", "end": "3ms", "bandwidth": "1Gbps", "latency_factor": 3},
    {"kind": "loss_rate", "link": ["s0", "h1"], "mtbf": "10ms", "mttr": "1ms", "rate": 0.01},
    {"kind": "worker_crash", "worker": 1, "time": "4ms", "detection": "1ms", "restart_delay": "2ms", "recovery": "elastic"},
    {"kind": "straggler", "worker": 0, "time": "1ms", "duration": "3ms", "factor": 2.5},
]


def test_every_kind_has_a_valid_example():
    assert {f["kind"] for f in VALID} == set(FAULT_KINDS)
    faults = parse_faults(VALID)
    assert [f.kind for f in faults] == [f["kind"] for f in VALID]
    assert faults[0].edges() == [("s0", "h1")] and faults[0].stop == math.inf
    assert faults[1].random and faults[1].start == 0.0 and faults[1].stop == 1.0
    assert faults[3].stop == pytest.approx(0.003)
    assert faults[4].bandwidth == 1.25e8 and faults[4].stop == 0.003


def test_scenario_keeps_the_faults_and_echoes_them():
    scenario = scenario_from_dict({"topology": TOPOLOGY, "faults": VALID[:1]})
    assert scenario.faults[0].time == 0.005
    assert scenario.to_dict()["faults"][0]["link"] == ["s0", "h1"]
    assert scenario_from_dict({"topology": TOPOLOGY}).faults == []


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ({"kind": "link_down"}, r"^faults: expected an array of tables \(\[\[faults\]\] in TOML\), got one table"),
        ("x", r"^faults: expected an array of tables"),
        ([3], r"^faults\[0\]: expected a table with a kind, got int"),
        ([{"time": 1}], r"^faults\[0\]\.kind: required; accepted: link_down, link_up"),
        ([{"kind": "link_dwon", "link": ["a", "b"], "time": 1}], r"^faults\[0\]\.kind: 'link_dwon' is not a fault kind \(did you mean 'link_down'\?\)"),
        ([VALID[0], {"kind": "link_down", "link": ["s0", "h1"], "tme": 1}], r"^faults\[1\]\.tme: unknown key \(did you mean 'time'\?\); accepted keys for kind 'link_down'"),
        ([{"kind": "link_down", "link": ["s0", "h1"]}], r"^faults\[0\]\.time: required \(or mtbf and mttr"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "time": "-1ms"}], r"^faults\[0\]\.time: time must not be negative, got '-1ms'"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "time": "5 parsecs"}], r"^faults\[0\]\.time: unknown unit 'parsecs'"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "time": math.nan}], r"^faults\[0\]\.time: time must be finite, got nan"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "time": 1, "duration": 0}], r"^faults\[0\]\.duration: must be positive, got 0"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "time": 5, "end": 4}], r"^faults\[0\]\.end: must be after time \(5 s\), got 4 s"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "time": 5, "duration": 1, "end": 7}], r"^faults\[0\]\.end: give duration or end, not both"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "mtbf": 1}], r"^faults\[0\]\.mttr: required with mtbf"),
        ([{"kind": "link_down", "link": ["s0", "h1"], "mtbf": 1, "mttr": 1, "duration": 1}], r"^faults\[0\]\.duration: does not apply to a random schedule"),
        ([{"kind": "link_down", "time": 1}], r"^faults\[0\]\.link: give link \(one link\) or links \(a list\), got neither"),
        ([{"kind": "link_down", "link": ["s0"], "time": 1}], r"^faults\[0\]\.link: expected a link as a list of two node names"),
        ([{"kind": "link_down", "link": ["s0", "s0"], "time": 1}], r"^faults\[0\]\.link: a link joins two different nodes"),
        ([{"kind": "link_down", "links": [["s0", "h1"], ["a", 5]], "time": 1}], r"^faults\[0\]\.links\[1\]: expected a node name"),
        ([{"kind": "link_up", "link": ["s0", "h1"]}], r"^faults\[0\]\.time: required key is missing"),
        ([{"kind": "switch_down", "time": 1}], r"^faults\[0\]\.switch: required key is missing"),
        ([{"kind": "link_degrade", "link": ["s0", "h1"], "time": 1}], r"^faults\[0\]\.bandwidth: give at least one of bandwidth, bandwidth_factor"),
        ([{"kind": "link_degrade", "link": ["s0", "h1"], "time": 1, "bandwidth": 1e9, "bandwidth_factor": 2}], r"^faults\[0\]\.bandwidth_factor: give bandwidth or bandwidth_factor, not both"),
        ([{"kind": "link_degrade", "link": ["s0", "h1"], "time": 1, "latency_factor": -2}], r"^faults\[0\]\.latency_factor: expected a factor > 0"),
        ([{"kind": "loss_rate", "link": ["s0", "h1"], "time": 1, "rate": 1}], r"^faults\[0\]\.rate: expected a fraction of packets in \(0, 1\), got 1"),
        ([{"kind": "worker_crash", "worker": 1, "time": 1}], r"^faults\[0\]\.recovery: required key is missing"),
        ([{"kind": "worker_crash", "worker": 1, "time": 1, "recovery": "reboot"}], r"^faults\[0\]\.recovery: 'reboot' is not accepted; accepted: checkpoint, elastic"),
        ([{"kind": "worker_crash", "worker": True, "time": 1, "recovery": "elastic"}], r"^faults\[0\]\.worker: expected a worker number"),
        ([{"kind": "straggler", "worker": 0, "time": 1, "factor": 0}], r"^faults\[0\]\.factor: expected a factor > 0"),
    ],
)
def test_bad_fault_tables_name_the_field(faults, message):
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict({"topology": TOPOLOGY, "faults": faults})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"network": {"model": "analytic"}, "faults": VALID[:1]}, r"^faults\[0\]: kind 'link_down' changes links, but network.model = 'analytic' has no link state; network faults need network.model = 'flow'"),
        ({"training": {"sync": "asp"}, "faults": [VALID[6]]}, r"^faults\[0\]: crash recovery and checkpoints need training.sync = 'bsp'.*got training.sync = 'asp'"),
        ({"communication": {"algorithm": "ps"}, "faults": [VALID[6]]}, r"got communication.algorithm = 'parameter_server'"),
        ({"training": {"compression": {"method": "fp16"}}, "faults": [VALID[6]]}, r"got training.compression"),
        ({"faults": [{**VALID[6], "recovery": "checkpoint"}]}, r"^faults\[0\]\.recovery: 'checkpoint' needs training.checkpoint_every"),
        ({"training": {"checkpoint_every": 2}, "faults": [VALID[6], {**VALID[6], "recovery": "checkpoint"}]}, r"^faults\[1\]\.recovery: every worker_crash of a scenario recovers the same way"),
        ({"training": {"sync": "local_sgd", "checkpoint_every": 2}}, r"^training.checkpoint_every: crash recovery and checkpoints need training.sync = 'bsp'"),
        ({"training": {"checkpoint_host": "h3"}}, r"^training.checkpoint_host needs training.checkpoint_every"),
    ],
)
def test_faults_must_fit_the_rest_of_the_scenario(document, message):
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict({"topology": TOPOLOGY, **document})


def test_analytic_model_accepts_worker_faults():
    scenario = scenario_from_dict({"topology": TOPOLOGY, "network": {"model": "analytic"}, "faults": VALID[6:]})
    assert len(scenario.faults) == 2


def test_overrides_reach_into_the_faults_array():
    document = {"topology": TOPOLOGY, "faults": [dict(VALID[0])]}
    scenario = scenario_from_dict(document, ["faults.0.time=9ms", "faults.0.duration=1ms"])
    assert (scenario.faults[0].time, scenario.faults[0].duration) == pytest.approx((9e-3, 1e-3), rel=1e-15)
    with pytest.raises(ScenarioError, match=r"^override 'faults.3.time': 'faults' is a list of 1; name an entry by its position from 0, got '3'"):
        apply_overrides(document, ["faults.3.time=1"])
    # the bracket form, as error messages print the field, names the same entry
    bracket = scenario_from_dict(document, ["faults[0].time=9ms", "faults[0].duration=1ms"])
    assert bracket.faults == scenario.faults


# --- fuzzing: any fault table either validates or gives one line naming faults[...] -------------------

_values = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8) | st.sampled_from(
    ["5ms", "-1ms", "1e999s", "0", "s0", "h1", "checkpoint", "elastic", "1Gbps", "nan"]
) | st.lists(st.sampled_from(["s0", "h1", "h2", 3, None]), max_size=3)
_keys = st.sampled_from(
    ["kind", "link", "links", "time", "duration", "end", "mtbf", "mttr", "switch", "bandwidth", "bandwidth_factor",
     "latency", "latency_factor", "rate", "worker", "recovery", "detection", "restart_delay", "factor", "tme", "é"]
)
_tables = st.builds(
    lambda kind, extra, base: {**base, **({"kind": kind} if kind else {}), **extra},
    st.sampled_from([*FAULT_KINDS, None, "nope"]),
    st.dictionaries(_keys, _values, max_size=4),
    st.sampled_from(VALID),
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_tables, max_size=3) | _values)
def test_fuzzed_fault_tables_validate_or_name_the_field(faults):
    try:
        scenario_from_dict({"topology": TOPOLOGY, "training": {"checkpoint_every": 2}, "faults": faults})
    except ScenarioError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 1000, message
        assert message.startswith(("faults", "training.", "unknown key")), message
