"""The transport in whole runs: scenario keys reach the network, the summary reports goodput,
``ideal`` leaves results unchanged, ``netsim list transports`` and the bundled sweep."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from netsim.cli import cli, main
from netsim.runner import simulate
from netsim.scenario import scenario_from_dict
from netsim.sweep import load_sweep
from netsim.transport import TRANSPORTS

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "scenarios" / "transport_sweep.toml"
TRANSPORT_KEYS = {
    "transport",
    "loss_rate",
    "payload_bytes",
    "bytes_retransmitted",
    "bytes_dropped",
    "goodput_fraction",
}


def job(**network):
    document = {
        "topology": {"kind": "star", "hosts": 5, "bandwidth": "10Gbps", "latency": "20us"},
        "communication": {"algorithm": "parameter_server"},
        "training": {"features": 64, "classes": 4, "steps": 4, "samples": 512},
        "compute": {"step_time": "100us"},
    }
    if network:
        document["network"] = network
    return scenario_from_dict(document)


def test_ideal_explicitly_equals_the_default():
    default = simulate(job()).summary
    ideal = simulate(job(transport="ideal")).summary
    assert not TRANSPORT_KEYS & set(default)  # existing scenarios keep their summary keys
    assert set(ideal) >= TRANSPORT_KEYS
    for key, value in default.items():
        if key != "wall_time_s":
            assert ideal[key] == value, key
    assert ideal["payload_bytes"] == ideal["bytes_sent"] and ideal["goodput_fraction"] == 1.0


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_every_transport_costs_time_and_bytes_but_not_math(model):
    base = simulate(job(model=model, transport="ideal")).summary
    for name in TRANSPORTS:
        if name == "ideal":
            continue
        summary = simulate(job(model=model, transport=name)).summary
        assert summary["transport"] == name
        assert summary["final_loss"] == base["final_loss"]  # the same exact averaging
        assert summary["mean_comm_time_s"] > base["mean_comm_time_s"]
        assert summary["bytes_sent"] > summary["payload_bytes"] == base["payload_bytes"]
        assert summary["goodput_fraction"] == pytest.approx(
            summary["payload_bytes"] / summary["bytes_sent"]
        )


def test_loss_options_and_tables_reach_the_network():
    lossy = simulate(job(transport="tcp", loss_rate=0.01)).summary
    clean = simulate(job(transport="tcp")).summary
    assert (
        lossy["bytes_retransmitted"] == lossy["bytes_dropped"] > 0 == clean["bytes_retransmitted"]
    )
    assert lossy["mean_comm_time_s"] > clean["mean_comm_time_s"]
    jumbo = simulate(job(transport="tcp", mtu=9000)).summary
    assert jumbo["goodput_fraction"] > clean["goodput_fraction"]
    small_window = simulate(job(transport="tcp", tcp={"initial_window": 1})).summary
    assert small_window["mean_comm_time_s"] > clean["mean_comm_time_s"]
    # buffer and ecn are for the packet model; the flow model ignores them
    queued = simulate(job(transport="tcp", buffer="64KiB", ecn=True)).summary
    assert queued["mean_comm_time_s"] == clean["mean_comm_time_s"]


def test_list_transports():
    only = CliRunner().invoke(cli, ["list", "transports"])
    assert only.exit_code == 0
    for name in TRANSPORTS:
        assert name in only.output
    assert "rocev2 (roce, rdma)" in only.output and "rest (http)" in only.output
    assert "ring_allreduce" not in only.output
    everything = CliRunner().invoke(cli, ["list"])
    assert "transports" in everything.output and "rocev2" in everything.output


def test_run_prints_the_transport(tmp_path, capsys):
    result = CliRunner().invoke(
        cli, ["run", str(SWEEP), "--out", str(tmp_path), "--set", "training.steps=2"]
    )
    assert result.exit_code == 0, result.output
    assert "grpc, goodput 0.9" in result.output and "resent" in result.output
    with pytest.raises(SystemExit) as info:
        main(["run", str(SWEEP), "--set", "network.tcp.initial_window=0"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "network.tcp.initial_window: expected a whole number >= 1, got 0" in err
    assert "Traceback" not in err


def test_the_bundled_sweep_covers_transports_and_bandwidths():
    sweep = load_sweep(SWEEP)
    assert sweep.grid["network.transport"] == ("ideal", "tcp", "rocev2", "grpc", "rest")
    assert sweep.grid["topology.bandwidth"] == ("1Gbps", "100Gbps")


def sweep_names():
    return load_sweep(SWEEP).grid["network.transport"]


def test_the_bundled_sweep_answers_its_question(tmp_path):
    """gRPC over TCP vs RoCE at 1 and 100 Gbps with 0.1 % loss: RoCE's thinner stack wins at
    100 Gbps, its 1024-byte path MTU and go-back-N cost it at 1 Gbps; REST pays for JSON."""
    result = CliRunner().invoke(cli, ["sweep", str(SWEEP), "--out", str(tmp_path), "-j", "1", "-q",
                                      "--set", "training.steps=3"])  # fmt: skip
    assert result.exit_code == 0, result.output

    table = pd.read_csv(tmp_path / "results.csv").set_index(
        ["network.transport", "topology.bandwidth"]
    )
    step = table["mean_step_time_s"]
    assert len(table) == 10 and set(table["status"]) == {"ok"}
    assert table["final_loss"].nunique() == 1
    assert (
        step["rocev2", "100Gbps"]
        < step["tcp", "100Gbps"]
        < step["grpc", "100Gbps"]
        < step["rest", "100Gbps"]
    )
    assert step["tcp", "1Gbps"] < step["rocev2", "1Gbps"]
    for bandwidth in ("1Gbps", "100Gbps"):
        assert step["ideal", bandwidth] == min(step[name, bandwidth] for name in sweep_names())
