"""Scenario schema: defaults, units, unknown keys with hints, overrides, every error path."""

import pytest

from netsim.exceptions import ScenarioError
from netsim.scenario import apply_overrides, load_scenario, parse_override, scenario_from_dict

BASE = {"topology": {"kind": "star", "hosts": 4, "bandwidth": "10Gbps", "latency": "2us"}}


def test_defaults_and_units():
    s = scenario_from_dict(BASE)
    assert s.topology.bandwidth == 1.25e9
    assert s.topology.latency == 2e-6
    assert s.network.model == "flow"
    assert s.communication.algorithm == "ring_allreduce"
    assert s.training.steps == 50
    assert s.compute.rate == 1e12
    assert s.seed == 0


def test_scenario_echo_is_plain_data():
    data = scenario_from_dict(BASE).to_dict()
    assert data["topology"]["bandwidth"] == 1.25e9
    assert "base_dir" not in data


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"topology": {"kind": "star", "hosts": 4, "bandwith": "1Gbps"}}, "unknown key 'topology.bandwith' (did you mean 'bandwidth'?)"),
        ({"topology": {"kind": "star", "hosts": 4}, "trainig": {}}, "unknown key 'trainig' (did you mean 'training'?)"),
        ({"topology": {"kind": "star", "hosts": 4, "zzz": 1}}, "accepted keys here: kind, hosts"),
        ({"topology": {"kind": "star", "hosts": 4, "bandwidth": "10Gbsp"}}, "topology.bandwidth: unknown unit 'Gbsp'"),
        ({"topology": {"kind": "star", "hosts": 4, "bandwidth": "-1Gbps"}}, "topology.bandwidth: bandwidth must not be negative"),
        ({"topology": {"kind": "star", "hosts": 4, "bandwidth": 0}}, "topology.bandwidth: must be positive"),
        ({"topology": {"kind": "star", "hosts": 4, "latency": "-1us"}}, "topology.latency"),
        ({"topology": {"kind": "star", "hosts": 0}}, "topology.hosts"),
        ({"topology": {"kind": "star", "hosts": "four"}}, "topology.hosts"),
        ({"topology": {"kind": "stra", "hosts": 4}}, "topology.kind: 'stra' is not accepted (did you mean 'star'?)"),
        ({"topology": {"kind": "star"}}, "topology.hosts is required"),
        ({"topology": {"kind": "star", "hosts": 4, "fanout": 4}}, "topology.fanout applies only to kind = 'tree'"),
        ({"topology": {"kind": "file", "hosts": 4, "path": "x.toml"}}, "topology.hosts does not apply"),
        ({"topology": {"kind": "file"}}, "topology.path is required"),
        ({**BASE, "network": {"model": "fluid"}}, "network.model: 'fluid' is not accepted"),
        ({**BASE, "communication": {"algorithm": "rign"}}, "communication.algorithm: 'rign' is not accepted (did you mean 'ring'?)"),
        ({**BASE, "training": {"steps": 0}}, "training.steps"),
        ({**BASE, "training": {"lr": float("nan")}}, "training.lr"),
        ({**BASE, "training": {"workers": 5}}, "training.workers = 5 needs more hosts"),
        ({**BASE, "training": {"model": "linear"}}, "training.model 'linear' cannot be trained on dataset 'classification'; it fits: regression"),
        ({**BASE, "training": {"dataset": "regression"}}, "training.model 'logistic' cannot be trained on dataset 'regression'"),
        ({**BASE, "training": {"sharding": "dirichet"}}, "training.sharding: 'dirichet' is not accepted (did you mean 'dirichlet'?)"),
        ({**BASE, "training": {"dataset": "text", "model": "mlp"}}, "cannot be trained on dataset 'text'"),
        ({**BASE, "training": {"hidden": [8]}}, "training.hidden applies to model 'mlp' or 'lm'"),
        ({**BASE, "training": {"optimizer": "adam", "momentum": 0.9}}, "training.momentum does not apply to optimizer 'adam'"),
        ({**BASE, "training": {"warmup_steps": 5}}, "need training.lr_schedule"),
        ({**BASE, "training": {"lr_schedule": "cosin"}}, "did you mean 'cosine'"),
        ({**BASE, "training": {"dirichlet_alpha": 0.5}}, "applies to sharding = 'dirichlet' only"),
        ({**BASE, "training": {"target_accuracy": 1.5}}, "training.target_accuracy"),
        ({**BASE, "compute": {"straggler": {"distribution": "normal"}}}, "compute.straggler.distribution: unknown distribution 'normal'"),
        ({**BASE, "compute": {"worker_rates": ["1TFLOPS"], "step_time": "1ms"}}, "give one of compute.flops_per_second"),
        ({**BASE, "compute": {"flops_per_second": "1TFLOPS", "step_time": "1ms"}}, "not flops_per_second and step_time"),
        ({**BASE, "compute": {"step_time": 0}}, "compute.step_time: must be positive"),
        ({**BASE, "seed": -1}, "seed"),
        ({"topology": {"kind": "star", "hosts": 1}, "communication": {"algorithm": "ps"}}, "leaves no worker"),
        ({"topology": "star"}, "topology"),
    ],
)
def test_errors_name_the_field(doc, fragment):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_parse_override_reads_toml_values():
    assert parse_override("training.steps=10") == ("training.steps", 10)
    assert parse_override("training.lr=0.5") == ("training.lr", 0.5)
    assert parse_override("training.nesterov=true") == ("training.nesterov", True)
    assert parse_override("topology.bandwidth=10Gbps") == ("topology.bandwidth", "10Gbps")
    assert parse_override("topology.level_bandwidth=['1Gbps', '2Gbps']")[1] == ["1Gbps", "2Gbps"]


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1", ".a=1"])
def test_bad_override_syntax(bad):
    with pytest.raises(ScenarioError, match="expected dotted.key=value"):
        parse_override(bad)


def test_override_into_a_value_is_rejected():
    with pytest.raises(ScenarioError, match="'seed' is a value, not a table"):
        apply_overrides({"seed": 1}, ["seed.x=2"])


def test_overrides_do_not_mutate_the_document():
    doc = {"topology": {"hosts": 4}}
    apply_overrides(doc, {"topology.hosts": 8})
    assert doc == {"topology": {"hosts": 4}}


def test_unknown_override_key_gets_a_hint():
    with pytest.raises(ScenarioError, match="did you mean 'bandwidth'"):
        scenario_from_dict(BASE, ["topology.bandwith=1Gbps"])


def test_load_scenario_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[topology]\nkind = "ring"\nhosts = 3\nbandwidth = "1Gbps"\n')
    s = load_scenario(path, ["training.steps=5"])
    assert s.name == "mine"
    assert s.training.steps == 5
    assert s.base_dir == tmp_path


def test_load_errors(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[topology\nkind = 1")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario(tmp_path)
