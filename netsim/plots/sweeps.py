"""Figures of many runs: convergence curves, a metric against a swept key, heatmaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter

from netsim.load import swept_keys
from netsim.plots.style import (
    _LOG_RATIO,
    _PLAIN,
    _STYLES,
    OKABE_ITO,
    PlotError,
    _default_key,
    _figure,
    _grid,
    _key_label,
    _ok,
    _ordered,
    _require,
    _run_label,
    _unit,
    metric_label,
)

__all__ = ["plot_convergence", "plot_metric", "plot_heatmap"]

def plot_convergence(steps: pd.DataFrame, *, y: str | None = None, hue: str | None = None, ax=None) -> Figure:
    """Held-out loss and accuracy against simulated time, one line per run.

    Parameters
    ----------
    steps : pandas.DataFrame
        Per-step records with ``end_s`` (s) and ``run`` columns, as from
        :func:`netsim.load.load_steps` or :func:`~netsim.load.load_results` on a run.
    y : str, optional
        One column to plot (``test_loss``, ``test_accuracy``, ``train_loss``...); by
        default two panels, held-out loss and held-out accuracy.
    hue : str, optional
        Column whose value colours the lines (repeats of a value share its colour);
        default: the swept key when exactly one was swept, else one colour per run.
    ax : matplotlib Axes, optional
        Draw there (only with ``y``).
    """
    _require(steps, ["end_s"], "steps")
    if "run" not in steps.columns:
        steps = steps.assign(run="run")
    columns = [y] if y else [c for c in ("test_loss", "test_accuracy") if c in steps.columns]
    _require(steps, columns, "steps")
    keys = swept_keys(steps)
    legend_title = hue
    if hue is not None:
        _require(steps, [hue], "steps", keys)
    elif len(keys) == 1:
        hue = legend_title = keys[0]
    elif keys:
        hue, legend_title = "_group", ", ".join(keys)
        steps = steps.assign(_group=[", ".join(str(v) for v in row) for row in steps[keys].itertuples(index=False)])
    if ax is not None and len(columns) != 1:
        raise PlotError("pass y= (one column) to draw a convergence plot into an existing Axes")
    fig, axes = _figure(ax, ncols=len(columns), size=(5.2 * len(columns), 3.8))
    runs = list(dict.fromkeys(steps["run"]))
    t_unit, t_factor = _unit("end_s", steps["end_s"])
    hues = list(dict.fromkeys(steps[hue])) if hue else runs
    for panel, column in zip(axes, columns, strict=True):
        label, factor = metric_label(column, steps[column])
        seen = set()
        for run in runs:
            rows = steps[steps["run"] == run].dropna(subset=[column])
            key = rows[hue].iloc[0] if hue and len(rows) else run
            index = hues.index(key) if key in hues else 0
            name = f"{key}" if hue else _run_label(rows, keys, run)
            panel.plot(
                rows["end_s"] / t_factor,
                rows[column] / factor,
                color=OKABE_ITO[index % len(OKABE_ITO)],
                linestyle=_STYLES[(index // len(OKABE_ITO)) % len(_STYLES)],
                linewidth=1.6,
                alpha=0.85,
                label=None if key in seen else name,
            )
            seen.add(key)
        panel.set_xlabel(f"simulated time ({t_unit})")
        panel.set_ylabel(label)
        panel.set_title(f"{label[0].upper()}{label[1:]} vs simulated time")
        _grid(panel)
    handles, labels = axes[0].get_legend_handles_labels()
    if 1 < len(labels) <= 12:
        axes[-1].legend(handles, labels, title=legend_title, fontsize="small", frameon=False)
    return fig


def plot_metric(table: pd.DataFrame, *, x: str | None = None, y: str = "mean_step_time_s", hue: str | None = None, logy: bool | None = None, ax=None) -> Figure:
    """A summary metric against a swept key, mean ± standard deviation over repeats.

    Parameters
    ----------
    table : pandas.DataFrame
        A sweep's results table (:func:`netsim.load.load_results`); failed runs are
        ignored.
    x : str, optional
        Swept key on the horizontal axis; default the first swept key. Numeric keys
        use a numeric axis (logarithmic when they span a factor of 20 or more), others
        are categories in sweep order.
    y : str, default "mean_step_time_s"
        Summary metric (seconds for ``*_s``, bytes for ``*bytes*``).
    hue : str, optional
        Key giving one line per value; default the next swept key, if any.
    logy : bool, optional
        Logarithmic y axis; by default when the values are positive and span a factor
        of 50 or more.
    ax : matplotlib Axes, optional
    """
    table = _ok(table)
    keys = swept_keys(table)
    x = x or _default_key(keys, 0, "metric")
    if hue is None:
        hue = next((k for k in keys if k != x), None)
    _require(table, [x, y] + ([hue] if hue else []), "results", keys)
    fig, (panel,) = _figure(ax, size=(6.2, 4.2))
    label, factor = metric_label(y, table[y])
    numeric = pd.api.types.is_numeric_dtype(table[x])
    x_values = sorted(table[x].unique()) if numeric else list(dict.fromkeys(table[x]))
    positions = {v: (v if numeric else i) for i, v in enumerate(x_values)}
    groups = list(dict.fromkeys(table[hue])) if hue else [None]
    repeats = 1
    for index, group in enumerate(groups):
        rows = table if group is None else table[table[hue] == group]
        stats = rows.groupby(x, sort=False)[y].agg(["mean", "std", "count"])
        stats = stats.reindex([v for v in x_values if v in stats.index])
        repeats = max(repeats, int(stats["count"].max()))
        panel.errorbar(
            [positions[v] for v in stats.index],
            stats["mean"] / factor,
            yerr=stats["std"].fillna(0) / factor if (stats["count"] > 1).any() else None,
            color=OKABE_ITO[index % len(OKABE_ITO)],
            linestyle=_STYLES[(index // len(OKABE_ITO)) % len(_STYLES)],
            marker="o",
            markersize=5,
            capsize=3,
            linewidth=1.6,
            label=None if group is None else str(group),
        )
    if numeric:
        low, high = min(x_values), max(x_values)
        if low > 0 and high / low >= 20:  # e.g. hosts 4..256
            panel.set_xscale("log")
        if all(float(v).is_integer() for v in x_values) and len(x_values) <= 12:
            panel.set_xticks(x_values, [f"{v:g}" for v in x_values])
            panel.minorticks_off()
    else:
        panel.set_xticks(range(len(x_values)), [str(v) for v in x_values])
        panel.set_xlim(-0.5, len(x_values) - 0.5)
    values = pd.to_numeric(table[y], errors="coerce").dropna()
    if logy is None:
        logy = bool(len(values)) and values.min() > 0 and values.max() / values.min() >= _LOG_RATIO
    if logy:
        panel.set_yscale("log")
        panel.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        panel.yaxis.set_major_formatter(_PLAIN)
        panel.yaxis.set_minor_formatter(NullFormatter())
    panel.set_xlabel(_key_label(x))
    panel.set_ylabel(label)
    title = f"{label.split(' (')[0][0].upper()}{label.split(' (')[0][1:]} vs {x}"
    hidden = [k for k in keys if k not in (x, hue) and k in table and table[k].nunique() > 1]
    if hidden:  # averaged over swept keys that are on neither axis nor colour: say so
        over = ", ".join(hidden) + (f" and {repeats} repeats" if "repeat" in table and table["repeat"].nunique() > 1 else "")
        title += f"\n(mean ± sd over {over})"
    elif repeats > 1:
        title += f"\n(mean ± sd over {repeats} repeats)"
    panel.set_title(title)
    if hue:
        panel.legend(title=hue, fontsize="small", frameon=False)
    _grid(panel)
    return fig


def plot_heatmap(table: pd.DataFrame, *, x: str | None = None, y: str | None = None, metric: str = "mean_step_time_s", ax=None) -> Figure:
    """A summary metric over two swept keys (mean over repeats), values written in the cells.

    Parameters
    ----------
    table : pandas.DataFrame
        A sweep's results table; failed runs are ignored (their cells stay empty).
    x, y : str, optional
        Swept keys for the columns and rows; default the first two swept keys.
    metric : str, default "mean_step_time_s"
    ax : matplotlib Axes, optional
    """
    table = _ok(table)
    keys = swept_keys(table)
    x = x or _default_key(keys, 0, "heatmap")
    y = y or next((k for k in keys if k != x), None) or _default_key(keys, 1, "heatmap")
    _require(table, [x, y, metric], "results", keys)
    cols, rows = _ordered(table[x]), _ordered(table[y])
    grid = table.groupby([y, x], sort=False)[metric].mean().unstack(x).reindex(index=rows, columns=cols)
    label, factor = metric_label(metric, table[metric])
    values = grid.to_numpy(dtype=float) / factor
    fig, (panel,) = _figure(ax, size=(1.2 * len(cols) + 3.2, 0.6 * len(rows) + 2.4))
    cmap = colormaps["viridis"].with_extremes(bad="#EEEEEE")
    finite = values[np.isfinite(values)]
    wide = finite.size > 0 and finite.min() > 0 and finite.max() / finite.min() >= _LOG_RATIO
    norm = LogNorm(finite.min(), finite.max()) if wide else None
    image = panel.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, origin="lower", aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        text = "—" if not np.isfinite(value) else f"{value:.3g}"
        light = np.isfinite(value) and image.norm(value) < 0.6
        panel.text(j, i, text, ha="center", va="center", fontsize="small", color="white" if light else "black")
    panel.set_xticks(range(len(cols)), [str(c) for c in cols])
    panel.set_yticks(range(len(rows)), [str(r) for r in rows])
    panel.set_xlabel(_key_label(x))
    panel.set_ylabel(_key_label(y))
    base = label.split(" (")[0]
    panel.set_title(f"{base[0].upper()}{base[1:]} by {x} and {y}")
    if wide:
        fig.colorbar(image, ax=panel, label=label, ticks=LogLocator(subs=(1, 2, 5)), format=_PLAIN)
    else:
        fig.colorbar(image, ax=panel, label=label)
    return fig
