"""Validation of the network models: closed forms, and the models against each other.

``netsim validate`` runs :data:`SUITE`: small simulations whose times are known in closed
form (REFERENCES §1–2: alpha-beta, store-and-forward, collective costs, hand-solved
max-min sharing, TCP slow start) or must agree between models (packet vs flow, within 2 %
on long transfers with the ideal transport, 5 % with TCP slow start). Each
:class:`Case` says per model what it expects and within what relative tolerance
(:data:`EXACT` = 1e-9 for formulas a model implements exactly).

Modules: :mod:`~netsim.validation.closed_forms` (the formulas),
:mod:`~netsim.validation.case` (Case, Check, CheckResult),
:mod:`~netsim.validation.harness` (running transfers and collectives on any model),
:mod:`~netsim.validation.suite` (the built-in cases) and
:mod:`~netsim.validation.runner` (selection and execution).

Examples
--------
>>> from netsim.validation import SUITE, run_cases, select_cases
>>> report = run_cases(select_cases(SUITE, ["allreduce_ring_allreduce"]), models=["flow", "analytic"])
>>> report.ok, [r.model for r in report.results]
(True, ['flow', 'analytic'])
"""

from netsim.validation.case import EXACT, Case, Check, CheckResult
from netsim.validation.runner import (
    Report,
    Skipped,
    check_models,
    load_suite,
    run_cases,
    select_cases,
)
from netsim.validation.suite import SUITE, builtin_cases

__all__ = [
    "EXACT",
    "Case",
    "Check",
    "CheckResult",
    "Report",
    "Skipped",
    "SUITE",
    "builtin_cases",
    "select_cases",
    "check_models",
    "run_cases",
    "load_suite",
]
