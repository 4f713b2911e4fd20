"""Command line: ``netsim run`` and ``netsim list``.

Thin by design: parse arguments, call the library, print. Every user error (a
:class:`~netsim.exceptions.NetsimError`, a file that cannot be written) is printed on
one line as ``error: ...`` and exits with status 2; usage errors exit 2 as well.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netsim.exceptions import NetsimError
from netsim.units import format_size, format_time

__all__ = ["main", "cli"]

_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    _err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netsim", prog_name="netsim")
def cli() -> None:
    """netsim: simulate the communication of distributed deep-learning training.

    Network timing (SimPy, flow-level max-min sharing) and real NumPy gradient math
    together: see how long a step takes and how fast the model converges.
    """


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
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of a table.")
def run(scenario: Path, overrides: tuple[str, ...], out: Path | None, quiet: bool, as_json: bool) -> None:
    """Run one SCENARIO file and write its results."""
    from netsim.runner import simulate
    from netsim.scenario import load_scenario

    spec = load_scenario(scenario, list(overrides))
    result = simulate(spec)
    out_dir = out if out is not None else Path("runs") / spec.name
    try:
        result.write(out_dir)
    except OSError as exc:
        _fail(f"cannot write results to {str(out_dir)!r}: {exc.strerror or exc}")
    if quiet:
        return
    if as_json:
        click.echo(json.dumps(result.summary, indent=2))
        return
    _print_summary(result.summary, out_dir)


def _print_summary(summary: dict, out_dir: Path) -> None:
    table = Table(title=f"netsim run: {summary['name']}", show_header=False, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value")
    rows = [
        ("topology", f"{summary['topology']}, {summary['hosts']} hosts, {summary['workers']} workers"),
        ("algorithm", f"{summary['algorithm']} on the {summary['network_model']} network model"),
        ("steps", str(summary["steps"])),
        ("simulated time", format_time(summary["sim_time_s"], 6)),
        ("mean step time", format_time(summary["mean_step_time_s"], 6)),
        ("  compute", format_time(summary["mean_compute_time_s"], 6)),
        ("  communication", format_time(summary["mean_comm_time_s"], 6)),
        ("bytes on the wire", f"{format_size(summary['bytes_sent'], 4)} ({summary['bytes_sent']:.0f} B)"),
        ("model size", format_size(summary["model_bytes"], 4)),
        ("final loss (held-out)", f"{summary['final_loss']:.6g}"),
        ("final accuracy (held-out)", f"{summary['final_accuracy']:.4f}"),
        ("seed", str(summary["seed"])),
        ("wall time", f"{summary['wall_time_s']:.3f} s"),
        ("results", str(out_dir)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console(highlight=False).print(table)


@cli.command("list")
@click.argument(
    "what",
    required=False,
    type=click.Choice(["topologies", "models", "algorithms", "training-models", "datasets", "optimizers"]),
)
def list_(what: str | None) -> None:
    """List the available topologies, network models, algorithms, training models..."""
    from netsim.collectives import ALGORITHMS
    from netsim.network import NETWORK_MODELS
    from netsim.topology import TOPOLOGIES
    from netsim.training import DATASETS, MODELS, OPTIMIZERS

    sections = {
        "topologies": {name: desc for name, (_, desc) in TOPOLOGIES.items()},
        "models": {name: desc for name, (_, desc) in NETWORK_MODELS.items()},
        "algorithms": {
            a.name + (f" ({', '.join(a.aliases)})" if a.aliases else ""): f"{a.description}; time {a.formula}"
            for a in ALGORITHMS.values()
        },
        "training-models": {name: _first_line(obj) for name, obj in MODELS.items()},
        "datasets": {name: _first_line(obj) for name, obj in DATASETS.items()},
        "optimizers": {name: _first_line(obj) for name, obj in OPTIMIZERS.items()},
    }
    console = Console(highlight=False)
    for section, entries in sections.items():
        if what is not None and section != what:
            continue
        table = Table(title=section, title_justify="left", show_header=False)
        table.add_column("name", style="bold")
        table.add_column("description")
        for name, desc in entries.items():
            table.add_row(name, desc)
        console.print(table)


def _first_line(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turning user errors into one line and exit 2."""
    try:
        cli.main(args=argv, prog_name="netsim", standalone_mode=False)
    except click.exceptions.Abort:
        _err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NetsimError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
