"""``netsim plot RESULTS --kind K``: draw a figure from a run or sweep directory."""

from __future__ import annotations

from pathlib import Path

import click

from netsim.cli import cli, fail

__all__ = ["plot"]

_KINDS = ("convergence", "metric", "heatmap", "links", "timeline")


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--kind", "-k", type=click.Choice(_KINDS), required=True, help="What to draw.")
@click.option("--x", "x", metavar="KEY", default=None, help="metric/heatmap: swept key on the x axis (default: the first swept key).")
@click.option("--y", "y", metavar="NAME", default=None, help="metric: summary metric (default mean_step_time_s); heatmap: swept key of the rows; convergence: step column (default: loss and accuracy).")
@click.option("--hue", metavar="KEY", default=None, help="convergence/metric: key giving one colour per value.")
@click.option("--metric", metavar="NAME", default=None, help="heatmap: summary metric in the cells (default mean_step_time_s).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Figure file: .png, .svg or .pdf (default RESULTS/<kind>.png).")
def plot(results: Path, kind: str, x, y, hue, metric, output: Path | None) -> None:
    """Draw a KIND figure from RESULTS (a run directory or a sweep directory).

    \b
    convergence  held-out loss and accuracy vs simulated time, one line per run
    metric       a summary metric vs a swept key (mean ± sd over repeats)
    heatmap      a summary metric over two swept keys
    links        per-link utilisation of one run
    timeline     per-worker compute / communication / idle of one run
    """
    from netsim.plots import plot as draw
    from netsim.plots import save_figure

    if kind == "convergence" and y is None:
        _require_held_out(results)
    figure = draw(results, kind, x=x, y=y, hue=hue, metric=metric)
    target = output if output is not None else results / f"{kind}.png"
    try:
        path = save_figure(figure, target)
    except OSError as exc:
        fail(f"cannot write the figure to {str(target)!r}: {exc.strerror or exc}")
    click.echo(f"wrote {path}")


def _require_held_out(results: Path) -> None:
    """Refuse a default convergence plot of runs without held-out loss or accuracy.

    A size-only run (``training.workload = "llm"``) records no loss; without this check
    matplotlib would fail on an empty figure with a traceback.
    """
    from netsim.load import load_steps

    if not results.exists():
        return  # netsim.plots names the missing path
    columns = list(load_steps(results).columns)
    if "test_loss" in columns or "test_accuracy" in columns:
        return
    per_step = [c for c in columns if c.endswith("_s") or c in ("mfu", "tokens_per_s")]
    fail(
        f"--kind convergence: {str(results)!r} has no held-out loss or accuracy (a size-only llm workload run); "
        "use --kind metric --y mfu (a sweep) or --kind timeline (a run), or --y with a step column over several "
        f"steps ({', '.join(per_step)})"
    )
