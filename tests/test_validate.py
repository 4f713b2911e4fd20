"""`netsim validate`: the built-in suite passes on every model, failures exit non-zero."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from netsim.cli import cli, main
from netsim.network import NETWORK_MODELS
from netsim.transport import make_transport
from netsim.validation import (
    EXACT,
    SUITE,
    Case,
    Check,
    load_suite,
    run_cases,
    select_cases,
)
from netsim.validation import closed_forms as cf
from netsim.validation.harness import chain, run_transfers

BROKEN_SUITE = """
from netsim.validation import Case, Check
from netsim.validation.harness import chain, run_transfers

GRAPH = chain([1e9], [1e-6])

def one_megabyte(model):
    return run_transfers(model, GRAPH, [("h0", "h1", 1e6)])[0]

CASES = [
    Case("right", "1 MB at 1 GB/s", one_megabyte, (Check("flow", lambda: 1e-6 + 1e-3),)),
    # Deliberately wrong: forgets the latency (relative error 1e-3, tolerance 1e-9).
    Case("broken", "1 MB at 1 GB/s, latency forgotten", one_megabyte, (Check("flow", lambda: 1e-3),)),
]
NOT_CASES = [1, 2]
"""


@pytest.fixture
def broken_module(tmp_path, monkeypatch):
    (tmp_path / "broken_validation_cases.py").write_text(BROKEN_SUITE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


# ----------------------------------------------------------------- the suite passes
@pytest.fixture(scope="module")
def report():
    return run_cases(SUITE)


def test_suite_passes_on_every_registered_model(report):
    failures = [r for r in report.results if not r.passed]
    assert not failures, failures
    assert report.ok
    checked = {r.model for r in report.results}
    assert checked == set(NETWORK_MODELS), (checked, report.skipped)


def test_exact_checks_really_are_exact(report):
    exact = [r for r in report.results if r.tolerance == EXACT]
    assert len(exact) >= 20
    assert max(abs(r.error) for r in exact) < 1e-12


def test_every_group_is_checked_and_names_are_unique():
    names = [c.name for c in SUITE]
    assert len(names) == len(set(names))
    assert {c.group for c in SUITE} == {"point-to-point", "collective", "sharing", "transport"}


def test_sharing_expectations_discriminate():
    """The max-min answers differ from the naive ones, so the checks can fail."""
    n, b = 1.5e6, 125e6
    g = chain([b], [0.0])
    assert run_transfers("flow", g, [("h0", "h1", n), ("h0", "h1", n)]) == [2 * n / b, 2 * n / b]
    held = next(c for c in SUITE if c.name == "share_held_back")
    flow, analytic = (c.expected() for c in held.checks)
    equal_split = 3 * 1e-6 + 1.5 * n / (b / 2)
    assert flow < equal_split and analytic < flow


# ------------------------------------------------------------------- closed forms
def test_store_and_forward_equal_links_is_references_formula():
    k, m, lats, b = 7, 1500, [1e-6, 2e-6, 3e-6], 1e9
    assert cf.store_and_forward(k, m, lats, b) == pytest.approx(6e-6 + (k + 3 - 1) * m / b, rel=1e-15)
    # One link: no pipeline term, the alpha-beta time.
    assert cf.store_and_forward(k, m, [1e-6], [b]) == pytest.approx(cf.alpha_beta(k * m, [1e-6], [b]), rel=1e-15)
    # Unequal links: the slowest paces the train.
    assert cf.store_and_forward(2, m, [0, 0], [1e9, 5e8]) == pytest.approx(m / 1e9 + 2 * m / 5e8, rel=1e-15)


@pytest.mark.parametrize("size", [1_000_000, 10_000_000, 14_600, 14_601 + 100])
def test_tcp_closed_form_matches_the_profile(size):
    tcp = make_transport("tcp")
    segments, wire = cf.tcp_wire_bytes(size)
    assert (segments, wire) == (tcp.frames(size), tcp.wire_bytes(size))
    expected = tcp.transfer_time(size, 125e6, 10e-3, new_connection=True)
    assert cf.tcp_transfer_time(size, 125e6, 10e-3) == pytest.approx(expected, rel=1e-12)


def test_framed_wire_bytes_match_the_profiles():
    mib = 1 << 20
    assert cf.framed_wire_bytes(mib, 1472, 66) == make_transport("udp").wire_bytes(mib)
    assert cf.framed_wire_bytes(mib, 1024, 82, 16) == make_transport("rocev2").wire_bytes(mib) == 1_132_560
    assert cf.frame_sizes(3000, 1472, 66) == [1538, 1538, 56 + 66]


def test_store_and_forward_of_unequal_frames_waits_for_the_largest():
    # Proportionate flow shop: Σs + (h - 1)·max s.
    assert cf.store_and_forward_frames([3, 1, 2], [0, 0, 0], 1.0) == 6 + 2 * 3
    equal = cf.store_and_forward_frames([1500] * 7, [1e-6] * 3, 1e9)
    assert equal == pytest.approx(cf.store_and_forward(7, 1500, [1e-6] * 3, 1e9), rel=1e-15)


def test_tcp_closed_form_refuses_padded_sizes():
    with pytest.raises(ValueError, match="padded"):
        cf.tcp_wire_bytes(1461)


def test_collective_forms_at_two_ranks_are_one_exchange():
    a, b, n = 1e-6, 1e-9, 1e6
    assert cf.recursive_doubling_allreduce(2, n, a, b) == pytest.approx(a + n * b)
    assert cf.binomial_allreduce(2, n, a, b) == pytest.approx(2 * (a + n * b))
    assert cf.ring_allreduce(2, n, a, b) == pytest.approx(cf.rabenseifner_allreduce(2, n, a, b))
    assert cf.ring_all_gather(4, n, a, b) == pytest.approx(3 * a + 0.75 * n * b)


# ------------------------------------------------------------------ runner details
def test_select_cases_by_name_glob_and_group():
    assert [c.name for c in select_cases(SUITE, ["p2p_1hop"])] == ["p2p_1hop"]
    assert all(c.name.startswith("share_") for c in select_cases(SUITE, ["share_*"]))
    assert {c.group for c in select_cases(SUITE, ["collective"])} == {"collective"}
    assert len(select_cases(SUITE, None)) == len(SUITE)


def test_failing_simulation_is_a_failed_row_and_the_rest_runs():
    def boom(model):
        raise RuntimeError("no luck")

    cases = [
        Case("boom", "raises", boom, (Check("flow", lambda: 1.0),)),
        Case("fine", "constant", lambda model: 2.0, (Check("flow", lambda: 2.0),)),
    ]
    report = run_cases(cases)
    assert [r.passed for r in report.results] == [False, True]
    assert "RuntimeError: no luck" in report.results[0].note
    assert report.as_dict()["checks"][0]["simulated_s"] is None  # valid JSON, no NaN
    assert report.failed == 1 and not report.ok


def test_checks_against_a_model_and_skips():
    calls = []

    def simulate(model):
        calls.append(model)
        return {"flow": 1.0, "analytic": 1.01}[model]

    cases = [
        Case(
            "pair",
            "analytic vs flow",
            simulate,
            (
                Check("analytic", against="flow", tolerance=0.02),
                Check("analytic", against="flow", tolerance=0.005),
                Check("nosuchmodel", lambda: 1.0),
            ),
        )
    ]
    report = run_cases(cases)
    assert [r.passed for r in report.results] == [True, False]
    assert report.results[0].reference == "flow model"
    assert report.results[0].error == pytest.approx(0.01)
    assert sorted(calls) == ["analytic", "flow"]  # each model simulated once
    assert [s.model for s in report.skipped] == ["nosuchmodel"]


def test_check_needs_exactly_one_reference():
    with pytest.raises(ValueError, match="exactly one"):
        Check("flow")
    with pytest.raises(ValueError, match="exactly one"):
        Check("flow", lambda: 1.0, against="analytic")
    with pytest.raises(ValueError, match="identifier"):
        Case("bad name", "", lambda m: 0.0, (Check("flow", lambda: 0.0),))


# --------------------------------------------------------------------------- CLI
def test_cli_table_and_exit_zero():
    result = CliRunner().invoke(cli, ["validate", "--case", "p2p_*", "--case", "collective", "--model", "flow"])
    assert result.exit_code == 0, result.output
    for column in ("case", "model", "expected", "simulated", "error"):
        assert column in result.output
    assert "allreduce_ring_allreduce" in result.output and "FAIL" not in result.output
    assert "0 failed" in result.output


def test_cli_json():
    result = CliRunner().invoke(cli, ["validate", "--case", "share_incast", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["failed"] == 0 and data["passed"] == len(data["checks"]) >= 2
    row = data["checks"][0]
    assert set(row) >= {"case", "model", "expected_s", "simulated_s", "error", "tolerance", "passed"}


def test_cli_list_runs_nothing():
    result = CliRunner().invoke(cli, ["validate", "--list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [row["case"] for row in listed] == [c.name for c in SUITE]
    assert all(row["checks"] for row in listed)


def test_broken_expectation_exits_nonzero(broken_module):
    result = CliRunner().invoke(cli, ["validate", "--suite", "broken_validation_cases:CASES"])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "1 passed, 1 failed" in result.output
    only_right = CliRunner().invoke(cli, ["validate", "--suite", "broken_validation_cases:CASES", "--case", "right"])
    assert only_right.exit_code == 0, only_right.output


def test_broken_expectation_exit_status_of_the_command(broken_module):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken_module), *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-m", "netsim", "validate", "--suite", "broken_validation_cases:CASES", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [(r["case"], r["passed"]) for r in data["checks"]] == [("right", True), ("broken", False)]
    assert data["checks"][1]["error"] == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--model", "pakcet"], ["--model: unknown network model 'pakcet'", "accepted: analytic", "flow"]),
        (["--case", "p2p_9hop"], ["--case: no case matches 'p2p_9hop'", "accepted: p2p_1hop", "share_incast"]),
        (
            ["--model", "analytic", "--case", "tcp_share_bottleneck"],
            ["--model: no check of the selected cases is for analytic; their models: packet"],
        ),
        (["--suite", "nosuchmodule_xyz:CASES"], ["--suite: cannot import 'nosuchmodule_xyz'"]),
        (["--suite", "netsim.validation"], ["--suite: expected MODULE:NAME"]),
        (["--suite", "netsim.validation:NOPE"], ["--suite: module 'netsim.validation' has no attribute 'NOPE'"]),
        (["--suite", "netsim.validation:EXACT"], ["--suite: 'netsim.validation:EXACT' is not a sequence of cases"]),
    ],
)
def test_bad_options_exit_2_with_one_line(args, fragments, capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err
    assert "Traceback" not in err


def test_suite_of_non_cases_is_refused(broken_module, capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate", "--suite", "broken_validation_cases:NOT_CASES"])
    assert info.value.code == 2
    assert "must hold netsim.validation.Case objects" in capsys.readouterr().err


def test_load_suite_returns_the_cases(broken_module):
    cases = load_suite("broken_validation_cases:CASES")
    assert [c.name for c in cases] == ["right", "broken"]


@pytest.mark.parametrize("module", ["closed_forms", "case", "harness", "runner", "__init__"])
def test_doctests(module):
    import doctest
    import importlib

    name = "netsim.validation" if module == "__init__" else f"netsim.validation.{module}"
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
