"""Command line: ``netsim run | list | collective | ...``.

Thin by design: parse arguments, call the library, print. Every user error (a
:class:`~netsim.exceptions.NetsimError`, a file that cannot be written) is printed on
one line as ``error: ...`` and exits with status 2; usage errors exit 2 as well.

Each command lives in its own module of this package and registers itself on
:data:`cli` when imported (see the imports at the bottom).
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.markup import escape

from netsim.exceptions import NetsimError

__all__ = ["main", "cli", "fail"]

_err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> None:
    """Print ``error: message`` on one line to stderr and exit with status 2."""
    _err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netsim", prog_name="netsim")
def cli() -> None:
    """netsim: simulate the communication of distributed deep-learning training.

    Network timing (SimPy, flow-level max-min sharing) and real NumPy gradient math
    together: see how long a step takes and how fast the model converges.
    """


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
        fail(str(exc))
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)


# Command modules register themselves on `cli` (one line per module).
from netsim.cli import collective as _collective  # noqa: E402,F401
from netsim.cli import listing as _listing  # noqa: E402,F401
from netsim.cli import plot as _plot  # noqa: E402,F401
from netsim.cli import run as _run  # noqa: E402,F401
from netsim.cli import sweep as _sweep  # noqa: E402,F401
from netsim.cli import topology as _topology  # noqa: E402,F401
from netsim.cli import validate as _validate  # noqa: E402,F401
