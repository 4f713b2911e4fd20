"""LLM scenarios: validation of [workload] / [parallel], the runner's dispatch, results."""

import json

import pytest

import netsim
from netsim.exceptions import ScenarioError
from netsim.scenario import scenario_from_dict

BASE = {
    "name": "llm",
    "topology": {"kind": "gpu_cluster", "nodes": 2, "gpus_per_node": 4, "node_type": "dgx_a100", "fabric": "ib_hdr"},
    "training": {"workload": "llm"},
    "workload": {"layers": 4, "hidden": 256, "seq_len": 128, "vocab": 1000, "heads": 8},
    "parallel": {"tp": 4, "microbatches": 2},
}


def doc(**changes):
    out = json.loads(json.dumps(BASE))
    for dotted, value in changes.items():
        table, key = dotted.split("__")
        if value is None:
            out.setdefault(table, {}).pop(key, None)
        else:
            out.setdefault(table, {})[key] = value
    return out


def test_simulate_an_llm_scenario(tmp_path):
    result = netsim.simulate(scenario_from_dict(doc()))
    s = result.summary
    assert s["workload"] == "llm" and s["workers"] == 8 and (s["dp"], s["tp"], s["pp"]) == (2, 4, 1)
    assert s["aggregation"] != "none" and 0 < s["mfu"] < 0.7
    assert set(result.steps.columns) >= {"duration_s", "compute_s", "comm_s", "tp_s", "pp_s", "dp_s", "ep_s", "bubble_s", "mfu"}
    assert len(result.workers) == 8 and (result.links["utilisation"] <= 1 + 1e-12).all()
    out = result.write(tmp_path / "run")
    written = json.loads((out / "summary.json").read_text())
    assert written["summary"]["mfu"] == s["mfu"] and written["scenario"]["parallel"]["tp"] == 4


