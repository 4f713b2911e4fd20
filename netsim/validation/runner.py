"""Select and run validation cases: one :class:`~netsim.validation.case.CheckResult` per check.

Examples
--------
>>> from netsim.validation import SUITE, run_cases, select_cases
>>> report = run_cases(select_cases(SUITE, ["p2p_1hop"]), models=["flow"])
>>> [(r.case, r.model, r.passed) for r in report.results]
[('p2p_1hop', 'flow', True)]
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from netsim.exceptions import ScenarioError
from netsim.validation.case import Case, CheckResult

__all__ = ["Report", "Skipped", "select_cases", "check_models", "run_cases", "load_suite"]


@dataclass(frozen=True)
class Skipped:
    """A check that was not run: its case, model and why."""

    case: str
    model: str
    reason: str


@dataclass
class Report:
    """Outcome of :func:`run_cases`.

    Attributes
    ----------
    results : list of CheckResult
        One row per check run, in case then check order.
    skipped : list of Skipped
        Checks not run (model not registered, or the case cannot run on it).
    """

    results: list[CheckResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """Number of checks within tolerance."""
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        """Number of checks out of tolerance (or whose simulation raised)."""
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        """At least one check ran and none failed."""
        return bool(self.results) and self.failed == 0

    def as_dict(self) -> dict:
        """JSON-ready: ``checks`` (rows), ``skipped``, ``passed``, ``failed``."""
        return {
            "checks": [r.as_dict() for r in self.results],
            "skipped": [vars(s) for s in self.skipped],
            "passed": self.passed,
            "failed": self.failed,
        }


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def select_cases(cases: Sequence[Case], patterns: Sequence[str] | None = None) -> list[Case]:
    """The cases whose name or group matches any pattern (shell globs, ``*`` and ``?``).

    Parameters
    ----------
    cases : sequence of Case
        The suite.
    patterns : sequence of str, optional
        Names (``p2p_1hop``), globs (``share_*``) or groups (``collective``); none: every case.

    Returns
    -------
    list of Case
        In suite order.

    Raises
    ------
    ScenarioError
        Naming ``--case`` and the accepted names if a pattern matches no case.
    """
    if not patterns:
        return list(cases)
    chosen: set[str] = set()
    for pattern in patterns:
        hits = {c.name for c in cases if fnmatch.fnmatchcase(c.name, pattern) or c.group == pattern}
        if not hits:
            names = [c.name for c in cases]
            groups = sorted({c.group for c in cases if c.group})
            raise ScenarioError(
                f"--case: no case matches {pattern!r}{_hint(pattern, names + groups)}; "
                f"accepted: {', '.join(names)}, a group ({', '.join(groups)}) or a glob such as 'share_*'"
            )
        chosen |= hits
    return [c for c in cases if c.name in chosen]


def check_models(models: Sequence[str] | None) -> list[str] | None:
    """Validate model names against :data:`netsim.network.NETWORK_MODELS` (``None``: all).

    Raises
    ------
    ScenarioError
        Naming ``--model`` and the registered models.
    """
    from netsim.network import NETWORK_MODELS

    if not models:
        return None
    for model in models:
        if model not in NETWORK_MODELS:
            accepted = ", ".join(sorted(NETWORK_MODELS))
            raise ScenarioError(
                f"--model: unknown network model {model!r}{_hint(model, NETWORK_MODELS)}; accepted: {accepted}"
            )
    return list(dict.fromkeys(models))


def run_cases(
    cases: Sequence[Case],
    models: Sequence[str] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> Report:
    """Run every check of `cases` whose model is registered (and in `models`, if given).

    Each case is simulated at most once per model; a check ``against`` another model uses
    that model's result (run even when it is not in `models`). A simulation that raises
    gives failed rows (NaN time, the error in ``note``) and the others still run.

    Parameters
    ----------
    cases : sequence of Case
        What to run (see :func:`select_cases`).
    models : sequence of str, optional
        Only checks of these models (validated names); ``None``: every registered model.
    on_result : callable, optional
        Called with each row as soon as it is known (progress output).

    Returns
    -------
    Report
    """
    from netsim.network import NETWORK_MODELS

    report = Report()
    for case in cases:
        times: dict[str, float | BaseException] = {}

        def simulate(model: str, case: Case = case, times: dict = times) -> float | BaseException:
            if model not in times:
                try:
                    times[model] = float(case.simulate(model))
                except Exception as exc:  # reported as a failed row, the suite goes on
                    times[model] = exc
            return times[model]

        for check in case.checks:
            if models is not None and check.model not in models:
                continue
            needed = [check.model] + ([check.against] if check.against else [])
            missing = [m for m in needed if m not in NETWORK_MODELS]
            if missing:
                report.skipped.append(Skipped(case.name, check.model, f"model {missing[0]!r} not registered"))
                continue
            unable = [m for m in needed if not case.runs_on(m)]
            if unable:
                report.skipped.append(Skipped(case.name, check.model, f"case does not apply to model {unable[0]!r}"))
                continue
            result = _compare(case.name, check, simulate)
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    return report


def _compare(name: str, check, simulate) -> CheckResult:
    simulated = simulate(check.model)
    if check.against is not None:
        expected = simulate(check.against)
        source = check.against
    else:
        try:
            expected = float(check.expected())
        except Exception as exc:
            expected = exc
        source = "closed form"
    note = ""
    if isinstance(simulated, BaseException):
        note, simulated = f"{check.model}: {type(simulated).__name__}: {simulated}", math.nan
    if isinstance(expected, BaseException):
        note, expected = f"{source}: {type(expected).__name__}: {expected}", math.nan
    result = check.compare(name, simulated, expected)
    if note:
        result = CheckResult(**{**vars(result), "note": note, "passed": False})
    return result


def load_suite(spec: str) -> tuple[Case, ...]:
    """The cases named by ``"module:attribute"`` (an iterable of :class:`Case`).

    Raises
    ------
    ScenarioError
        Naming ``--suite`` if the module cannot be imported, the attribute is missing, or
        it holds anything but cases with unique names.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ScenarioError(f"--suite: expected MODULE:NAME (e.g. mychecks:CASES), got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScenarioError(f"--suite: cannot import {module_name!r}: {exc}") from None
    try:
        cases = tuple(getattr(module, attribute))
    except AttributeError:
        raise ScenarioError(f"--suite: module {module_name!r} has no attribute {attribute!r}") from None
    except TypeError:
        raise ScenarioError(f"--suite: {spec!r} is not a sequence of cases") from None
    if not cases or not all(isinstance(c, Case) for c in cases):
        raise ScenarioError(f"--suite: {spec!r} must hold netsim.validation.Case objects (at least one)")
    names = [c.name for c in cases]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ScenarioError(f"--suite: case name {duplicate!r} appears twice in {spec!r}")
    return cases
