"""``netsim run SCENARIO``: run one scenario, print its summary, write its files."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from netsim.cli import cli, fail
from netsim.units import format_size, format_time

__all__ = ["run"]


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario value, e.g. --set topology.bandwidth=10Gbps (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for summary.json, steps.csv, workers.csv, links.csv (default runs/<name>/).",
)
@click.option(
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a Chrome/Perfetto trace-event JSON of workers and links to this file.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of a table.")
def run(scenario: Path, overrides: tuple[str, ...], out: Path | None, trace_path: Path | None, quiet: bool, as_json: bool) -> None:
    """Run one SCENARIO file and write its results."""
    from netsim.runner import simulate
    from netsim.scenario import load_scenario

    spec = load_scenario(scenario, list(overrides))
    result = simulate(spec, record=trace_path is not None)
    out_dir = out if out is not None else Path("runs") / spec.name
    try:
        result.write(out_dir)
    except OSError as exc:
        fail(f"cannot write results to {str(out_dir)!r}: {exc.strerror or exc}")
    if trace_path is not None:
        from netsim.trace import write_trace

        try:
            write_trace(result, trace_path)
        except OSError as exc:
            fail(f"cannot write the trace to {str(trace_path)!r}: {exc.strerror or exc}")
    if quiet:
        return
    if as_json:
        click.echo(json.dumps(result.summary, indent=2))
        return
    _print_summary(result.summary, out_dir)


def _target_rows(summary: dict) -> list[tuple[str, str]]:
    rows = []
    for name in ("accuracy", "loss"):
        if f"target_{name}" not in summary:
            continue
        time, steps = summary[f"time_to_{name}_s"], summary[f"steps_to_{name}"]
        reached = "not reached" if time is None else f"{format_time(time, 6)} ({steps} steps)"
        rows.append((f"time to {name} {summary[f'target_{name}']:g}", reached))
    return rows


def _transport_rows(summary: dict) -> list[tuple[str, str]]:
    """Transport, goodput and loss rows, when the scenario sets a transport (``network.transport``, ...)."""
    if "transport" not in summary:
        return []
    rows = [("transport", f"{summary['transport']}, goodput {summary['goodput_fraction']:.4f} of the wire bytes")]
    if summary["loss_rate"]:
        rows.append(
            (f"  loss {summary['loss_rate']:g} per link", f"{format_size(summary['bytes_retransmitted'], 4)} resent, "
             f"{format_size(summary['bytes_dropped'], 4)} dropped")
        )
    return rows


def _fault_rows(summary: dict) -> list[tuple[str, str]]:
    """Fault rows, when the scenario has ``[[faults]]`` or checkpoints (:mod:`netsim.faults`)."""
    if "faults_injected" not in summary:
        return []
    rows = [
        ("faults injected", str(summary["faults_injected"])),
        ("  bytes lost / resent", f"{format_size(summary['bytes_lost'], 4)} / {format_size(summary['bytes_resent'], 4)}"),
        ("  steps lost", str(summary["steps_lost"])),
        ("  time recovering", format_time(summary["recovery_time_s"], 6)),
    ]
    if "checkpoints" in summary:
        rows.append(("  checkpoints", f"{summary['checkpoints']} ({format_time(summary['checkpoint_time_s'], 6)} writing)"))
        rows.append(("  workers at the end", str(summary["final_workers"])))
    return rows


def _print_summary(summary: dict, out_dir: Path) -> None:
    table = Table(title=f"netsim run: {summary['name']}", show_header=False, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value")
    if summary.get("workload") == "llm":  # size-only LLM step (netsim.workload): its own rows
        from netsim.workload.report import summary_rows

        rows = [*summary_rows(summary), ("results", str(out_dir))]
    else:
        rows = _math_rows(summary, out_dir)
    for name, value in rows:
        table.add_row(name, value)
    Console(highlight=False).print(table)


def _math_rows(summary: dict, out_dir: Path) -> list[tuple[str, str]]:
    """Table rows of a run with real gradient math."""
    return [
        ("topology", f"{summary['topology']}, {summary['hosts']} hosts, {summary['workers']} workers"),
        ("algorithm", f"{summary['algorithm']} on the {summary['network_model']} network model"),
        ("steps", str(summary["steps"])),
        ("simulated time", format_time(summary["sim_time_s"], 6)),
        ("mean step time", format_time(summary["mean_step_time_s"], 6)),
        ("  compute", format_time(summary["mean_compute_time_s"], 6)),
        ("  communication", format_time(summary["mean_comm_time_s"], 6)),
        ("bytes on the wire", f"{format_size(summary['bytes_sent'], 4)} ({summary['bytes_sent']:.0f} B)"),
        *_transport_rows(summary),
        *_fault_rows(summary),
        ("model size", format_size(summary["model_bytes"], 4)),
        ("final loss (held-out)", f"{summary['final_loss']:.6g}"),
        ("final accuracy (held-out)", f"{summary['final_accuracy']:.4f}"),
        *_target_rows(summary),
        ("seed", str(summary["seed"])),
        ("wall time", f"{summary['wall_time_s']:.3f} s"),
        ("results", str(out_dir)),
    ]
