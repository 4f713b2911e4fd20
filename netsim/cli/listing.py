"""``netsim list [WHAT]``: what topologies, models, transports and algorithms exist."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from netsim.cli import cli

__all__ = ["list_"]


@cli.command("list")
@click.argument(
    "what",
    required=False,
    type=click.Choice(
        [
            "topologies",
            "models",
            "transports",
            "algorithms",
            "training-models",
            "datasets",
            "optimizers",
            "compressors",
        ]
    ),
)
def list_(what: str | None) -> None:
    """List the available topologies, network models, transports, algorithms, training models..."""
    from netsim.collectives import algorithms
    from netsim.network import NETWORK_MODELS
    from netsim.topology import TOPOLOGIES
    from netsim.training import DATASETS, MODELS, OPTIMIZERS
    from netsim.training.compression.registry import COMPRESSORS
    from netsim.transport import ALIASES, TRANSPORTS

    sections = {
        "topologies": {name: desc for name, (_, desc) in TOPOLOGIES.items()},
        "models": {name: desc for name, (_, desc) in NETWORK_MODELS.items()},
        "transports": {
            name + _aliases(name, ALIASES): profile.description
            for name, profile in TRANSPORTS.items()
        },
        "algorithms": {
            a.name
            + (f" ({', '.join(a.aliases)})" if a.aliases else ""): f"{a.operation}: {a.description}"
            + (f"; time {a.formula}" if a.formula else "")
            for a in algorithms().values()
        },
        "training-models": {name: _first_line(obj) for name, obj in MODELS.items()},
        "datasets": {name: _first_line(obj) for name, obj in DATASETS.items()},
        "optimizers": {name: _first_line(obj) for name, obj in OPTIMIZERS.items()},
        "compressors": {name: info.description for name, info in COMPRESSORS.items()},
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


def _aliases(name: str, aliases: dict[str, str]) -> str:
    """`` (alias, ...)`` for the aliases of `name`, or ``""``."""
    mine = [alias for alias, target in aliases.items() if target == name]
    return f" ({', '.join(mine)})" if mine else ""


def _first_line(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""
