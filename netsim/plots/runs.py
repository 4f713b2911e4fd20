"""Figures of one run: link utilisation, the per-worker step timeline, fault markers.

:func:`add_fault_markers` shades, on every panel of a figure whose x axis is simulated
time, the span of each fault occurrence of a run's ``faults.csv`` (one colour per kind;
a crash is a solid line at the crash and a hatched span until training resumed) and
adds a legend of the kinds; :func:`read_faults` reads the table of a run directory.
``netsim plot RUN --kind convergence`` draws them when the run has faults.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from netsim.plots.style import (
    _PHASES,
    OKABE_ITO,
    PlotError,
    _bandwidth,
    _figure,
    _grid,
    _require,
    _unit,
)

__all__ = ["plot_links", "plot_timeline", "add_fault_markers", "read_faults", "FAULT_STYLE"]

def plot_links(links: pd.DataFrame, *, timeline: pd.DataFrame | None = None, sim_time: float | None = None, top: int = 40, title: str | None = None, ax=None) -> Figure:
    """Utilisation of each directed link: mean over the run, or over time.

    Parameters
    ----------
    links : pandas.DataFrame
        ``links.csv`` of a run: ``src, dst, bandwidth`` (bytes/s), ``bytes``,
        ``utilisation`` (bytes / (bandwidth × simulated time)).
    timeline : pandas.DataFrame, optional
        Utilisation over time, one row per link and interval: ``src, dst, start_s,
        end_s, utilisation`` (fraction). When given, a link × time heatmap is drawn
        instead of the bar chart (for traces).
    sim_time : float, optional
        Simulated time of the run in seconds (shown in the title).
    top : int, default 40
        Show at most this many links, the busiest (in their original order).
    title : str, optional
        Run name for the title.
    ax : matplotlib Axes, optional
    """
    _require(links, ["src", "dst", "bandwidth", "utilisation"], "links")
    if timeline is not None:
        return _link_timeline(timeline, title=title, ax=ax)
    shown = links if len(links) <= top else links.loc[links["utilisation"].nlargest(top).index.sort_values()]
    names = [f"{s} → {d}" for s, d in zip(shown["src"], shown["dst"], strict=True)]
    fig, (panel,) = _figure(ax, size=(7.0, 0.24 * len(shown) + 1.6))
    classes = sorted(shown["bandwidth"].unique(), reverse=True)
    for index, bandwidth in enumerate(classes):
        mask = (shown["bandwidth"] == bandwidth).to_numpy()
        panel.barh(
            np.flatnonzero(mask),
            shown["utilisation"].to_numpy()[mask] * 100,
            color=OKABE_ITO[index % len(OKABE_ITO)],
            height=0.7,
            label=_bandwidth(bandwidth),
        )
    if "bytes" in shown.columns:
        peak = max(shown["utilisation"].max() * 100, 1e-12)
        unit, factor = _unit("bytes", shown["bytes"])
        for i, (u, b) in enumerate(zip(shown["utilisation"], shown["bytes"], strict=True)):
            panel.text(u * 100 + peak * 0.01, i, f"{b / factor:.3g} {unit}", va="center", fontsize="x-small")
        panel.set_xlim(0, peak * 1.18)
    panel.set_yticks(range(len(shown)), names, fontsize="small" if len(shown) <= 24 else "x-small")
    panel.set_ylim(len(shown) - 0.5, -0.5)
    panel.set_xlabel("mean utilisation over the run (% of link bandwidth)")
    panel.set_ylabel("directed link")
    head = "Link utilisation" + (f": {title}" if title else "")
    if sim_time:
        unit, factor = _unit("sim_time_s", [sim_time])
        head += f" ({sim_time / factor:.3g} {unit} simulated)"
    if len(shown) < len(links):
        head += f"\nthe {len(shown)} busiest of {len(links)} directed links"
    panel.set_title(head)
    panel.legend(title="link bandwidth", fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _grid(panel, axis="x")
    return fig


def plot_timeline(workers: pd.DataFrame, *, steps: tuple[int, int] | None = None, title: str | None = None, ax=None) -> Figure:
    """Per-worker Gantt chart of compute, communication and idle time in each step.

    Per worker and step: **compute** from ``start_s`` for ``compute_s``; **communication**
    from the end of compute to the worker's ``end_s`` (exposed communication,
    ``comm_s``, including waiting for peers inside the collective); **idle** from the
    worker's ``end_s`` to the start of its next step (or to the end of the step's
    slowest worker, for the last step).

    Parameters
    ----------
    workers : pandas.DataFrame
        ``workers.csv`` of a run: ``step, worker, start_s, compute_s, end_s`` (s).
    steps : (int, int), optional
        First and last step to show (inclusive); default all.
    title : str, optional
        Run name for the title.
    ax : matplotlib Axes, optional
    """
    _require(workers, ["step", "worker", "start_s", "compute_s", "end_s"], "workers")
    data = workers if steps is None else workers[workers["step"].between(*steps)]
    if data.empty:
        raise PlotError(f"no worker records for steps {steps}")
    data = data.sort_values(["worker", "step"])
    step_end = data.groupby("step")["end_s"].transform("max")
    next_start = data.groupby("worker")["start_s"].shift(-1)
    idle_end = next_start.fillna(step_end)
    t0 = data["start_s"].min()
    unit, factor = _unit("end_s", [data["end_s"].max() - t0])
    ids = sorted(data["worker"].unique())
    fig, (panel,) = _figure(ax, size=(9.0, 0.32 * len(ids) + 1.6))
    compute_end = data["start_s"] + data["compute_s"]
    spans = {
        "compute": (data["start_s"], compute_end),
        "communication": (compute_end, data["end_s"]),
        "idle": (data["end_s"], idle_end),
    }
    rows = data["worker"].map({w: i for i, w in enumerate(ids)}).to_numpy()
    for name, color in _PHASES:
        begin, end = spans[name]
        width = (end - begin).clip(lower=0).to_numpy()
        keep = width > 0
        panel.barh(rows[keep], width[keep] / factor, left=(begin.to_numpy()[keep] - t0) / factor, height=0.7, color=color, linewidth=0)
    for boundary in sorted(data.groupby("step")["end_s"].max()):
        panel.axvline((boundary - t0) / factor, color="#888888", linewidth=0.5, linestyle=":")
    panel.set_yticks(range(len(ids)), [f"worker {w}" for w in ids])
    panel.set_ylim(len(ids) - 0.5, -0.5)
    panel.set_xlabel(f"simulated time ({unit})")
    panel.set_ylabel("data-parallel worker")
    first, last = int(data["step"].min()), int(data["step"].max())
    span = f"step {first}" if first == last else f"steps {first}–{last}"
    panel.set_title(f"Worker timeline{': ' + title if title else ''} ({span}; dotted lines end each step)")
    handles = [Patch(color=color, label=name) for name, color in _PHASES]
    panel.legend(handles=handles, fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    panel.set_xlim(0, (data["end_s"].max() - t0) / factor)
    return fig


def _link_timeline(timeline: pd.DataFrame, *, title=None, ax=None) -> Figure:
    _require(timeline, ["src", "dst", "start_s", "end_s", "utilisation"], "link timeline")
    names = list(dict.fromkeys(f"{s} → {d}" for s, d in zip(timeline["src"], timeline["dst"], strict=True)))
    edges = np.unique(np.concatenate([timeline["start_s"], timeline["end_s"]]))
    unit, factor = _unit("end_s", [edges.max()])
    grid = np.full((len(names), len(edges) - 1), np.nan)
    row_of = {n: i for i, n in enumerate(names)}
    for s, d, a, b, u in timeline[["src", "dst", "start_s", "end_s", "utilisation"]].itertuples(index=False):
        cols = (edges[:-1] >= a) & (edges[1:] <= b)
        grid[row_of[f"{s} → {d}"], cols] = u * 100
    fig, (panel,) = _figure(ax, size=(9.0, 0.24 * len(names) + 1.8))
    mesh = panel.pcolormesh(edges / factor, np.arange(len(names) + 1) - 0.5, np.ma.masked_invalid(grid), cmap="viridis", vmin=0, vmax=100)
    panel.set_yticks(range(len(names)), names, fontsize="small")
    panel.invert_yaxis()
    panel.set_xlabel(f"simulated time ({unit})")
    panel.set_ylabel("directed link")
    panel.set_title("Link utilisation over time" + (f": {title}" if title else ""))
    fig.colorbar(mesh, ax=panel, label="utilisation (% of link bandwidth)")
    return fig


FAULT_STYLE: dict[str, tuple[str, str]] = {
    "link_down": ("#D55E00", "link down"),
    "switch_down": ("#CC79A7", "switch down"),
    "link_degrade": ("#E69F00", "link degraded"),
    "loss_rate": ("#F0E442", "packet loss"),
    "straggler": ("#56B4E9", "straggler"),
    "worker_crash": ("#000000", "worker crash"),
}
"""Colour (Okabe–Ito) and legend label of each fault kind (``link_up`` ends an outage: no marker)."""

_SPAN_ALPHA = {"loss_rate": 0.45, "straggler": 0.4}  # pale colours need more ink; others 0.3


def read_faults(run_dir: str | Path) -> pd.DataFrame | None:
    """The ``faults.csv`` table of a run directory, or ``None`` when the run had no faults."""
    path = Path(run_dir) / "faults.csv"
    return pd.read_csv(path) if path.is_file() else None


def add_fault_markers(fig: Figure, faults: pd.DataFrame, time_factor: float = 1.0, *, legend: bool = True) -> Figure:
    """Mark each fault occurrence on every panel of ``fig`` (x axis: simulated time).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure whose panels plot against simulated time divided by ``time_factor``.
    faults : pandas.DataFrame
        A run's faults table (``kind, start_s, end_s, effect``; ``end_s`` NaN: until the
        end of the run).
    time_factor : float
        Seconds per unit of the x axis (``1e-3`` when it is in ms).
    legend : bool
        Add a legend of the kinds shown, below the panels.

    Returns
    -------
    Figure
        ``fig``.
    """
    rows = faults[(faults["kind"] != "link_up") & faults["effect"].astype(bool)]
    shown: dict[str, tuple[str, str]] = {}
    for panel in fig.axes:
        left, right = panel.get_xlim()
        for row in rows.itertuples(index=False):
            color, label = FAULT_STYLE.get(row.kind, ("#888888", row.kind))
            start = row.start_s / time_factor
            end = row.end_s / time_factor if isinstance(row.end_s, int | float) and math.isfinite(row.end_s) else right
            if row.kind == "worker_crash":
                panel.axvline(start, color=color, linewidth=1.4, zorder=3)
                if end > start:
                    panel.axvspan(start, end, facecolor="none", edgecolor=color, hatch="///", linewidth=0, alpha=0.45, zorder=0)
            else:
                alpha = _SPAN_ALPHA.get(row.kind, 0.3)
                panel.axvspan(start, max(end, start), color=color, alpha=alpha, linewidth=0, zorder=0)
            shown[row.kind] = (color, label)
        panel.set_xlim(left, right)
    if legend and shown:
        handles = []
        for kind in FAULT_STYLE:
            if kind in shown:
                color, label = shown[kind]
                if kind == "worker_crash":
                    handles.append(Line2D([], [], color=color, linewidth=1.4, label=label))
                    handles.append(Patch(facecolor="none", edgecolor=color, hatch="///", alpha=0.45, linewidth=0, label="recovering"))
                else:
                    alpha = _SPAN_ALPHA.get(kind, 0.3)
                    handles.append(Patch(color=color, alpha=alpha, label=label))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small", frameon=False, title="faults")
    return fig
