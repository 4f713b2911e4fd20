"""``netsim validate``: check every network model against closed forms and against each other.

Runs :data:`netsim.validation.SUITE` (or ``--suite MODULE:NAME``), prints one row per
check (``case | model | reference | expected | simulated | error | tolerance | result``)
and exits with status 1 when a check fails, 0 when all pass; bad options exit 2.
"""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netsim.cli import cli
from netsim.exceptions import ScenarioError
from netsim.units import format_time

__all__ = ["validate"]


@cli.command()
@click.option("--model", "-m", "models", multiple=True, metavar="NAME", help="Check only this network model (repeatable); default: every registered model.")
@click.option("--case", "-c", "patterns", multiple=True, metavar="PATTERN", help="Run only cases whose name or group matches (glob, repeatable), e.g. 'share_*' or collective.")
@click.option("--list", "list_only", is_flag=True, help="List the cases and their checks without running them.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--suite", metavar="MODULE:NAME", help="Run the cases in this sequence instead of the built-in suite.")
def validate(models, patterns, list_only, as_json, suite):
    """Compare each network model with closed forms and with the other models.

    Exit status 1 when a check is out of tolerance, 0 when every check passes.
    """
    from netsim.validation import SUITE, check_models, load_suite, run_cases, select_cases

    cases = load_suite(suite) if suite else SUITE
    chosen = select_cases(cases, patterns)
    chosen_models = check_models(models)
    if chosen_models is not None and not any(
        check.model in chosen_models for case in chosen for check in case.checks
    ):
        raise ScenarioError(
            f"--model: no check of the selected cases is for {', '.join(chosen_models)}; "
            f"their models: {', '.join(sorted({m for c in chosen for m in c.models()}))}"
        )
    if list_only:
        _list(chosen, chosen_models, as_json)
        return
    report = run_cases(chosen, chosen_models)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print(report)
    if not report.ok:
        raise SystemExit(1)


def _list(cases, models, as_json: bool) -> None:
    rows = [
        {
            "case": case.name,
            "group": case.group,
            "description": case.description,
            "checks": [
                {"model": c.model, "reference": c.reference, "tolerance": c.tolerance}
                for c in case.checks
                if models is None or c.model in models
            ],
        }
        for case in cases
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="netsim validate: cases", title_justify="left", show_lines=False)
    for column in ("case", "group", "checks (model: reference ± tolerance)", "description"):
        table.add_column(column)
    for row in rows:
        checks = ", ".join(f"{c['model']}: {c['reference']} ±{c['tolerance']:g}" for c in row["checks"])
        table.add_row(row["case"], row["group"], escape(checks), escape(row["description"]))
    console = Console(highlight=False)
    console.width = max(console.width, 140)
    console.print(table)


def _print(report) -> None:
    table = Table(title="netsim validate", title_justify="left", box=None, pad_edge=False)
    for column in ("case", "model", "reference", "expected", "simulated", "error", "tolerance", "result"):
        table.add_column(column, justify="left" if column in ("case", "model", "reference", "result") else "right", no_wrap=True)
    for r in report.results:
        table.add_row(
            r.case,
            r.model,
            escape(r.reference),
            _time(r.expected),
            _time(r.simulated),
            f"{r.error:+.2e}" if r.error == r.error else "-",
            f"{r.tolerance:.0e}",
            "ok" if r.passed else "[bold red]FAIL[/]",
        )
    console = Console(highlight=False)
    console.width = max(console.width, 120)
    console.print(table)
    for r in report.results:
        if r.note:
            console.print(f"  {escape(r.case)} / {escape(r.model)}: {escape(r.note)}", soft_wrap=True)
    if report.skipped:
        reasons = sorted({s.reason for s in report.skipped})
        console.print(f"{len(report.skipped)} checks not run: {escape('; '.join(reasons))}", soft_wrap=True)
    verdict = "[green]all within tolerance[/]" if report.ok else "[bold red]FAILED[/]"
    console.print(f"{report.passed} passed, {report.failed} failed — {verdict}")


def _time(seconds: float) -> str:
    return "-" if seconds != seconds else format_time(seconds, 7).replace(" ", "")
