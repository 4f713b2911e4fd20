"""CLI: `netsim sweep`, `netsim plot`, `netsim topology show|info`; errors are one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from netsim.cli import main

ROOT = Path(__file__).resolve().parents[1]

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


def run_main(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
        raise SystemExit(0)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def assert_one_line_error(code, err, fragment):
    assert code == 2
    assert err.startswith("error: ")
    assert err.strip().count("\n") == 0, err
    assert fragment in err
    assert "Traceback" not in err


# --- netsim sweep ---------------------------------------------------------------------------


def test_sweep_happy_path_and_resume(tiny, tmp_path, capsys):
    out = tmp_path / "s"
    args = ["sweep", tiny, "--grid", "topology.bandwidth=1Gbps,10Gbps", "--grid", "communication.algorithm=ring,ps", "--repeat", "2", "--out", out, "-j", "1"]
    code, stdout, _ = run_main(args, capsys)
    assert code == 0
    assert "8 runs: 8 executed, 0 already complete, 0 failed" in stdout
    for word in ("bandwidth", "algorithm", "step time", "accuracy", "10Gbps", "ps"):
        assert word in stdout
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 8 and (table["status"] == "ok").all()
    code, stdout, _ = run_main([*args, "-q"], capsys)
    assert code == 0 and stdout == ""
    code, stdout, _ = run_main(args, capsys)
    assert "8 runs: 0 executed, 8 already complete" in stdout


def test_sweep_default_output_directory_and_pool(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, _ = run_main(["sweep", tiny, "--zip", "topology.hosts=4,5", "--zip", "training.workers=2,5", "-j", "2", "-q"], capsys)
    assert code == 0
    table = pd.read_csv(tmp_path / "runs" / "sweeps" / "tiny" / "results.csv")
    assert list(table["training.workers"]) == [2, 5]


def test_sweep_from_the_sweep_table(tiny, tmp_path, capsys):
    path = tmp_path / "with_table.toml"
    path.write_text(TINY + '\n[sweep]\ngrid = { "training.lr" = "0.1:0.3:+0.1" }\n')
    code, stdout, _ = run_main(["sweep", path, "--out", tmp_path / "t", "-j", "1"], capsys)
    assert code == 0 and "3 runs" in stdout
    assert list(pd.read_csv(tmp_path / "t" / "results.csv")["training.lr"]) == [0.1, 0.2, 0.3]


def test_sweep_dry_run_runs_nothing(tiny, tmp_path, capsys):
    out = tmp_path / "dry"
    code, stdout, _ = run_main(["sweep", tiny, "--grid", "topology.hosts=4:16:x2", "--out", out, "--dry-run"], capsys)
    assert code == 0
    assert "3 runs of tiny (dry run)" in stdout and "16" in stdout
    assert not out.exists()


def test_sweep_with_a_failing_run_exits_1(tiny, tmp_path, capsys):
    out = tmp_path / "f"
    code, stdout, err = run_main(["sweep", tiny, "--grid", "training.batch_size=8,1000", "--out", out, "-j", "1"], capsys)
    assert code == 1
    assert "2 runs: 2 executed, 0 already complete, 1 failed" in stdout
    assert err.startswith("error: 1 of 2 runs failed")
    assert "training.batch_size = 1000 exceeds the smallest shard" in err
    assert err.strip().count("\n") == 0
    assert list(pd.read_csv(out / "results.csv")["status"]) == ["ok", "failed"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--grid", "topology.bandwith=1Gbps"], "unknown key 'topology.bandwith' (did you mean 'bandwidth'?)"),
        (["--grid", "topology.hosts=4:64:y2"], "bad range '4:64:y2'"),
        (["--grid", "topology.hosts"], "expected dotted.key=VALUES"),
        (["--zip", "topology.hosts=4,8", "--zip", "training.workers=1,2,3"], "zipped axes must have the same number of values"),
        (["--grid", "topology.bandwidth=1Gbps,10Gbsp"], "topology.bandwidth: unknown unit 'Gbsp'"),
        (["--grid", "topology.hosts=4", "--set", "topology.hosts=8"], "both set and swept"),
        (["--set", "nonsense"], "expected dotted.key=value"),
        (["--dask", "tcp://127.0.0.1:1"], "cannot connect to the Dask scheduler"),
    ],
)
def test_sweep_user_errors(args, fragment, tiny, tmp_path, capsys, monkeypatch):
    import netsim.sweep.execute

    monkeypatch.setattr(netsim.sweep.execute, "_DASK_CONNECT_TIMEOUT", "0.5s")
    code, _, err = run_main(["sweep", tiny, "--out", tmp_path / "e", *args], capsys)
    assert_one_line_error(code, err, fragment)


def test_sweep_missing_file_and_usage(capsys, tmp_path):
    code, _, err = run_main(["sweep", tmp_path / "nope.toml"], capsys)
    assert_one_line_error(code, err, "does not exist")
    code, _, _ = run_main(["sweep", tmp_path / "nope.toml", "-j", "0"], capsys)
    assert code == 2
    code, _, _ = run_main(["sweep", tmp_path / "nope.toml", "--repeat", "0"], capsys)
    assert code == 2


def test_sweep_unwritable_output(tiny, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_main(["sweep", tiny, "--out", blocker / "sub", "-j", "1"], capsys)
    assert_one_line_error(code, err, "cannot write to sweep directory")


def test_sweep_error_from_a_real_process_has_no_traceback(tiny):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "netsim", "sweep", str(tiny), "--grid", "topology.hosts=0,4"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: topology.hosts")
    assert "Traceback" not in proc.stderr


# --- netsim plot -------------------------------------------------------------------------------


@pytest.fixture
def sweep_dir(tiny, tmp_path, capsys) -> Path:
    out = tmp_path / "sweep"
    code, _, _ = run_main(["sweep", tiny, "--grid", "topology.bandwidth=1Gbps,10Gbps", "--grid", "communication.algorithm=ring,ps", "--out", out, "-j", "1", "-q"], capsys)
    assert code == 0
    return out


def test_plot_happy_paths(sweep_dir, tmp_path, capsys):
    run = next((sweep_dir / "runs").iterdir())
    for kind, source, name in [
        ("convergence", sweep_dir, "c.png"),
        ("metric", sweep_dir, "m.svg"),
        ("heatmap", sweep_dir, "h.pdf"),
        ("links", run, "l.png"),
        ("timeline", run, "t.png"),
    ]:
        code, stdout, _ = run_main(["plot", source, "--kind", kind, "-o", tmp_path / name], capsys)
        assert code == 0, kind
        assert stdout.strip() == f"wrote {tmp_path / name}"
        assert (tmp_path / name).stat().st_size > 1000
    code, _, _ = run_main(["plot", sweep_dir, "--kind", "metric", "--x", "communication.algorithm", "--y", "bytes_sent", "--hue", "topology.bandwidth"], capsys)
    assert code == 0 and (sweep_dir / "metric.png").is_file()
    code, _, _ = run_main(["plot", sweep_dir, "-k", "heatmap", "--metric", "final_accuracy", "-o", tmp_path / "h2.png"], capsys)
    assert code == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--kind", "metric", "--hue", "topology.bandwdth"], "did you mean 'topology.bandwidth'"),
        (["--kind", "metric", "-o", "fig.jpg"], "use a name ending in .png, .svg, .pdf"),
        (["--kind", "links"], "give a run directory"),
        (["--kind", "heatmap", "--metric", "speed"], "'speed' is not a column"),
    ],
)
def test_plot_user_errors(args, fragment, sweep_dir, capsys):
    code, _, err = run_main(["plot", sweep_dir, *args], capsys)
    assert_one_line_error(code, err, fragment)


def test_plot_missing_results_and_usage(tmp_path, capsys):
    code, _, err = run_main(["plot", tmp_path / "nothing", "--kind", "metric"], capsys)
    assert_one_line_error(code, err, "does not exist")
    code, _, _ = run_main(["plot", tmp_path, "--kind", "pie"], capsys)
    assert code == 2
    code, _, _ = run_main(["plot", tmp_path], capsys)
    assert code == 2


# --- netsim topology -------------------------------------------------------------------------------


def test_topology_info(capsys):
    code, stdout, _ = run_main(["topology", "info", ROOT / "scenarios" / "tree_oversubscribed.toml"], capsys)
    assert code == 0
    for fragment in ("hosts", "16", "switches", "bisection bandwidth", "25 Gbps from h0..h7 to h8..h15", "level 1: 8:1"):
        assert fragment in stdout
    code, stdout, _ = run_main(["topology", "info", ROOT / "scenarios" / "tree_oversubscribed.toml", "--set", "topology.oversubscription=1", "--json"], capsys)
    metrics = json.loads(stdout)
    assert metrics["bisection_ratio"] == 1.0 and metrics["oversubscription"] == {"1": 1.0}
    code, stdout, _ = run_main(["topology", "info", ROOT / "topologies" / "two_racks.toml"], capsys)
    assert code == 0 and "gpu0..gpu3 to gpu4..gpu7" in stdout and "level 1: 4:1" in stdout
    code, stdout, _ = run_main(["topology", "info", ROOT / "scenarios" / "ring_allreduce_ring.toml"], capsys)
    assert code == 0 and "no switch has uplinks" in stdout


def test_topology_show(tmp_path, capsys, monkeypatch):
    target = tmp_path / "topo.png"
    code, stdout, _ = run_main(["topology", "show", ROOT / "scenarios" / "two_racks_file.toml", "-o", target], capsys)
    assert code == 0 and stdout.strip() == f"wrote {target}"
    assert target.read_bytes().startswith(b"\x89PNG")
    monkeypatch.chdir(tmp_path)
    code, _, _ = run_main(["topology", "show", ROOT / "topologies" / "small_dc.json", "--layout", "spring"], capsys)
    assert code == 0 and (tmp_path / "small_dc_topology.png").is_file()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["info", "no/such.toml"], "does not exist"),
        (["info", str(ROOT / "scenarios" / "quickstart.toml"), "--set", "topology.kind=stra"], "did you mean 'star'"),
        (["info", str(ROOT / "topologies" / "small_dc.json"), "--set", "topology.hosts=2"], "--set applies to scenario files"),
        (["show", str(ROOT / "scenarios" / "quickstart.toml"), "-o", "topo.gif"], "use a name ending in .png"),
    ],
)
def test_topology_user_errors(args, fragment, capsys):
    code, _, err = run_main(["topology", *args], capsys)
    assert_one_line_error(code, err, fragment)