def test_aggregation_off_gives_the_same_result():
    on = netsim.simulate(scenario_from_dict(doc())).summary
    off = netsim.simulate(scenario_from_dict(doc(workload__aggregate="off"))).summary
    assert off["aggregation"] == "none"
    assert on["mean_step_time_s"] == pytest.approx(off["mean_step_time_s"], rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ecmp_routing_aggregates_only_what_its_hashes_keep_symmetric(seed):
    """Whatever level the search accepts for seeded ECMP paths, it is the per-flow result."""
    ecmp = dict(topology__nodes=4, topology__nodes_per_leaf=1, topology__spines=2, topology__routing="ecmp", parallel__tp=1)
    on = netsim.simulate(scenario_from_dict({**doc(**ecmp), "seed": seed}))
    off = netsim.simulate(scenario_from_dict({**doc(**ecmp, workload__aggregate="off"), "seed": seed}))
    assert on.summary["mean_step_time_s"] == pytest.approx(off.summary["mean_step_time_s"], rel=1e-12)
    assert on.links["bytes"].tolist() == pytest.approx(off.links["bytes"].tolist(), rel=1e-12)


def test_training_steps_and_trace_recording(tmp_path):
    result = netsim.simulate(scenario_from_dict(doc(training__steps=2)), record=True)
    assert result.summary["steps"] == 2 and result.summary["aggregation"] == "none"
    assert result.flows is not None and len(result.flows) == result.summary["member_flows"]
    netsim.write_trace(result, tmp_path / "trace.json")
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    assert any(e.get("name") == "compute" for e in events)


def test_summary_rows_for_the_command_line():
    from netsim.workload.report import summary_rows

    rows = dict(summary_rows(netsim.simulate(scenario_from_dict(doc())).summary))
    assert rows["layout"].startswith("dp 2 × tp 4 × pp 1")
    assert rows["  exposed communication"].count(" ms") + rows["  exposed communication"].count(" us") >= 1
    assert 0 < float(rows["MFU"]) < 1


def test_global_batch_sets_the_microbatches():
    s = netsim.simulate(scenario_from_dict(doc(parallel__microbatches=None, parallel__global_batch=12, parallel__micro_batch=2))).summary
    assert s["microbatches"] == 3 and s["global_batch"] == 12


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"training__model": "mlp"}, "training.model applies to training.workload = 'math' only"),
        ({"communication__algorithm": "ps"}, "communication.algorithm applies to training.workload = 'math' only"),
        ({"workload__preset": "llama7b", "workload__layers": None}, "did you mean 'llama2_7b'"),
        ({"workload__vocab": None}, "workload.vocab is required without workload.preset"),
        ({"parallel__tp": 3}, "parallel.tp = 3 must divide the model's 8 attention heads"),
        ({"parallel__pp": 5}, "parallel.pp = 5 exceeds the model's 4 layers"),
        ({"parallel__ep": 2}, "parallel.ep > 1 needs a mixture-of-experts model"),
        ({"parallel__zero": 3, "parallel__ep": 2, "workload__experts": 2}, "parallel.zero = 3"),
        ({"parallel__order": ["tp", "dp"]}, "parallel.order"),
        ({"parallel__global_batch": 8}, "parallel.microbatches or parallel.global_batch, not both"),
        ({"parallel__schedule": "1f2b"}, "did you mean '1f1b'"),
        ({"parallel__dp_algorithm": "rign"}, "parallel.dp_algorithm: unknown allreduce algorithm 'rign'"),
        ({"workload__device": "V100"}, "accepted: A100, H100"),
        ({"workload__efficiency": 1.5}, "workload.efficiency"),
        ({"workload__top_k": 3, "workload__experts": 2}, "workload.top_k = 3 exceeds workload.experts = 2"),
        ({"parallel__tpp": 2}, "unknown key 'parallel.tpp'"),
    ],
)
def test_errors_name_the_field(changes, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scenario_from_dict(doc(**changes))


def test_tables_of_the_other_workload_are_refused():
    math = {"topology": {"kind": "star", "hosts": 4}, "parallel": {"tp": 2}}
    with pytest.raises(ScenarioError, match=r"\[parallel\] applies to training.workload = 'llm'"):
        scenario_from_dict(math)
    missing = doc()
    del missing["workload"]
    with pytest.raises(ScenarioError, match=r"needs a \[workload\] table"):
        scenario_from_dict(missing)


def test_layout_errors_at_build_time():
    with pytest.raises(ScenarioError, match="parallel.global_batch = 9 is not a multiple of dp × micro_batch = 2 × 1"):
        netsim.simulate(scenario_from_dict(doc(parallel__microbatches=None, parallel__global_batch=9)))
    with pytest.raises(ScenarioError, match="parallel: dp × pp × tp = 4 × 1 × 4 = 16 ranks need more hosts"):
        netsim.simulate(scenario_from_dict(doc(parallel__dp=4)))


@pytest.mark.parametrize("algorithm", ["auto", "double_binary_tree", "hierarchical", "rabenseifner"])
def test_any_data_parallel_algorithm_aggregates_exactly(algorithm):
    """Algorithms other than the ring are launched by one replica (or run per flow): same result."""
    scenario = doc(parallel__dp_algorithm=algorithm, topology__nodes=4)
    on = netsim.simulate(scenario_from_dict(scenario))
    off = netsim.simulate(scenario_from_dict({**scenario, "workload": {**scenario["workload"], "aggregate": "off"}}))
    assert on.summary["aggregation"] != "none"
    assert on.summary["mean_step_time_s"] == pytest.approx(off.summary["mean_step_time_s"], rel=1e-12)
    assert on.workers["bytes_sent"].tolist() == pytest.approx(off.workers["bytes_sent"].tolist(), rel=1e-12)


def test_netsim_run_prints_the_llm_table(tmp_path, capsys):
    from netsim.cli import main

    scenario = tmp_path / "llm.toml"
    scenario.write_text(
        'name = "llm"\n[topology]\nkind = "gpu_cluster"\nnodes = 2\ngpus_per_node = 4\nnode_type = "dgx_a100"\n'
        'fabric = "ib_hdr"\n[training]\nworkload = "llm"\n'
        '[workload]\nlayers = 4\nhidden = 256\nseq_len = 128\nvocab = 1000\nheads = 8\n'
        '[parallel]\ntp = 4\nmicrobatches = 2\n'
    )
    main(["run", str(scenario), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    for row in ("layout", "pipeline bubble", "tokens/s", "MFU", "results"):
        assert row in out
    assert out.count("wall time") == 1
