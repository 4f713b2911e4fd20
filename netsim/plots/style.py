"""Shared style of netsim's figures: palette, units on axes, saving, small helpers."""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from netsim.exceptions import NetsimError

__all__ = ["KINDS", "FORMATS", "OKABE_ITO", "PlotError", "metric_label", "save_figure"]

KINDS = ("convergence", "metric", "heatmap", "links", "timeline")
FORMATS = (".png", ".svg", ".pdf")

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
"""Okabe & Ito (2008) colour-blind-safe palette (yellow last: it is faint on white)."""

_STYLES = ("-", "--", ":", "-.")
_LOG_RATIO = 50  # a positive quantity spanning this factor or more gets a logarithmic scale
_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")  # 0.2, 1, 5 rather than 2×10⁻¹
_PHASES = (("compute", "#0072B2"), ("communication", "#E69F00"), ("idle", "#D9D9D9"))

_METRICS = {
    "sim_time_s": "simulated time",
    "mean_step_time_s": "mean step time",
    "mean_compute_time_s": "mean compute time per step",
    "mean_comm_time_s": "mean communication time per step",
    "mean_comm_busy_time_s": "mean time in collectives per step",
    "bytes_sent": "bytes on the wire",
    "model_bytes": "model size",
    "final_loss": "final held-out loss",
    "final_train_loss": "final training loss",
    "final_accuracy": "final held-out accuracy",
    "test_loss": "held-out loss",
    "test_accuracy": "held-out accuracy",
    "train_loss": "training loss",
    "time_to_accuracy_s": "time to target accuracy",
    "time_to_loss_s": "time to target loss",
    "steps_to_accuracy": "steps to target accuracy",
    "steps_to_loss": "steps to target loss",
    # size-only LLM runs (netsim.workload)
    "mfu": "MFU",
    "tokens_per_s": "tokens per second",
    "bubble_fraction": "pipeline bubble fraction",
    "mean_bubble_time_s": "mean pipeline bubble per step",
    "mean_tp_time_s": "exposed TP communication per step",
    "mean_pp_time_s": "exposed PP communication per step",
    "mean_dp_time_s": "exposed DP communication per step",
    "mean_ep_time_s": "exposed EP communication per step",
    # transports and faults
    "goodput_fraction": "goodput fraction of the wire bytes",
    "bytes_retransmitted": "bytes retransmitted",
    "bytes_dropped": "bytes dropped",
    "faults_injected": "faults injected",
    "recovery_time_s": "time recovering",
    "steps_lost": "steps lost",
}


class PlotError(NetsimError, ValueError):
    """A plot cannot be drawn from the given results (missing column, wrong kind of directory)."""


def metric_label(name: str, values=None) -> tuple[str, float]:
    """An axis label with unit for a metric column, and the factor to divide values by.

    Times (``*_s``) are shown in s, ms, µs or ns and byte counts in B, kB, MB or GB,
    whichever suits the largest of ``values``.

    Examples
    --------
    >>> metric_label("mean_step_time_s", [2e-4, 5e-4])
    ('mean step time (µs)', 1e-06)
    >>> metric_label("final_accuracy")
    ('final held-out accuracy', 1.0)
    """
    label = _METRICS.get(name, name)
    peak = _peak(values)
    if name.endswith("_s"):
        for factor, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
            if peak >= factor or factor == 1e-9:
                return f"{label} ({unit})", factor
    if "bytes" in name:
        for factor, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")):
            if peak >= factor or factor == 1.0:
                return f"{label} ({unit})", factor
    return label, 1.0


def _figure(ax, ncols: int = 1, size=(6.0, 4.0)):
    if ax is not None:
        return ax.figure, [ax]
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _unit(name: str, values) -> tuple[str, float]:
    """The unit (``"µs"``, ``"kB"``...) and factor :func:`metric_label` picks."""
    label, factor = metric_label(name, values)
    return (label.rsplit("(", 1)[1].rstrip(")") if label.endswith(")") else ""), factor


def _grid(panel, axis: str = "both") -> None:
    panel.grid(True, axis=axis, color="#DDDDDD", linewidth=0.6)
    panel.set_axisbelow(True)
    for side in ("top", "right"):
        panel.spines[side].set_visible(False)


def _peak(values) -> float:
    if values is None:
        return 1.0
    array = np.abs(np.asarray(pd.to_numeric(pd.Series(list(values)), errors="coerce"), dtype=float))
    array = array[np.isfinite(array)]
    return float(array.max()) if array.size and array.max() > 0 else 1.0


def _bandwidth(bytes_per_second: float) -> str:
    bits = bytes_per_second * 8
    for factor, unit in ((1e12, "Tbps"), (1e9, "Gbps"), (1e6, "Mbps"), (1e3, "kbps")):
        if bits >= factor:
            return f"{bits / factor:g} {unit}"
    return f"{bits:g} bps"


def _ok(table: pd.DataFrame) -> pd.DataFrame:
    if "status" in table.columns:
        kept = table[table["status"] == "ok"]
        kept.attrs = dict(table.attrs)
        table = kept
    if table.empty:
        raise PlotError("no successful run in these results to plot")
    return table


def _ordered(column: pd.Series) -> list:
    if pd.api.types.is_numeric_dtype(column):
        return sorted(column.unique())
    return list(dict.fromkeys(column))


def _default_key(keys: list[str], index: int, kind: str) -> str:
    if len(keys) <= index:
        need = "two swept keys" if kind == "heatmap" else "a swept key"
        raise PlotError(f"a {kind} plot needs {need}; these results have {len(keys)} ({', '.join(keys) or 'none'})")
    return keys[index]


def _require(frame: pd.DataFrame, columns: list[str], what: str, keys: list[str] | None = None) -> None:
    for column in columns:
        if column not in frame.columns:
            close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            listed = f"; swept keys: {', '.join(keys)}" if keys else f"; columns: {', '.join(map(str, frame.columns))}"
            raise PlotError(f"{column!r} is not a column of the {what}{hint}{listed}")


def _key_label(key: str) -> str:
    return key


def _run_label(rows: pd.DataFrame, keys: list[str], run: str) -> str:
    if not keys or rows.empty:
        return str(run)
    return ", ".join(f"{k.split('.')[-1]}={rows[k].iloc[0]}" for k in keys if k in rows.columns) + (
        f" #{rows['repeat'].iloc[0]}" if "repeat" in rows.columns and rows["repeat"].nunique() and rows["repeat"].iloc[0] else ""
    )
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Save ``fig`` as PNG, SVG or PDF (by the suffix), atomically; return the path.

    Raises
    ------
    PlotError
        If the suffix is not one of :data:`FORMATS`.
    OSError
        If the file cannot be written.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise PlotError(f"cannot save a figure as {path.name!r}: use a name ending in {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lower().lstrip("."))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
