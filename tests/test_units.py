"""Units: parsing, formatting, round trips and every error path."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.units import (
    format_bandwidth,
    format_flops,
    format_size,
    format_time,
    parse_bandwidth,
    parse_flops,
    parse_size,
    parse_time,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100Gbps", 12.5e9),
        ("12.5GB/s", 12.5e9),
        ("400Mbps", 50e6),
        ("1Tbps", 125e9),
        ("10 Gb/s", 1.25e9),
        ("1GiB/s", 2.0**30),
        ("1e9", 1e9),
        (1e9, 1e9),
        (5, 5.0),
        ("8bps", 1.0),
        ("1KiB/s", 1024.0),
    ],
)
def test_parse_bandwidth(text, expected):
    assert parse_bandwidth(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5us", 1.5e-6),
        ("1.5µs", 1.5e-6),
        ("1.5μs", 1.5e-6),
        ("10ms", 1e-2),
        ("2s", 2.0),
        ("100ns", 1e-7),
        ("1e-6", 1e-6),
        (0, 0.0),
        ("1min", 60.0),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25MiB", 25 * 2**20),
        ("1KB", 1000.0),
        ("1kB", 1000.0),
        ("1.5GB", 1.5e9),
        ("4GiB", 4 * 2**30),
        ("8Gb", 1e9),
        ("1e9", 1e9),
        ("512B", 512.0),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == pytest.approx(expected, rel=1e-15)


def test_parse_flops():
    assert parse_flops("312TFLOPS") == 312e12
    assert parse_flops("10GFLOP/s") == 10e9
    assert parse_flops(1e12) == 1e12


@pytest.mark.parametrize(
    ("parser", "value", "fragment"),
    [
        (parse_bandwidth, "10Gbsp", "unknown unit 'Gbsp'"),
        (parse_bandwidth, "fast", "cannot read 'fast'"),
        (parse_bandwidth, "-1Gbps", "must not be negative"),
        (parse_bandwidth, "inf", "cannot read"),
        (parse_bandwidth, float("nan"), "finite"),
        (parse_bandwidth, float("inf"), "finite"),
        (parse_bandwidth, True, "boolean"),
        (parse_bandwidth, [1], "got list"),
        (parse_time, "10 parsecs", "unknown unit"),
        (parse_time, "-5ms", "must not be negative"),
        (parse_time, "", "cannot read"),
        (parse_size, "25MIB", "unknown unit 'MIB'"),
        (parse_size, "1mb", "unknown unit 'mb'"),
        (parse_flops, "3 TFLOPZ", "unknown unit"),
    ],
)
def test_errors_name_the_problem_and_accepted_forms(parser, value, fragment):
    with pytest.raises(ScenarioError) as info:
        parser(value, field="topology.bandwidth")
    message = str(info.value)
    assert message.startswith("topology.bandwidth: ")
    assert fragment in message


def test_unit_error_lists_accepted_forms():
    with pytest.raises(ScenarioError, match="accepted forms: 100Gbps"):
        parse_bandwidth("10Gbsp")


def test_format_examples():
    assert format_bandwidth(12.5e9) == "100 Gbps"
    assert format_time(1.5e-6) == "1.5 us"
    assert format_time(0) == "0 s"
    assert format_size(25 * 2**20) == "25 MiB"
    assert format_flops(312e12) == "312 TFLOPS"


finite_positive = st.floats(min_value=1e-3, max_value=1e15, allow_nan=False, allow_infinity=False)


@given(finite_positive)
def test_bandwidth_round_trip(value):
    assert parse_bandwidth(format_bandwidth(value, digits=17)) == pytest.approx(value, rel=1e-14)


@given(st.floats(min_value=1e-12, max_value=1e5))
def test_time_round_trip(value):
    assert parse_time(format_time(value, digits=17).replace(" ", "")) == pytest.approx(value, rel=1e-14)


@given(finite_positive)
def test_size_round_trip(value):
    assert parse_size(format_size(value, digits=17)) == pytest.approx(value, rel=1e-14)


@given(finite_positive)
def test_flops_round_trip(value):
    assert parse_flops(format_flops(value, digits=17)) == pytest.approx(value, rel=1e-14)


@given(st.text(max_size=12))
def test_arbitrary_text_parses_or_raises_scenario_error(text):
    for parser in (parse_bandwidth, parse_time, parse_size, parse_flops):
        try:
            value = parser(text)
        except ScenarioError:
            continue
        assert math.isfinite(value) and value >= 0
