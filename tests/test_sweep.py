"""Sweeps: axis syntax, expansion, [sweep] tables, execution, resumption, failures, Dask."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pandas as pd
import pytest

import netsim.sweep.axes
import netsim.sweep.spec
import netsim.sweep.worker
from netsim.exceptions import ScenarioError
from netsim.scenario import scenario_from_dict
from netsim.sweep import (
    expand,
    load_sweep,
    parse_axis,
    parse_range,
    parse_values,
    run_id,
    run_sweep,
    sweep_from_dict,
)

TINY = """
name = "tiny"
seed = 1

[topology]
kind = "star"
hosts = 4
bandwidth = "10Gbps"
latency = "5us"

[training]
samples = 256
features = 8
classes = 2
batch_size = 8
steps = 3

[compute]
flops_per_second = "1GFLOPS"
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def with_sweep_table(path: Path, table: str) -> Path:
    target = path.with_name("tiny_sweep.toml")
    target.write_text(TINY + "\n" + table)
    return target


# --- axis syntax ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1Gbps,10Gbps", ["1Gbps", "10Gbps"]),
        ("ring, ps", ["ring", "ps"]),
        ("1, 2.5, true", [1, 2.5, True]),
        ('"a,b", [1, 2], {x = 1}', ["a,b", [1, 2], {"x": 1}]),
        ('"1:2"', ["1:2"]),
        ("4:64:x2", [4, 8, 16, 32, 64]),
        ("4:60:x2", [4, 8, 16, 32]),
        ("64:4:x0.5", [64, 32, 16, 8, 4]),
        ("0.1:0.5:+0.1", [0.1, 0.2, 0.3, 0.4, 0.5]),
        ("0:1:+0.1", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        ("1:10:+3", [1, 4, 7, 10]),
        ("1:9:+3", [1, 4, 7]),
        ("5:1:-2", [5, 3, 1]),
        ("0.5:0.1:-0.1", [0.5, 0.4, 0.3, 0.2, 0.1]),
        ("1e-3:1e-1:x10", [0.001, 0.01, 0.1]),
        ("3:3:+1", [3]),
        ("1Gbps:100Gbps:x10", ["1Gbps", "10Gbps", "100Gbps"]),
        ("1us:2us:+0.5", ["1us", "1.5us", "2us"]),
        ("1,2,8:32:x2", [1, 2, 8, 16, 32]),
    ],
)
def test_parse_values(text, values):
    got = parse_values(text)
    assert got == values
    assert [type(v) for v in got] == [type(v) for v in values]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("4:64", "bad range '4:64'"),
        ("4:64:y2", "bad range '4:64:y2'"),
        ("4:64:2", "bad range"),
        ("4:a:+1", "bad range"),
        ("4:64:+0", "must not be zero"),
        ("64:4:+1", "goes away from STOP"),
        ("4:64:x0.5", "goes away from STOP"),
        ("0:4:x2", "START > 0"),
        ("1:4:x1", "not 1"),
        ("1Gbps:10Mbps:x10", "same unit"),
        ("1:1e9:+1", "at most"),
        ("1,,2", "empty value"),
        ("1,", "empty value"),
        ("", "no values"),
        ("[1, 2", "unbalanced"),
        ('"abc', "unbalanced"),
    ],
)
def test_bad_values(text, fragment):
    with pytest.raises(ScenarioError, match=None) as info:
        parse_values(text)
    assert fragment in str(info.value)


def test_parse_axis():
    assert parse_axis("training.lr=0.1:0.3:+0.1") == ("training.lr", [0.1, 0.2, 0.3])
    for bad in ("training.lr", "=1,2", "a..b=1", "training.lr="):
        with pytest.raises(ScenarioError):
            parse_axis(bad)
    with pytest.raises(ScenarioError, match="sweep axis 'topology.hosts': bad range"):
        parse_axis("topology.hosts=4:64:y2")


def test_range_end_is_inclusive_despite_rounding():
    assert parse_range("0.1:0.7:+0.2") == [0.1, 0.3, 0.5, 0.7]
    assert parse_range("0.3:0.9:+0.3")[-1] == 0.9
    assert len(parse_range("0:1:+0.01")) == 101


# --- expansion ----------------------------------------------------------------------------


def test_grid_is_a_cartesian_product_first_axis_slowest(tiny):
    runs = expand(tiny, grid=["topology.bandwidth=1Gbps,10Gbps", "communication.algorithm=ring,ps"])
    assert [(r.params["topology.bandwidth"], r.params["communication.algorithm"]) for r in runs] == [
        ("1Gbps", "ring"),
        ("1Gbps", "ps"),
        ("10Gbps", "ring"),
        ("10Gbps", "ps"),
    ]
    assert [r.index for r in runs] == [0, 1, 2, 3]
    assert len({r.run_id for r in runs}) == 4
    assert runs[1].document["communication"]["algorithm"] == "ps"
    assert runs[1].document["topology"]["kind"] == "star"


