"""`netsim collective`: nccl-tests-style table, closed forms, plots, and errors."""

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from netsim.cli import cli, main
from netsim.cli.collective import parse_sizes


def test_table_matches_closed_form(tmp_path):
    csv = tmp_path / "t.csv"
    result = CliRunner().invoke(cli, ["collective", "--hosts", "8", "--sizes", "1KB:1GB", "--factor", "10", "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    assert "busBw" in result.output
    table = pd.read_csv(csv)
    assert len(table) == 7
    assert (table["error"].abs() < 1e-9).all()
    large = table.iloc[-1]
    # bandwidth-optimal allreduce: busBw -> link bandwidth (100 Gbps = 12.5 GB/s)
    assert large["bus_bw"] == pytest.approx(12.5e9, rel=2e-3)
    assert large["alg_bw"] * 2 * 7 / 8 == pytest.approx(large["bus_bw"])


def test_all_algorithms_and_plot(tmp_path):
    png = tmp_path / "bw.png"
    result = CliRunner().invoke(cli, ["collective", "--algorithm", "all", "--hosts", "4", "--sizes", "1KB,1MB", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "ring_allreduce" in result.output and "parameter_server" in result.output
    assert png.stat().st_size > 1000


def test_sharded_ps_closed_form_is_the_configuration_that_runs(tmp_path):
    # Without --opt a sharded PS runs with one dedicated server: the predicted column must
    # be that configuration's closed form (it showed the s = p co-located case, +406 %).
    csv = tmp_path / "t.csv"
    result = CliRunner().invoke(cli, ["collective", "-a", "sharded_ps", "--hosts", "5", "--sizes", "1MB", "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    row = pd.read_csv(csv).iloc[0]
    assert abs(row["error"]) < 1e-9
    result = CliRunner().invoke(cli, ["collective", "-a", "sharded_ps", "--hosts", "16", "--opt", "servers=3", "--sizes", "1MB", "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    assert abs(pd.read_csv(csv).iloc[0]["error"]) < 1e-9


def test_parse_sizes():
    assert parse_sizes("1KiB:4KiB") == [1024.0, 2048.0, 4096.0]
    assert parse_sizes("1KB:1MB", factor=10) == [1e3, 1e4, 1e5, 1e6]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--algorithm", "nope"], "--algorithm: unknown collective algorithm 'nope'"),
        (["--sizes", "1GB:1KB"], "--sizes"),
        (["--sizes", "1XB:1GB"], "--sizes: unknown unit"),
        (["--model", "packet2"], "--model"),
        (["--opt", "chunks=2"], "--opt chunks"),
        (["--bandwidth", "fast"], "bandwidth"),
        (["--hosts", "0"], "hosts"),
        (["--operation", "allreduce2", "--algorithm", "all"], "--operation"),
        # option values the algorithms would reject mid-run (tracebacks before) or misread
        (["-a", "double_binary_tree", "--opt", "chunks=0"], "--opt chunks: must be an integer from 1 to 1000000, got 0"),
        (["-a", "double_binary_tree", "--opt", "chunks=1.5"], "--opt chunks: must be an integer"),
        (["-a", "double_binary_tree", "--opt", "chunks=true"], "--opt chunks: must be an integer"),
        (["-a", "hierarchical", "--opt", "group_size=0"], "--opt group_size: must be an integer >= 1, got 0"),
        (["-a", "binomial_broadcast", "--operation", "broadcast", "--opt", "root=16"], "--opt root: must be an integer from 0 to 15, got 16"),
        (["-a", "binomial_broadcast", "--opt", "root=x"], "--opt root: must be an integer from 0 to 15, got 'x'"),
        (["-a", "sharded_ps", "--opt", "servers=16"], "--opt servers: must be an integer from 1 to 15, got 16"),
        (["-a", "sharded_ps", "--opt", "servers=0"], "--opt servers: must be an integer from 1 to 15"),
        (["-a", "sharded_ps", "--opt", "colocated=maybe"], "--opt colocated: must be true or false, got 'maybe'"),
        (["-a", "sharded_ps", "--opt", "servers=17", "--opt", "colocated=true"], "--opt servers: must be an integer from 1 to 16"),
        (["-a", "parameter_server", "--opt", "on_server=1"], "--opt on_server: not accepted here"),
        (["-a", "parameter_server", "--opt", "server=2"], "--opt server: not accepted here"),
        (["--plot", "busbw.txt"], "--plot: cannot draw 'busbw.txt': use a name ending in .png, .svg, .pdf"),
    ],
)
def test_errors_exit_2_with_one_line(args, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(["collective", "--sizes", "1KB", *args] if "--sizes" not in args else ["collective", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err


def test_preset_topology_takes_only_its_own_keys(tmp_path):
    """gpu_cluster has no 'bandwidth'/'latency' keys: the command must not pass them."""
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        cli,
        ["collective", "--topology", "gpu_cluster", "--hosts", "16", "--sizes", "1MB",
         "--algorithm", "ring", "--csv", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "gpu_cluster, 16 hosts, flow model" in result.output
    table = pd.read_csv(out)
    assert list(table["ranks"]) == [16] and table["time_s"].iloc[0] > 0


def test_transport_and_mtu_options(tmp_path):
    """--transport/--mtu reach the network; the closed form is not claimed for them."""
    def table(*extra):
        out = tmp_path / f"t{len(extra)}.csv"
        args = ["collective", "--hosts", "4", "--sizes", "1MB", "--csv", str(out), *extra]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return pd.read_csv(out).iloc[0], result.output

    ideal, _ = table()
    tcp, output = table("--transport", "tcp")
    assert "tcp transport" in output
    assert tcp["time_s"] > ideal["time_s"] and math.isnan(tcp["predicted_s"])
    framed, output = table("--model", "packet", "--mtu", "9000")
    assert "MTU 9000" in output and math.isnan(framed["predicted_s"])


@pytest.mark.parametrize(
    "args, fragment",
    [(["--transport", "tpc"], "--transport: unknown transport 'tpc' (did you mean 'tcp'?)"),
     (["--mtu", "10"], "--mtu: expected a whole number >= 68")],
)
def test_transport_errors_name_the_option(args, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(["collective", "--hosts", "4", "--sizes", "1MB", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
