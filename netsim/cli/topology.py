"""``netsim topology show|info``: draw a scenario's topology, or print its metrics."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from netsim.cli import cli, fail

__all__ = ["topology", "graph_from_path"]

_LAYOUTS = ("auto", "hierarchical", "circular", "grid", "spring")
_SCENARIO = click.argument("path", metavar="SCENARIO", type=click.Path(dir_okay=False, path_type=Path))
_SET = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a scenario value (repeatable).")


@cli.group()
def topology() -> None:
    """Draw a topology or print its metrics (SCENARIO: a scenario or topology file)."""


@topology.command()
@_SCENARIO
@_SET
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Figure file: .png, .svg or .pdf (default <name>_topology.png).")
@click.option("--layout", type=click.Choice(_LAYOUTS), default="auto", show_default=True, help="Hierarchical for switch fabrics, circular for rings, grid for tori.")
def show(path: Path, overrides: tuple[str, ...], output: Path | None, layout: str) -> None:
    """Draw the topology of SCENARIO: hosts, switches, links by bandwidth."""
    from netsim.plots import save_figure
    from netsim.topology_view import draw_topology

    graph = graph_from_path(path, list(overrides))
    target = output if output is not None else Path(f"{graph.graph.get('name', path.stem)}_topology.png")
    try:
        written = save_figure(draw_topology(graph, layout=layout), target)
    except OSError as exc:
        fail(f"cannot write the figure to {str(target)!r}: {exc.strerror or exc}")
    click.echo(f"wrote {written}")


@topology.command()
@_SCENARIO
@_SET
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON (SI units).")
def info(path: Path, overrides: tuple[str, ...], as_json: bool) -> None:
    """Print hosts, switches, links, bisection bandwidth and oversubscription of SCENARIO.

    Bisection bandwidth: max-flow from the first half of the hosts (by rank) to the
    second over the directed links; oversubscription: downlink / uplink bandwidth of
    each switch, the largest per level.
    """
    from netsim.topology_view import graph_metrics
    from netsim.units import format_bandwidth, format_time

    graph = graph_from_path(path, list(overrides))
    metrics = graph_metrics(graph)
    if as_json:
        click.echo(json.dumps(metrics, indent=2))
        return
    hosts = list(graph.graph.get("hosts") or [])
    half = len(hosts) // 2
    view = Table(title=f"topology: {metrics['name']}", title_justify="left", show_header=False)
    view.add_column("metric", style="bold")
    view.add_column("value")
    bw = "-" if metrics["min_bandwidth"] is None else (
        format_bandwidth(metrics["min_bandwidth"])
        if metrics["min_bandwidth"] == metrics["max_bandwidth"]
        else f"{format_bandwidth(metrics['min_bandwidth'])} to {format_bandwidth(metrics['max_bandwidth'])}"
    )
    lat = "-" if metrics["min_latency"] is None else (
        format_time(metrics["min_latency"])
        if metrics["min_latency"] == metrics["max_latency"]
        else f"{format_time(metrics['min_latency'])} to {format_time(metrics['max_latency'])}"
    )
    if len(hosts) >= 2:
        ratio = metrics["bisection_ratio"]
        bisection = (
            f"{format_bandwidth(metrics['bisection_bandwidth'])} from {hosts[0]}..{hosts[half - 1]} to "
            f"{hosts[half]}..{hosts[-1]}" + (f" ({ratio:.3g} of full bisection)" if ratio is not None else "")
        )
    else:
        bisection = "- (fewer than 2 hosts)"
    levels = metrics["oversubscription"]
    over = (
        "; ".join(f"level {level}: {ratio:.3g}:1" for level, ratio in levels.items())
        if levels
        else "- (no switch has uplinks)"
    )
    rows = [
        ("description", metrics["description"]),
        ("hosts", str(metrics["hosts"])),
        ("switches", str(metrics["switches"])),
        ("links", f"{metrics['links']} full duplex ({metrics['directed_links']} directed)"),
        ("link bandwidth", f"{bw} per direction"),
        ("link latency", lat),
        ("bisection bandwidth", bisection),
        ("oversubscription", over),
    ]
    for name, value in rows:
        view.add_row(name, value)
    Console(highlight=False).print(view)


def graph_from_path(path: Path, overrides: list[str]):
    """The topology of a scenario file, or of a topology file (``nodes``/``links``)."""
    from netsim.exceptions import ScenarioError
    from netsim.topology import from_file

    if path.suffix == ".json":
        if overrides:
            raise ScenarioError("--set applies to scenario files, not to topology files")
        return from_file(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: UnicodeDecodeError, TOMLDecodeError, ...
        document = {}
    if "nodes" in document:
        if overrides:
            raise ScenarioError("--set applies to scenario files, not to topology files")
        return from_file(path)
    from netsim.runner import build_graph
    from netsim.scenario import load_scenario

    scenario = load_scenario(path, overrides)
    return build_graph(scenario.topology, scenario.base_dir)
