"""Plots: every kind renders, with labelled axes, units and legends; errors are clear."""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import netsim
import netsim.plots
from netsim.load import load_results, load_run, load_steps
from netsim.plots import (
    KINDS,
    OKABE_ITO,
    PlotError,
    metric_label,
    plot,
    plot_convergence,
    plot_heatmap,
    plot_links,
    plot_metric,
    plot_timeline,
    save_figure,
)
from netsim.sweep import run_sweep

matplotlib.use("Agg")

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
steps = 4

[compute]
flops_per_second = "1GFLOPS"
"""


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plots")
    scenario = root / "tiny.toml"
    scenario.write_text(TINY)
    out = root / "sweep"
    run_sweep(scenario, grid=["topology.bandwidth=1Gbps,10Gbps,100Gbps", "communication.algorithm=ring,ps"], repeat=2, out=out, jobs=1)
    return out


@pytest.fixture(scope="module")
def run_dir(sweep_dir) -> Path:
    """The first ring-allreduce run (4 workers)."""
    table = load_results(sweep_dir)
    return sweep_dir / "runs" / table.loc[table["communication.algorithm"] == "ring", "run"].iloc[0]


def labelled(ax) -> None:
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_with_labelled_axes(kind, sweep_dir, run_dir, tmp_path):
    source = run_dir if kind in ("links", "timeline") else sweep_dir
    fig = plot(source, kind)
    for ax in fig.axes:
        if ax.get_label() != "<colorbar>":
            labelled(ax)
    path = save_figure(fig, tmp_path / f"{kind}.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert not list(tmp_path.glob(".*"))


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_vector_formats(suffix, magic, sweep_dir, tmp_path):
    path = save_figure(plot(sweep_dir, "metric"), tmp_path / "sub" / f"figure{suffix}")
    assert path.read_bytes().startswith(magic)


def test_convergence(sweep_dir):
    steps = load_steps(sweep_dir)
    fig = plot_convergence(steps)
    loss, accuracy = fig.axes
    assert loss.get_xlabel() == "simulated time (µs)"
    assert loss.get_ylabel() == "held-out loss" and accuracy.get_ylabel() == "held-out accuracy"
    assert len(loss.get_lines()) == 12  # one line per run
    legend = accuracy.get_legend()
    assert legend.get_title().get_text() == "topology.bandwidth, communication.algorithm"
    assert len(legend.get_texts()) == 6  # repeats share their point's colour
    one = plot_convergence(steps, y="train_loss", hue="topology.bandwidth")
    (ax,) = one.axes
    assert ax.get_ylabel() == "training loss"
    colours = {line.get_color() for line in ax.get_lines()}
    assert colours == set(OKABE_ITO[:3])


def test_convergence_of_one_run(run_dir):
    fig = plot_convergence(load_results(run_dir))
    assert len(fig.axes[0].get_lines()) == 1


def test_metric_lines_per_hue_with_error_bars(sweep_dir):
    table = load_results(sweep_dir)
    fig = plot_metric(table, x="topology.bandwidth", y="mean_comm_time_s", hue="communication.algorithm")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "mean communication time per step (µs)"
    assert ax.get_xlabel() == "topology.bandwidth"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1Gbps", "10Gbps", "100Gbps"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ring", "ps"]
    assert "mean ± sd over 2 repeats" in ax.get_title()
    assert len(ax.containers) == 2  # one errorbar container per hue value
    # plotted means are the means over repeats, in µs
    ring = table[(table["communication.algorithm"] == "ring") & (table["topology.bandwidth"] == "1Gbps")]
    y = ax.containers[0].lines[0].get_ydata()[0]
    assert y == pytest.approx(ring["mean_comm_time_s"].mean() * 1e6)


def test_metric_numeric_axis(tmp_path):
    table = pd.DataFrame(
        {
            "run": list("abcd"),
            "topology.hosts": [4, 16, 64, 256],
            "repeat": 0,
            "status": "ok",
            "error": "",
            "bytes_sent": [1e3, 4e6, 1.6e7, 6.4e7],
        }
    )
    fig = plot_metric(table, y="bytes_sent")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "bytes on the wire (MB)"
    assert ax.get_legend() is None


def test_heatmap(sweep_dir):
    fig = plot_heatmap(load_results(sweep_dir), metric="sim_time_s")
    ax, bar = fig.axes
    assert ax.get_xlabel() == "topology.bandwidth" and ax.get_ylabel() == "communication.algorithm"
    assert len(ax.texts) == 6
    assert bar.get_ylabel().startswith("simulated time (")


def test_heatmap_marks_missing_cells():
    table = pd.DataFrame(
        {"run": ["a", "b", "c"], "x": [1, 2, 1], "y": ["p", "p", "q"], "repeat": 0, "status": ["ok", "ok", "failed"], "error": "", "final_accuracy": [0.5, 0.7, np.nan]}
    )
    fig = plot_heatmap(table, x="x", y="y", metric="final_accuracy")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0.5", "0.7"]  # the failed run's row is dropped entirely
    table.loc[2, "status"] = "ok"
    table.loc[2, "final_accuracy"] = 0.9
    texts = [t.get_text() for t in plot_heatmap(table, x="x", y="y", metric="final_accuracy").axes[0].texts]
    assert texts == ["0.5", "0.7", "0.9", "—"]


def test_links(run_dir):
    run = load_run(run_dir)
    fig = plot_links(run.links, sim_time=run.summary["sim_time_s"], title="tiny")
    (ax,) = fig.axes
    assert len(ax.patches) == len(run.links) == 8
    assert ax.get_xlabel() == "mean utilisation over the run (% of link bandwidth)"
    assert "simulated" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1 Gbps"]
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths[-1] == pytest.approx(run.links["utilisation"].max() * 100)
    few = plot_links(run.links, top=3)
    assert len(few.axes[0].patches) == 3 and "busiest" in few.axes[0].get_title()


def test_links_over_time():
    timeline = pd.DataFrame(
        {"src": ["h0", "h0", "s0"], "dst": ["s0", "s0", "h1"], "start_s": [0, 1e-3, 0], "end_s": [1e-3, 2e-3, 2e-3], "utilisation": [0.5, 1.0, 0.25]}
    )
    links = pd.DataFrame({"src": ["h0", "s0"], "dst": ["s0", "h1"], "bandwidth": [1e9, 1e9], "utilisation": [0.75, 0.25]})
    fig = plot_links(links, timeline=timeline)
    ax, bar = fig.axes
    assert ax.get_xlabel() == "simulated time (ms)"
    assert bar.get_ylabel() == "utilisation (% of link bandwidth)"
    grid = ax.collections[0].get_array()
    assert grid.shape == (2, 2) and grid[0, 1] == 100 and grid[1, 0] == 25


def test_timeline(run_dir):
    run = load_run(run_dir)
    fig = plot_timeline(run.workers, title="tiny")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"worker {w}" for w in range(4)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["compute", "communication", "idle"]
    assert ax.get_xlabel().startswith("simulated time (")
    assert "steps 0–3" in ax.get_title()
    assert len(ax.patches) >= 4 * 4 * 2  # compute and communication bars per worker and step
    part = plot_timeline(run.workers, steps=(1, 1))
    assert "step 1;" in part.axes[0].get_title()


def test_timeline_shows_idle_time_of_fast_workers():
    workers = pd.DataFrame(
        {"step": [0, 0, 1, 1], "worker": [0, 1, 0, 1], "start_s": [0.0, 0.0, 3.0, 3.0], "compute_s": [1.0, 2.0, 1.0, 1.0], "comm_s": [1.0, 1.0, 1.0, 1.0], "end_s": [2.0, 3.0, 4.0, 4.0]}
    )
    ax = plot_timeline(workers).axes[0]
    idle = [p for p in ax.patches if matplotlib.colors.to_hex(p.get_facecolor()) == "#d9d9d9"]
    assert len(idle) == 1 and idle[0].get_width() == pytest.approx(1.0) and idle[0].get_x() == pytest.approx(2.0)


def test_metric_label_units():
    assert metric_label("sim_time_s", [2.5]) == ("simulated time (s)", 1.0)
    assert metric_label("sim_time_s", [2.5e-3]) == ("simulated time (ms)", 1e-3)
    assert metric_label("bytes_sent", [3e9]) == ("bytes on the wire (GB)", 1e9)
    assert metric_label("final_loss") == ("final held-out loss", 1.0)
    assert metric_label("something_else") == ("something_else", 1.0)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda s, r: plot(s, "pie"), "unknown plot kind 'pie'"),
        (lambda s, r: plot(s / "nope", "metric"), "does not exist"),
        (lambda s, r: plot(s, "links"), "give a run directory"),
        (lambda s, r: plot(r, "metric"), "needs a sweep directory"),
        (lambda s, r: plot(s, "metric", hue="topology.bandwdth"), "did you mean 'topology.bandwidth'"),
        (lambda s, r: plot(s, "heatmap", metric="nope"), "'nope' is not a column"),
        (lambda s, r: plot_heatmap(load_results(s).drop(columns="communication.algorithm").assign(), x="topology.bandwidth", y="zzz"), "'zzz' is not a column"),
        (lambda s, r: plot_convergence(load_steps(s), y="accuracy"), "did you mean 'test_accuracy'"),
        (lambda s, r: save_figure(plot(s, "metric"), s / "fig.jpg"), "use a name ending in .png, .svg, .pdf"),
        (lambda s, r: plot_timeline(load_run(r).workers, steps=(50, 60)), "no worker records"),
    ],
)
def test_errors(call, fragment, sweep_dir, run_dir):
    with pytest.raises(PlotError) as info:
        call(sweep_dir, run_dir)
    assert fragment in str(info.value)


def test_heatmap_needs_two_keys(tmp_path):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    run_sweep(scenario, grid=["topology.bandwidth=1Gbps,10Gbps"], out=tmp_path / "one", jobs=1)
    with pytest.raises(PlotError, match="needs two swept keys; these results have 1"):
        plot(tmp_path / "one", "heatmap")
    fig = plot(tmp_path / "one", "metric")
    assert fig.axes[0].get_legend() is None


def test_draw_into_existing_axes(sweep_dir):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    assert plot_metric(load_results(sweep_dir), ax=ax) is fig
    with pytest.raises(PlotError, match="pass y="):
        plot_convergence(load_steps(sweep_dir), ax=ax)


def test_plots_never_import_the_simulator():
    imported = set()
    for path in Path(netsim.plots.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
    assert not any(name.split(".")[0] == "simpy" for name in imported)
    netsim_modules = {name for name in imported if name.startswith("netsim")}
    assert netsim_modules <= {"netsim.exceptions", "netsim.load", "netsim.plots.style", "netsim.plots.sweeps", "netsim.plots.runs"}


@pytest.mark.parametrize("module", ["netsim.plots", "netsim.plots.style", "netsim.plots.sweeps", "netsim.plots.runs"])
def test_doctests_and_all(module):
    module = importlib.import_module(module)
    assert doctest.testmod(module).failed == 0
    assert module.__all__ and all(hasattr(module, name) for name in module.__all__)


def test_metric_title_names_swept_keys_it_averages_over():
    table = pd.DataFrame(
        {"run": range(8), "a": [1, 1, 2, 2] * 2, "b": ["x", "y"] * 4, "c": [0] * 4 + [1] * 4,
         "repeat": [0] * 8, "mfu": np.linspace(0.3, 0.6, 8)}
    )
    table.attrs["keys"] = ["a", "b", "c"]
    figure = plot_metric(table, x="a", y="mfu", hue="b")
    title = figure.axes[0].get_title()
    assert title.startswith("MFU vs a") and "mean ± sd over c" in title
    figure = plot_metric(table[table["c"] == 0], x="a", y="mfu", hue="b")
    assert "mean ± sd" not in figure.axes[0].get_title()
