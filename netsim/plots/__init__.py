"""Figures from results (matplotlib only; this module never imports the simulator).

Every function takes results already on disk or in DataFrames (see :mod:`netsim.load`),
draws on a new :class:`matplotlib.figure.Figure` (or the ``ax`` given) and returns the
figure. Axes carry quantities with units, scaled to readable ones (µs, ms, kB, MB...).
Colours come from the Okabe–Ito palette, which stays distinct under the common forms
of colour blindness; heatmaps use viridis.

========================= ==================================================================
kind                      what it shows
========================= ==================================================================
``convergence``           held-out loss and accuracy vs simulated time, one line per run,
                          coloured by ``hue`` (:func:`plot_convergence`); for one run with
                          ``[[faults]]``, every fault marked (:func:`add_fault_markers`)
``metric``                a summary metric vs a swept key, one line per ``hue`` value,
                          mean ± standard deviation over repeats (:func:`plot_metric`)
``heatmap``               a summary metric over two swept keys (:func:`plot_heatmap`)
``links``                 mean utilisation of each directed link of a run (:func:`plot_links`)
``timeline``              per-worker Gantt chart of compute, communication and idle time
                          per step (:func:`plot_timeline`)
========================= ==================================================================
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from netsim.load import is_run_dir, is_sweep_dir, load_results, load_run, load_steps
from netsim.plots.runs import add_fault_markers, plot_links, plot_timeline, read_faults
from netsim.plots.style import FORMATS, KINDS, OKABE_ITO, PlotError, metric_label, save_figure
from netsim.plots.sweeps import plot_convergence, plot_heatmap, plot_metric

__all__ = [
    "plot",
    "plot_convergence",
    "plot_metric",
    "plot_heatmap",
    "plot_links",
    "plot_timeline",
    "add_fault_markers",
    "save_figure",
    "metric_label",
    "KINDS",
    "FORMATS",
    "OKABE_ITO",
    "PlotError",
]


def plot(results: str | Path, kind: str, *, x=None, y=None, hue=None, metric=None) -> Figure:
    """Draw one ``kind`` of figure (see :data:`KINDS`) from a run or sweep directory.

    ``x``, ``y``, ``hue`` and ``metric`` are passed to the function of that kind:
    ``convergence`` takes ``y`` (a step column) and ``hue``; ``metric`` takes ``x`` (a
    swept key), ``y`` (a summary metric) and ``hue``; ``heatmap`` takes ``x`` and ``y``
    (swept keys) and ``metric``; ``links`` and ``timeline`` need a run directory.

    Raises
    ------
    PlotError
        If the kind is unknown or the results do not fit it.
    """
    if kind not in KINDS:
        raise PlotError(f"unknown plot kind {kind!r}; accepted: {', '.join(KINDS)}")
    path = Path(results)
    if not path.exists():
        raise PlotError(f"results path {str(path)!r} does not exist")
    if kind == "convergence":
        steps = load_steps(path)
        figure = plot_convergence(steps, y=y, hue=hue)
        faults = read_faults(path) if is_run_dir(path) else None
        if faults is not None and len(faults):
            add_fault_markers(figure, faults, metric_label("end_s", steps["end_s"])[1])
        return figure
    if kind in ("metric", "heatmap"):
        if not is_sweep_dir(path):
            raise PlotError(f"a {kind} plot needs a sweep directory (with results.csv); {str(path)!r} is not one")
        table = load_results(path)
        if kind == "metric":
            return plot_metric(table, x=x, y=y or "mean_step_time_s", hue=hue)
        return plot_heatmap(table, x=x, y=y, metric=metric or "mean_step_time_s")
    if not is_run_dir(path):
        hint = ""
        runs = sorted((path / "runs").glob("*/summary.json")) if path.is_dir() else []
        if runs:
            hint = f", e.g. {str(runs[0].parent)!r}"
        raise PlotError(f"a {kind} plot shows one run: give a run directory (with summary.json){hint}")
    run = load_run(path)
    if kind == "links":
        return plot_links(run.links, sim_time=run.summary.get("sim_time_s"), title=run.summary.get("name"))
    return plot_timeline(run.workers, title=run.summary.get("name"))