def test_zip_pairs_axes_and_combines_with_grid(tiny):
    runs = expand(
        tiny,
        grid={"topology.bandwidth": ["1Gbps", "10Gbps"]},
        zip=["topology.hosts=4,6", "training.workers=2,5"],
    )
    assert [(r.params["topology.hosts"], r.params["training.workers"]) for r in runs] == [(4, 2), (6, 5), (4, 2), (6, 5)]
    assert list(runs[0].params) == ["topology.bandwidth", "topology.hosts", "training.workers", "repeat"]


def test_zip_lengths_must_match(tiny):
    with pytest.raises(ScenarioError, match="topology.hosts has 2, training.workers has 3"):
        expand(tiny, zip=["topology.hosts=4,8", "training.workers=1,2,3"])


def test_repeats_vary_the_seed_and_are_recorded(tiny):
    runs = expand(tiny, grid=["topology.bandwidth=1Gbps,10Gbps"], repeat=3)
    assert [(r.params["topology.bandwidth"], r.params["repeat"], r.document["seed"]) for r in runs] == [
        ("1Gbps", 0, 1),
        ("1Gbps", 1, 2),
        ("1Gbps", 2, 3),
        ("10Gbps", 0, 1),
        ("10Gbps", 1, 2),
        ("10Gbps", 2, 3),
    ]
    swept_seed = expand(tiny, grid=["seed=10,20"], repeat=2)
    assert [r.document["seed"] for r in swept_seed] == [10, 11, 20, 21]


def test_run_id_is_the_hash_of_the_resolved_scenario(tiny):
    a, b = expand(tiny, grid=["topology.bandwidth=10Gbps,1.25e9"])
    assert a.run_id == b.run_id
    assert len(a.run_id) == 16 and int(a.run_id, 16) >= 0
    again = expand(tiny, grid=["topology.bandwidth=10Gbps"])[0]
    assert again.run_id == a.run_id == run_id(scenario_from_dict(a.document)) == run_id(scenario_from_dict(a.document).to_dict())


def test_sweep_table_in_the_scenario_file(tiny):
    path = with_sweep_table(
        tiny,
        '[sweep]\ngrid = { "topology.bandwidth" = ["1Gbps", "10Gbps"], "topology.hosts" = "4:8:x2" }\n'
        'zip = { "training.lr" = [0.1, 0.2], "training.momentum" = [0.0, 0.5] }\nrepeat = 2\n',
    )
    sweep = load_sweep(path)
    assert "sweep" not in sweep.base
    assert sweep.grid == {"topology.bandwidth": ("1Gbps", "10Gbps"), "topology.hosts": (4, 8)}
    assert sweep.zip == {"training.lr": (0.1, 0.2), "training.momentum": (0.0, 0.5)}
    assert sweep.repeat == 2 and sweep.size == 16 and sweep.name == "tiny"
    assert len(expand(path)) == 16
    # the command line replaces the file's axis of the same key and its repeat count
    runs = expand(path, grid=["topology.hosts=6"], repeat=1)
    assert {r.params["topology.hosts"] for r in runs} == {6}
    assert len(runs) == 4


def test_sweep_table_errors(tiny):
    with pytest.raises(ScenarioError, match=r"unknown key 'sweep.grd' \(did you mean 'grid'\?\)"):
        load_sweep(with_sweep_table(tiny, '[sweep]\ngrd = { "topology.hosts" = [4] }\n'))
    with pytest.raises(ScenarioError, match="repeat: must be a whole number >= 1"):
        load_sweep(with_sweep_table(tiny, "[sweep]\nrepeat = 0\n"))
    with pytest.raises(ScenarioError, match="bad range"):
        load_sweep(with_sweep_table(tiny, '[sweep]\ngrid = { "topology.hosts" = "4:8" }\n'))
    with pytest.raises(ScenarioError, match="has no values"):
        load_sweep(with_sweep_table(tiny, '[sweep]\ngrid = { "topology.hosts" = [] }\n'))


def test_unknown_keys_are_rejected_with_the_scenarios_message(tiny):
    with pytest.raises(ScenarioError) as info:
        expand(tiny, grid=["topology.bandwith=1Gbps,10Gbps"])
    message = str(info.value)
    assert message.startswith("unknown key 'topology.bandwith' (did you mean 'bandwidth'?)")
    with pytest.raises(ScenarioError, match="unknown key 'topolgy'"):
        expand(tiny, grid=["topolgy.hosts=4"])


