"""The function a sweep worker runs: simulate one scenario document, never raise.

Kept in a module of its own so that process pools and Dask workers import little
and pickle it by reference.
"""

from __future__ import annotations

import signal
from pathlib import Path

from netsim.runner import simulate
from netsim.scenario import scenario_from_dict

__all__ = ["execute", "one_line", "ignore_sigint"]

_MAX_MESSAGE = 500
ERROR_FILE = "error.txt"


def execute(document: dict, base_dir: str, name: str, run_dir: str | None = None) -> tuple[str, object]:
    """Simulate one scenario document, and write its run directory if given one.

    Parameters
    ----------
    document : dict
        A scenario document (validated again here).
    base_dir : str
        Directory for relative paths in the scenario.
    name : str
        Default scenario name.
    run_dir : str, optional
        Write the run's files there (workers that share the sweep's filesystem do,
        so the writing is parallel too); without it the result is returned.

    Returns
    -------
    ("ok", Result), ("ok", dict) or ("failed", str)
        The result (without ``run_dir``), the deterministic summary (with it), or
        the error as one line (``ExceptionType: message``). Only exceptions are
        caught; ``KeyboardInterrupt`` propagates.
    """
    try:
        scenario = scenario_from_dict(document, name=name, base_dir=base_dir)
        result = simulate(scenario)
    except Exception as exc:  # a failed run is recorded, not raised
        return "failed", one_line(exc)
    if run_dir is None:
        return "ok", result
    result.write(run_dir)
    (Path(run_dir) / ERROR_FILE).unlink(missing_ok=True)
    return "ok", result.deterministic_summary()


def one_line(exc: BaseException) -> str:
    """``ExceptionType: message`` on one line, at most 500 characters."""
    text = " ".join(str(exc).split()) or "(no message)"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def ignore_sigint() -> None:
    """Process-pool initializer: Ctrl-C is handled by the parent, not by each worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
