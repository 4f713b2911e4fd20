"""Regressions found by a new-user review of the CLI: one-line errors, no silent defaults."""

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from netsim.cli import cli, main
from netsim.scenario import scenario_from_dict

LLM = {
    "topology": {"kind": "gpu_cluster", "nodes": 1, "gpus_per_node": 2, "nics_per_node": 2},
    "training": {"workload": "llm"},
    "workload": {"preset": "gpt2_1.5b"},
}


def _exit_2(argv, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def _write(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return str(path)


def test_llm_workload_refuses_faults_it_would_ignore():
    doc = {**LLM, "faults": [{"kind": "straggler", "worker": 0, "factor": 2, "time": "0s", "duration": "1s"}]}
    with pytest.raises(Exception, match=r"faults\[0\]: \[\[faults\]\] apply to training.workload = 'math' only"):
        scenario_from_dict(doc)
    assert scenario_from_dict({**LLM, "faults": []}).faults == []


def test_edge_workers_default_to_the_devices():
    topology = {"kind": "edge", "devices": 3}
    assert scenario_from_dict({"topology": topology}).training.workers == 3
    assert scenario_from_dict({"topology": topology, "communication": {"algorithm": "ps"}}).training.workers == 3
    assert scenario_from_dict({"topology": topology, "training": {"workers": 5}}).training.workers == 5
    assert scenario_from_dict({"topology": {"kind": "star", "hosts": 3}}).training.workers is None


def test_edge_run_trains_on_the_devices_only(tmp_path):
    path = _write(tmp_path, '[topology]\nkind = "edge"\ndevices = 2\n[communication]\nalgorithm = "ps"\n[training]\nsteps = 1\n')
    result = CliRunner().invoke(cli, ["run", path, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "edge, 4 hosts, 2 workers" in result.output


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("parallel.tpp=2", "unknown key 'parallel.tpp' (did you mean 'tp'?)"),
        ("parallel.foo=1", "accepted keys here: dp, tp, pp"),
        ("workload.hiden=1", "(did you mean 'hidden'?)"),
    ],
)
def test_unknown_keys_of_optional_tables_get_a_hint(tmp_path, key, fragment, capsys):
    path = _write(tmp_path, '[topology]\nkind = "gpu_cluster"\nnodes = 1\ngpus_per_node = 2\nnics_per_node = 2\n'
                            '[training]\nworkload = "llm"\n[workload]\npreset = "gpt2_1.5b"\n')
    err = _exit_2(["run", path, "--out", str(tmp_path / "r"), "--set", key], capsys)
    assert fragment in err


def test_multi_dc_with_both_distance_and_latency_says_so():
    dc = {"kind": "star", "hosts": 2}
    with pytest.raises(Exception, match="not both \\(both are set, keep one\\)"):
        scenario_from_dict({"topology": {"kind": "multi_dc", "datacenter": dc, "distance_km": 10, "wan_latency": "1ms"}})
    with pytest.raises(Exception, match="neither is set"):
        scenario_from_dict({"topology": {"kind": "multi_dc", "datacenter": dc}})


def test_convergence_plot_of_a_size_only_run_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "steps.csv").write_text("step,start_s,end_s,duration_s,mfu\n0,0,1.5,1.5,0.5\n")
    (run / "summary.json").write_text('{"summary": {"name": "x"}, "scenario": {}}')
    (run / "run.json").write_text("{}")
    err = _exit_2(["plot", str(run), "--kind", "convergence", "-o", str(tmp_path / "c.png")], capsys)
    assert "has no held-out loss or accuracy" in err and "mfu" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--topology", "gpu_cluster", "--bandwidth", "1Gbps"], "--bandwidth does not apply to --topology gpu_cluster"),
        (["--topology", "edge", "--hosts", "8", "--topo", "devices=2"], "--hosts does not apply to --topology edge"),
        (["--topology", "multi_dc", "--hosts", "15", "--topo", "wan_latency=1ms"], "do not split into 2 datacenters"),
        (["--topology", "multi_dc", "--topo", "datacenter=3", "--topo", "wan_latency=1ms"], "--topo datacenter: expected a table"),
        (["--topology", "multi_dc", "--hosts", "8", "--topo", "datacenter={kind='star',hosts=2}", "--topo", "wan_latency=1ms"],
         "--hosts does not apply to --topology multi_dc"),
    ],
)
def test_collective_preset_mistakes_exit_2(args, fragment, capsys):
    err = _exit_2(["collective", "--sizes", "1KB", *args], capsys)
    assert fragment in err


def test_collective_multi_dc_builds_star_datacenters(tmp_path):
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        cli, ["collective", "--topology", "multi_dc", "--hosts", "8", "--topo", "wan_latency=1ms", "--sizes", "1MB",
              "--bandwidth", "10Gbps", "--latency", "0", "--csv", str(out)],
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out).iloc[0]
    assert row["ranks"] == 8 and math.isnan(row["predicted_s"])
    # two stars of 4 joined by one 1 ms WAN link: the ring crosses it at least twice per allreduce
    assert row["time_s"] > 2e-3


def test_collective_gpu_cluster_nodes_size_the_cluster(tmp_path):
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        cli, ["collective", "--topology", "gpu_cluster", "--topo", "nodes=2", "--topo", "gpus_per_node=2",
              "--sizes", "1MB", "--csv", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out)["ranks"]) == [4]
