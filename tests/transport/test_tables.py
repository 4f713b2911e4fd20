"""A profile from the scenario's [network] tables: layering, defaults and dotted error paths."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.exceptions import ScenarioError
from netsim.scenario import NetworkSpec, scenario_from_dict
from netsim.transport import TABLES, TRANSPORTS, make_transport, transport_from_tables
from netsim.transport.tables import table_options, transport_layers


def test_one_table_per_profile_and_each_is_a_scenario_field():
    assert tuple(TRANSPORTS) == TABLES
    assert set(TABLES) <= set(NetworkSpec.model_fields)
    for table in TABLES:
        assert "mtu" not in table_options(table)


def test_layers():
    assert transport_layers("tcp") == ("tcp",)
    assert transport_layers("grpc") == ("tcp", "grpc")
    assert transport_layers("rest") == ("tcp", "rest")
    assert transport_layers("http") == ("tcp", "rest")
    assert transport_layers("rdma") == ("rocev2",)
    assert transport_layers("ideal") == ("ideal",)


def test_defaults_are_the_registered_profiles():
    for name in TRANSPORTS:
        assert transport_from_tables(name) is TRANSPORTS[name]
    assert transport_from_tables("roce") is TRANSPORTS["rocev2"]


def test_tcp_table_applies_under_grpc_and_rest_except_software_latency():
    tables = {"tcp": {"initial_window": 4, "min_rto": "1ms", "software_latency": "3us"}}
    tcp = transport_from_tables("tcp", tables=tables)
    assert (tcp.initial_window, tcp.min_rto, tcp.software_latency) == (4, 1e-3, 3e-6)
    for name in ("grpc", "rest"):
        profile = transport_from_tables(name, tables=tables)
        assert (profile.initial_window, profile.min_rto) == (4, 1e-3)
        assert profile.software_latency == TRANSPORTS[name].software_latency
    assert transport_from_tables("udp", tables=tables) is TRANSPORTS["udp"]  # not its layer


def test_own_table_wins_over_the_tcp_table():
    tables = {
        "tcp": {"initial_window": 4},
        "grpc": {"initial_window": 16, "max_message": "unlimited"},
    }
    assert transport_from_tables("grpc", tables=tables).initial_window == 16
    assert transport_from_tables("grpc", tables=tables).max_message is None
    assert transport_from_tables("rest", tables=tables).initial_window == 4
    assert transport_from_tables("tcp", tables=tables).initial_window == 4


def test_mtu_applies_to_every_framed_transport():
    for name in TRANSPORTS:
        assert transport_from_tables(name, mtu=9000) == make_transport(name, mtu=9000)
    assert transport_from_tables("rocev2", mtu="9000B").max_payload == 4096


@pytest.mark.parametrize(
    ("name", "mtu", "tables", "match"),
    [
        ("tpc", None, {}, r"^network\.transport: unknown transport 'tpc' \(did you mean 'tcp'\?\)"),
        (
            "tcp",
            None,
            {"tcp": {"initial_window": 0}},
            r"^network\.tcp\.initial_window: expected a whole number >= 1, got 0$",
        ),
        (
            "grpc",
            None,
            {"tcp": {"initial_window": 1.5}},
            r"^network\.tcp\.initial_window: expected a whole number",
        ),
        (
            "tcp",
            None,
            {"tcp": {"initail_window": 4}},
            r"^network\.tcp\.initail_window: unknown option \(did you mean 'initial_window'\?\); options of \[network\.tcp\]: ",
        ),
        (
            "tcp",
            None,
            {"udp": {"timestamps": True}},
            r"^network\.udp\.timestamps: not an option of transport 'udp'",
        ),
        (
            "tcp",
            None,
            {"tcp": {"mtu": 9000}},
            r"^network\.tcp\.mtu: set the MTU once, as network\.mtu",
        ),
        ("tcp", None, {"tpc": {}}, r"^unknown key 'network\.tpc' \(did you mean 'tcp'\?\)"),
        ("tcp", None, {"tcp": 4}, r"^network\.tcp: expected a table of options"),
        ("tcp", "huge", {}, r"^network\.mtu: cannot read 'huge' as a size"),
        ("tcp", 40, {}, r"^network\.mtu: expected a whole number >= 68, got 40$"),
        (
            "rocev2",
            1500,
            {"rocev2": {"path_mtu": 4096}},
            r"^network\.rocev2\.path_mtu: 4096 needs an IP MTU of at least 4156 bytes, but network\.mtu = 1500",
        ),
        (
            "rest",
            None,
            {"rest": {"encoding": "jsn"}},
            r"^network\.rest\.encoding: 'jsn' is not accepted \(did you mean 'json'\?\)",
        ),
        (
            "rocev2",
            None,
            {"rocev2": {"retransmission": "go-back-n"}},
            r"^network\.rocev2\.retransmission: 'go-back-n' is not accepted.*accepted: selective, go_back_n",
        ),
        (
            "tcp",
            None,
            {"tcp": {"min_rto": "fast"}},
            r"^network\.tcp\.min_rto: cannot read 'fast' as a time",
        ),
        # a table not in use is still checked
        (
            "udp",
            None,
            {"grpc": {"oversize": "drop"}},
            r"^network\.grpc\.oversize: 'drop' is not accepted",
        ),
    ],
)
def test_errors_name_the_dotted_key(name, mtu, tables, match):
    with pytest.raises(ScenarioError, match=match):
        transport_from_tables(name, mtu=mtu, tables=tables)


# ------------------------------------------------------------ scenario wiring
def network(**table):
    return scenario_from_dict({"topology": {"hosts": 4}, "network": table}).network


def test_scenario_defaults_leave_every_result_unchanged():
    spec = network()
    assert spec.transport == "ideal" and spec.loss_rate == 0.0 and spec.mtu is None
    assert spec.buffer is None and spec.ecn is False
    assert spec.build_transport() is TRANSPORTS["ideal"]
    assert not spec.reports_transport
    assert spec.model_options() == {"loss_rate": 0.0, "buffer": None, "ecn": False}


def test_scenario_keys():
    spec = network(
        transport="roce", mtu="9000B", loss_rate=0.001, buffer="64KiB", ecn=True,
        tcp={"initial_window": 4}, rocev2={"retransmission": "selective"},
    )  # fmt: skip
    assert spec.transport == "rocev2"  # aliases resolve, so equal runs hash alike
    profile = spec.build_transport()
    assert (profile.name, profile.mtu, profile.max_payload, profile.retransmission) == (
        "rocev2",
        9000,
        4096,
        "selective",
    )
    assert spec.model_options() == {"loss_rate": 0.001, "buffer": 65536, "ecn": True}
    assert spec.reports_transport
    assert network(transport="ideal").reports_transport  # set explicitly, even to the default


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (
            {"transport": "tpc"},
            r"^network\.transport: unknown transport 'tpc' \(did you mean 'tcp'\?\)",
        ),
        (
            {"transport": "grpc", "tcp": {"initial_window": 0}},
            r"^network\.tcp\.initial_window: expected a whole number >= 1",
        ),
        ({"loss_rate": 1.0}, r"^network\.loss_rate: expected a probability 0 <= p < 1"),
        ({"loss_rate": -0.01}, r"^network\.loss_rate: expected a probability"),
        ({"loss_rate": "1%"}, r"^network\.loss_rate: expected a probability"),
        ({"buffer": 0}, r"^network\.buffer: expected a whole number of bytes >= 1"),
        ({"buffer": "lots"}, r"^network\.buffer: cannot read 'lots' as a size"),
        ({"mtu": 9000.5}, r"^network\.mtu: expected a whole number"),
        (
            {"tcp": {"min_rtoo": "1ms"}},
            r"^network\.tcp\.min_rtoo: unknown option \(did you mean 'min_rto'\?\)",
        ),
        ({"tpc": {}}, r"^unknown key 'network\.tpc' \(did you mean 'tcp'\?\)"),
    ],
)
def test_scenario_errors(table, match):
    with pytest.raises(ScenarioError, match=match):
        network(**table)


def test_overrides_reach_the_tables():
    doc = {"topology": {"hosts": 4}}
    scenario = scenario_from_dict(
        doc,
        [
            "network.transport=grpc",
            "network.tcp.initial_window=2",
            "network.grpc.max_message=unlimited",
        ],
    )
    profile = scenario.network.build_transport()
    assert (profile.name, profile.initial_window, profile.max_message) == ("grpc", 2, None)


# ------------------------------------------------------------------ fuzzing
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "1ms",
            "9KB",
            "unlimited",
            "auto",
            "json",
            "split",
            "newreno",
            "go_back_n",
            "1e400",
            "-1",
            "nan",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)
OPTION_NAMES = sorted({o for table in TABLES for o in table_options(table)} | {"mtu", "bogus"})


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    transport=st.sampled_from([*TRANSPORTS, "roce", "tpc"]) | JUNK,
    top=st.dictionaries(st.sampled_from(["mtu", "loss_rate", "buffer", "ecn"]), JUNK, max_size=2),
    tables=st.dictionaries(
        st.sampled_from([*TABLES, "tpc"]),
        st.dictionaries(st.sampled_from(OPTION_NAMES), JUNK, max_size=2) | JUNK,
        max_size=2,
    ),
)
def test_any_network_table_is_valid_or_one_scenario_error(transport, top, tables):
    try:
        spec = network(transport=transport, **top, **tables)
    except ScenarioError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(("network", "unknown key 'network.")), (
            message
        )
    else:
        assert spec.build_transport().name in TRANSPORTS