def test_every_run_is_validated_before_any_runs(tiny, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ScenarioError) as info:
        run_sweep(tiny, grid=["topology.hosts=4,3,0"], out=out, jobs=1)
    assert "topology.hosts" in str(info.value)
    assert "sweep run 3 of 3: topology.hosts=0" in str(info.value)
    assert not out.exists()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"grid": ["repeat=1,2"]}, "cannot sweep 'repeat'"),
        ({"grid": ["sweep.repeat=1,2"]}, "cannot sweep"),
        ({"grid": ["topology.hosts=4"], "zip": ["topology.hosts=4"]}, "both a grid and a zip axis"),
        ({"grid": ["topology.hosts=4", "topology.hosts=8"]}, "given twice"),
        ({"grid": ["topology=1", "topology.hosts=4"]}, "overlap"),
        ({"grid": ["topology.hosts=4,8"], "overrides": ["topology.hosts=2"]}, "both set and swept"),
        ({"repeat": 0}, "repeat"),
    ],
)
def test_axis_errors(tiny, kwargs, fragment):
    with pytest.raises(ScenarioError) as info:
        expand(tiny, **kwargs)
    assert fragment in str(info.value)


def test_overrides_apply_to_the_base(tiny):
    runs = expand(tiny, grid=["topology.hosts=4,5"], overrides=["training.steps=2"])
    assert all(r.document["training"]["steps"] == 2 for r in runs)


def test_documents_and_missing_files():
    sweep = sweep_from_dict({"topology": {"hosts": 2}, "sweep": {"grid": {"topology.hosts": [2, 3]}}}, name="doc")
    assert sweep.size == 2 and sweep.name == "doc"
    with pytest.raises(ScenarioError, match="does not exist"):
        load_sweep("no/such/file.toml")


def test_module_doctests():
    for module in (netsim.sweep.axes, netsim.sweep.spec):
        assert doctest.testmod(module).failed == 0


# --- execution -------------------------------------------------------------------------------


class Counter:
    """Wraps the worker's simulate: counts completed runs, optionally interrupts one."""

    def __init__(self, interrupt_at: int | None = None):
        self.started = 0
        self.completed = []
        self.interrupt_at = interrupt_at
        self._simulate = netsim.sweep.worker.simulate

    def __call__(self, scenario):
        self.started += 1
        if self.started == self.interrupt_at:
            raise KeyboardInterrupt
        result = self._simulate(scenario)
        self.completed.append(scenario.seed)
        return result


AXES = {"grid": ["topology.bandwidth=1Gbps,10Gbps", "communication.algorithm=ring,ring_allreduce"], "repeat": 2}


def test_run_sweep_writes_a_table_and_run_directories(tiny, tmp_path):
    out = tmp_path / "sweep"
    table = run_sweep(tiny, **AXES, out=out, jobs=1)
    assert len(table) == 8
    assert list(table.columns[:6]) == ["run", "topology.bandwidth", "communication.algorithm", "repeat", "status", "error"]
    for metric in ("sim_time_s", "mean_step_time_s", "final_accuracy", "bytes_sent"):
        assert metric in table.columns
    assert (table["status"] == "ok").all() and (table["error"] == "").all()
    assert table.attrs["keys"] == ["topology.bandwidth", "communication.algorithm"]
    assert table.attrs["executed"] == 8 and table.attrs["resumed"] == 0
    for rid in table["run"]:
        assert (out / "runs" / rid / "summary.json").is_file()
    assert (out / "results.csv").is_file() and (out / "results.parquet").is_file()
    info = json.loads((out / "sweep.json").read_text())
    assert info["keys"] == table.attrs["keys"] and info["runs"] == 8 and info["repeat"] == 2
    assert not list(out.rglob(".*tmp")) and not list(out.rglob(".*.tmp"))
    csv = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert list(csv["run"]) == list(table["run"])


