"""CLI: `netsim run` and `netsim list`, and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from netsim.cli import cli, main

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"


def run_main(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_run_writes_results_and_prints_summary(tmp_path, capsys):
    code, out, _ = run_main(["run", str(QUICKSTART), "--out", str(tmp_path / "r"), "--set", "training.steps=5"], capsys)
    assert code == 0
    for word in ("simulated time", "mean step time", "communication", "bytes on the wire", "final accuracy"):
        assert word in out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["summary"]["steps"] == 5
    assert "wall_time_s" not in summary["summary"]
    assert summary["scenario"]["training"]["steps"] == 5
    for name in ("steps.csv", "workers.csv", "links.csv", "run.json"):
        assert (tmp_path / "r" / name).exists()
    assert not list((tmp_path / "r").glob(".*tmp"))


def test_default_output_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, _ = run_main(["run", str(QUICKSTART), "-q", "--set", "training.steps=2"], capsys)
    assert code == 0
    assert (tmp_path / "runs" / "quickstart" / "summary.json").exists()


def test_json_output(tmp_path, capsys):
    code, out, _ = run_main(["run", str(QUICKSTART), "--json", "--out", str(tmp_path), "--set", "training.steps=2"], capsys)
    assert code == 0
    assert json.loads(out)["steps"] == 2


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "topology.bandwith=1Gbps"], "unknown key 'topology.bandwith' (did you mean 'bandwidth'?)"),
        (["--set", "topology.bandwidth=10Gbsp"], "topology.bandwidth: unknown unit 'Gbsp'"),
        (["--set", "topology.bandwidth=-10Gbps"], "topology.bandwidth: bandwidth must not be negative"),
        (["--set", "communication.algorithm=allreduce"], "communication.algorithm: 'allreduce' is not accepted"),
        (["--set", "network.model=packets"], "network.model"),
        (["--set", "training.batch_size=100000"], "training.batch_size"),
        (["--set", "nonsense"], "expected dotted.key=value"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, fragment, capsys, tmp_path):
    code, out, err = run_main(["run", str(QUICKSTART), "--out", str(tmp_path), *args], capsys)
    assert code == 2
    assert fragment in err
    assert err.startswith("error: ")
    assert err.strip().count("\n") == 0
    assert "Traceback" not in err


def test_missing_file(capsys):
    code, _, err = run_main(["run", "no/such/file.toml"], capsys)
    assert code == 2
    assert "does not exist" in err


def test_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_main(["run", str(QUICKSTART), "--out", str(blocker / "sub"), "--set", "training.steps=1"], capsys)
    assert code == 2
    assert "cannot write results" in err


def test_usage_errors_exit_2():
    runner = CliRunner()
    assert runner.invoke(cli, ["run"]).exit_code == 2
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2
    assert runner.invoke(cli, ["list", "things"]).exit_code == 2


def test_list():
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0
    for word in ("star", "ring", "tree", "flow", "analytic", "ring_allreduce", "parameter_server", "logistic"):
        assert word in result.output
    only = CliRunner().invoke(cli, ["list", "algorithms"])
    assert "ring_allreduce" in only.output and "analytic" not in only.output


def test_console_script_and_module_entry_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "netsim", "run", str(QUICKSTART), "--set", "topology.hosts=0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: topology.hosts")
    assert "Traceback" not in proc.stderr


def test_typos_get_a_close_match_hint(capsys):
    code, _, err = run_main(["run", str(ROOT / "scenarios" / "quikstart.toml")], capsys)
    assert code == 2 and "(did you mean 'quickstart.toml'?)" in err
    code, _, err = run_main(["collective", "--algorithm", "rign"], capsys)
    assert code == 2 and "(did you mean 'ring'?)" in err
