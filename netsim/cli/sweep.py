"""``netsim sweep SCENARIO``: run a grid of scenarios, resumable, in parallel."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from netsim.cli import cli, fail

__all__ = ["sweep"]

_SHOWN_ROWS = 30


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", "grid", multiple=True, metavar="KEY=VALUES", help="Axis of the cartesian product, e.g. --grid topology.bandwidth=1Gbps,10Gbps or topology.hosts=4:64:x2 (repeatable).")
@click.option("--zip", "zip_", multiple=True, metavar="KEY=VALUES", help="Paired axis: all --zip axes have the same length and advance together (repeatable).")
@click.option("--repeat", type=click.IntRange(min=1), default=None, help="Runs per point, with seeds seed, seed+1, ... (recorded as 'repeat').")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a value of the base scenario (repeatable).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Sweep directory (default runs/sweeps/<name>/).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: every core; 1 runs in this process).")
@click.option("--dask", "dask", metavar="ADDRESS", default=None, help="Run on a Dask cluster instead, e.g. --dask tcp://scheduler:8786.")
@click.option("--no-resume", is_flag=True, help="Run every run again, even those already complete.")
@click.option("--dry-run", is_flag=True, help="Validate and list the runs without running them.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no table; errors only.")
def sweep(scenario, grid, zip_, repeat, overrides, out, jobs, dask, no_resume, dry_run, quiet) -> None:
    """Run SCENARIO over a grid of values and tabulate the results.

    Axes come from --grid / --zip or from a [sweep] table in SCENARIO. Values are read
    like --set (TOML when possible); START:STOP:+D and START:STOP:xF are inclusive
    ranges. Complete runs are never run again, so an interrupted sweep resumes where
    it stopped. Results: <out>/results.csv (one row per run) and <out>/runs/<id>/.
    Exit status 1 when a run failed, 2 on a usage or scenario error.
    """
    from netsim.sweep import SweepError, expand, load_sweep, run_sweep
    from netsim.sweep.execute import default_out_dir

    spec = load_sweep(scenario, grid=list(grid), zip=list(zip_), repeat=repeat, overrides=list(overrides))
    out_dir = out if out is not None else default_out_dir(spec.name)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    if dry_run:
        runs = expand(spec)
        _print_runs(console, spec.keys, [(r.run_id, r.params) for r in runs], title=f"{len(runs)} runs of {spec.name} (dry run) -> {out_dir}")
        return
    try:
        table = run_sweep(spec, out=out_dir, jobs=jobs, dask=dask, resume=not no_resume, progress=not quiet)
    except SweepError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write results to {str(out_dir)!r}: {exc.strerror or exc}")
    failed = table[table["status"] != "ok"]
    if not quiet:
        _print_table(console, table)
        executed, resumed = table.attrs["executed"], table.attrs["resumed"]
        console.print(
            f"{len(table)} runs: {executed} executed, {resumed} already complete, {len(failed)} failed; "
            f"results in {out_dir / 'results.csv'}",
            soft_wrap=True,
        )
    if len(failed):
        first = failed.iloc[0]
        Console(stderr=True, highlight=False).print(
            f"[bold red]error:[/] {len(failed)} of {len(table)} runs failed (first: run {first['run']}: {first['error']}); "
            f"see the error column of {out_dir / 'results.csv'}",
            markup=True,
            soft_wrap=True,
        )
        raise SystemExit(1)


def _print_table(console: Console, table) -> None:
    from netsim.units import format_time

    if len(table) > _SHOWN_ROWS:
        return
    keys = list(table.attrs.get("keys", []))
    short = _short_names(keys)
    view = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    view.add_column("run", no_wrap=True, min_width=8)
    for key in keys:
        view.add_column(short[key], no_wrap=True)
    repeats = table["repeat"].nunique() > 1
    if repeats:
        view.add_column("repeat", justify="right", no_wrap=True)
    view.add_column("status", no_wrap=True)
    metrics = [
        ("step time", "mean_step_time_s", lambda v: format_time(v, 4)),
        ("sim time", "sim_time_s", lambda v: format_time(v, 4)),
        ("accuracy", "final_accuracy", lambda v: f"{v:.4f}"),
    ]
    metrics = [m for m in metrics if m[1] in table.columns]
    for header, *_ in metrics:
        view.add_column(header, justify="right", no_wrap=True)
    for _, row in table.iterrows():
        cells = [str(row["run"])[:8], *(str(row[k]) for k in keys)]
        if repeats:
            cells.append(str(row["repeat"]))
        cells.append("ok" if row["status"] == "ok" else f"[red]{row['status']}[/]")
        cells += ["" if row[name] != row[name] else fmt(row[name]) for _, name, fmt in metrics]
        view.add_row(*cells)
    console.print(view)


def _short_names(keys: list[str]) -> dict[str, str]:
    """Last part of each dotted key, unless two keys share it."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (tail if last.count(tail) == 1 else k) for k, tail in zip(keys, last, strict=True)}


def _print_runs(console: Console, keys: list[str], runs: list[tuple[str, dict]], title: str) -> None:
    view = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    for name in ("run", *keys, "repeat"):
        view.add_column(name)
    for rid, params in runs[:200]:
        view.add_row(rid, *(str(params[k]) for k in keys), str(params["repeat"]))
    console.print(view)
    if len(runs) > 200:
        console.print(f"... and {len(runs) - 200} more")