def test_default_output_directory(tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_sweep(tiny, grid=["topology.hosts=4"], jobs=1)
    assert (tmp_path / "runs" / "sweeps" / "tiny" / "results.csv").is_file()


def test_identical_points_run_once(tiny, tmp_path, monkeypatch):
    counter = Counter()
    monkeypatch.setattr(netsim.sweep.worker, "simulate", counter)
    table = run_sweep(tiny, grid=["topology.bandwidth=10Gbps,1.25e9"], out=tmp_path / "s", jobs=1)
    assert len(table) == 2 and table["run"].nunique() == 1
    assert counter.started == 1


def test_resume_after_an_interruption_runs_each_run_once(tiny, tmp_path, monkeypatch):
    reference = run_sweep(tiny, **AXES, out=tmp_path / "reference", jobs=1)

    first = Counter(interrupt_at=4)
    monkeypatch.setattr(netsim.sweep.worker, "simulate", first)
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(tiny, **AXES, out=out, jobs=1)
    assert len(first.completed) == 3
    partial = pd.read_csv(out / "results.csv")
    assert len(partial) == 3 and (partial["status"] == "ok").all()
    assert len(list((out / "runs").glob("*/summary.json"))) == 3

    second = Counter()
    monkeypatch.setattr(netsim.sweep.worker, "simulate", second)
    table = run_sweep(tiny, **AXES, out=out, jobs=1)
    assert len(second.completed) == 8 - 3
    assert table.attrs["resumed"] == 3 and table.attrs["executed"] == 5
    assert (out / "results.csv").read_bytes() == (tmp_path / "reference" / "results.csv").read_bytes()
    pd.testing.assert_frame_equal(table, reference)

    third = Counter()
    monkeypatch.setattr(netsim.sweep.worker, "simulate", third)
    run_sweep(tiny, **AXES, out=out, jobs=1)
    assert third.started == 0
    run_sweep(tiny, **AXES, out=out, jobs=1, resume=False)
    assert third.started == 8


def test_a_failing_run_does_not_stop_the_others(tiny, tmp_path):
    out = tmp_path / "failing"
    table = run_sweep(tiny, grid=["training.batch_size=4,1000,8"], out=out, jobs=1)
    assert list(table["status"]) == ["ok", "failed", "ok"]
    error = table.loc[1, "error"]
    assert error.startswith("ScenarioError: training.batch_size = 1000 exceeds the smallest shard")
    assert "\n" not in error
    assert pd.isna(table.loc[1, "sim_time_s"]) and not pd.isna(table.loc[2, "sim_time_s"])
    failed_dir = out / "runs" / table.loc[1, "run"]
    assert (failed_dir / "error.txt").read_text().strip() == error
    assert not (failed_dir / "summary.json").exists()
    # the next sweep tries the failed run again, and only it
    again = run_sweep(tiny, grid=["training.batch_size=4,1000,8"], out=out, jobs=1)
    assert again.attrs["executed"] == 1 and again.attrs["resumed"] == 2


def test_unexpected_exceptions_are_recorded_too(tiny, tmp_path, monkeypatch):
    def explode(scenario):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(netsim.sweep.worker, "simulate", explode)
    table = run_sweep(tiny, grid=["topology.hosts=4"], out=tmp_path / "x", jobs=1)
    assert table.loc[0, "error"] == "RuntimeError: boom second line"


def test_process_pool_gives_the_same_table(tiny, tmp_path):
    serial = run_sweep(tiny, **AXES, out=tmp_path / "serial", jobs=1)
    pooled = run_sweep(tiny, **AXES, out=tmp_path / "pool", jobs=2)
    pd.testing.assert_frame_equal(serial, pooled)
    assert (tmp_path / "serial" / "results.csv").read_bytes() == (tmp_path / "pool" / "results.csv").read_bytes()
    for rid in serial["run"]:
        a = (tmp_path / "serial" / "runs" / rid / "summary.json").read_bytes()
        assert a == (tmp_path / "pool" / "runs" / rid / "summary.json").read_bytes()


def test_jobs_must_be_positive(tiny, tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        run_sweep(tiny, out=tmp_path / "j", jobs=0)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_table_as_the_pool(tiny, tmp_path):
    distributed = pytest.importorskip("distributed")
    pooled = run_sweep(tiny, **AXES, out=tmp_path / "pool", jobs=2)
    with (
        distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_sweep(tiny, **AXES, out=tmp_path / "dask", dask=client)
        assert on_dask.attrs["executed"] == 8
        # and by address, as the command line does
        by_address = run_sweep(tiny, **AXES, out=tmp_path / "dask", dask=cluster.scheduler_address, resume=False)
    pd.testing.assert_frame_equal(pooled, on_dask)
    pd.testing.assert_frame_equal(pooled, by_address)
    assert (tmp_path / "pool" / "results.csv").read_bytes() == (tmp_path / "dask" / "results.csv").read_bytes()


def test_unreachable_dask_scheduler_is_a_sweep_error(tiny, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import netsim.sweep.execute
    from netsim.sweep import SweepError

    monkeypatch.setattr(netsim.sweep.execute, "_DASK_CONNECT_TIMEOUT", "0.5s")
    with pytest.raises(SweepError, match="cannot connect to the Dask scheduler"):
        run_sweep(tiny, out=tmp_path / "d", dask="tcp://127.0.0.1:1")


def test_additive_step_may_carry_the_unit():
    from netsim.exceptions import ScenarioError
    from netsim.sweep.axes import parse_range

    assert parse_range("1Gbps:3Gbps:+1Gbps") == parse_range("1Gbps:3Gbps:+1") == ["1Gbps", "2Gbps", "3Gbps"]
    for bad in ("1Gbps:3Gbps:+1Mbps", "1Gbps:100Gbps:x10Gbps"):
        with pytest.raises(ScenarioError, match="additive step may repeat"):
            parse_range(bad)
