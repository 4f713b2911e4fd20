"""What one validation case is: a simulation, and what each network model must give.

A :class:`Case` runs one small simulation with a given network model and returns one
simulated time (seconds). Its :class:`Check` entries say, model by model, what that time
must be: a closed form (a function of nothing, returning seconds) or another model's
result for the same case, within a relative tolerance. A :class:`CheckResult` is one row
of ``netsim validate``'s table.

Examples
--------
>>> case = Case(
...     "one_second", "a constant for the example",
...     simulate=lambda model: 1.0 + 1e-12,
...     checks=(Check("flow", expected=lambda: 1.0),),
... )
>>> result = case.checks[0].compare("one_second", 1.0 + 1e-12, 1.0)
>>> result.passed, result.reference
(True, 'closed form')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["EXACT", "Case", "Check", "CheckResult"]

#: Relative tolerance of a check against an exact closed form.
EXACT = 1e-9


def _number(value: float) -> float | None:
    return None if value != value else value


@dataclass(frozen=True)
class CheckResult:
    """One comparison: a case, a model, the expected and the simulated time.

    Attributes
    ----------
    case : str
        Case name.
    model : str
        Network model that produced `simulated`.
    reference : str
        What `expected` is: ``"closed form"`` (or a named formula) or ``"<model> model"``.
    expected, simulated : float
        Seconds.
    error : float
        Relative error ``(simulated − expected) / expected`` (``simulated − expected``
        when `expected` is 0).
    tolerance : float
        Largest accepted ``|error|``.
    passed : bool
        ``|error| <= tolerance`` (``False`` when either time is NaN).
    note : str
        Why a time is missing (the error a simulation raised), else ``""``.
    """

    case: str
    model: str
    reference: str
    expected: float
    simulated: float
    error: float
    tolerance: float
    passed: bool
    note: str = ""

    def as_dict(self) -> dict:
        """The row as a JSON-ready dict (times in seconds; a missing number is ``None``)."""
        return {
            "case": self.case,
            "model": self.model,
            "reference": self.reference,
            "expected_s": _number(self.expected),
            "simulated_s": _number(self.simulated),
            "error": _number(self.error),
            "tolerance": self.tolerance,
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(frozen=True)
class Check:
    """What model `model` must give for a case.

    Parameters
    ----------
    model : str
        Network model checked (a key of :data:`netsim.network.NETWORK_MODELS`). A check
        whose model is not registered is not run.
    expected : callable, optional
        ``expected() -> seconds``: the closed form.
    against : str, optional
        Instead of `expected`: the name of another model whose result for the same case
        is the reference (the check is not run when that model is not registered).
    tolerance : float
        Largest accepted relative error (:data:`EXACT` for closed forms the model
        implements exactly).
    reference : str, optional
        Label of the reference in the table (default ``"closed form"``, or
        ``"<against> model"``).

    Raises
    ------
    ValueError
        Unless exactly one of `expected` and `against` is given and ``tolerance >= 0``.
    """

    model: str
    expected: Callable[[], float] | None = None
    against: str | None = None
    tolerance: float = EXACT
    reference: str = ""

    def __post_init__(self) -> None:
        if (self.expected is None) == (self.against is None):
            raise ValueError("a Check needs exactly one of expected= and against=")
        if not self.tolerance >= 0:
            raise ValueError(f"tolerance must be >= 0, got {self.tolerance!r}")
        if not self.reference:
            label = "closed form" if self.against is None else f"{self.against} model"
            object.__setattr__(self, "reference", label)

    def compare(self, case: str, simulated: float, expected: float) -> CheckResult:
        """Build the result row of this check from the two times (seconds)."""
        diff = simulated - expected
        error = diff / expected if expected != 0 else diff
        passed = bool(abs(error) <= self.tolerance)  # False for NaN
        return CheckResult(case, self.model, self.reference, expected, simulated, error, self.tolerance, passed)


@dataclass(frozen=True)
class Case:
    """A validation case: one small simulation and its checks.

    Parameters
    ----------
    name : str
        Unique identifier (``--case`` selects by it; letters, digits and ``_``).
    description : str
        One line: the set-up and what is compared.
    simulate : callable
        ``simulate(model) -> seconds``: run the case with network model `model`.
    checks : tuple of Check
        One per model (and reference) compared.
    group : str
        Family of the case (``"point-to-point"``, ``"collective"``, ...), for ``--list``.
    applies : callable, optional
        ``applies(model) -> bool``: whether the case can run on a model at all (e.g. only
        models that take a transport profile can run a TCP case). Checks of a model it
        rejects, or against one, are skipped. Default: every model.

    Raises
    ------
    ValueError
        If `name` is empty or not an identifier, or there is no check.
    """

    name: str
    description: str
    simulate: Callable[[str], float]
    checks: tuple[Check, ...]
    group: str = ""
    applies: Callable[[str], bool] | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"case name must be an identifier, got {self.name!r}")
        if not self.checks:
            raise ValueError(f"case {self.name!r} has no check")
        object.__setattr__(self, "checks", tuple(self.checks))

    def runs_on(self, model: str) -> bool:
        """Whether the case can run on `model` (see `applies`)."""
        return self.applies is None or bool(self.applies(model))

    def models(self) -> list[str]:
        """Models this case checks, in check order, without repeats."""
        return list(dict.fromkeys(c.model for c in self.checks))

