"""from_file: the bundled files, and every error of a broken file naming the file and entry."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsim.exceptions import TopologyError
from netsim.topology import bundled_topologies, describe, from_file, star, tree

B = 12.5e9  # 100 Gbps


def test_bundled_files_are_listed():
    assert {"two_racks.toml", "small_dc.json"} <= set(bundled_topologies())


@pytest.mark.parametrize("name", ["two_racks.toml", "small_dc.json"])
def test_every_bundled_file_reads(name):
    G = from_file(name)
    assert G.graph["description"]
    assert nx.is_connected(G)


def test_two_racks(two_racks_path):
    G = from_file(two_racks_path)
    assert G.graph["name"] == "two_racks"
    assert G.graph["source"] == str(two_racks_path)
    assert G.graph["hosts"] == [f"gpu{i}" for i in range(8)]
    assert [n for n, k in G.nodes(data="kind") if k == "switch"] == ["tor0", "tor1", "spine0"]
    assert G.number_of_edges() == 10
    for i in range(8):
        tor = "tor0" if i < 4 else "tor1"
        assert list(G[f"gpu{i}"]) == [tor]
        assert G.edges[f"gpu{i}", tor] == {"bandwidth": B, "latency": 1e-6}
    for tor in ("tor0", "tor1"):
        assert G.edges[tor, "spine0"]["bandwidth"] == B
        assert G.edges[tor, "spine0"]["latency"] == pytest.approx(2e-6)
    # 4:1 oversubscribed: the hosts of a rack offer 4x the uplink
    below = sum(G.edges[h, "tor0"]["bandwidth"] for h in ["gpu0", "gpu1", "gpu2", "gpu3"])
    assert below / G.edges["tor0", "spine0"]["bandwidth"] == 4


def test_small_dc_is_a_leaf_spine(small_dc_path):
    G = from_file(small_dc_path)
    assert G.graph["name"] == "small_dc"
    assert G.graph["hosts"] == [f"host{i}" for i in range(16)]
    d = describe(G)
    assert (d["hosts"], d["switches"], d["links"]) == (16, 6, 24)
    for leaf in range(4):
        for spine in range(2):
            assert G.edges[f"leaf{leaf}", f"spine{spine}"]["bandwidth"] == 2 * B
        assert sorted(G[f"leaf{leaf}"]) == sorted(
            [f"host{4 * leaf + i}" for i in range(4)] + ["spine0", "spine1"]
        )
    # hosts on different leaves have exactly two equal-cost paths (one per spine)
    assert len(list(nx.all_shortest_paths(G, "host0", "host15"))) == 2


def test_bundled_lookup_by_stem(two_racks_path):
    assert nx.utils.graphs_equal(from_file("two_racks"), from_file(two_racks_path))
    assert from_file("small_dc").graph["name"] == "small_dc"


def test_name_defaults_to_stem_and_hosts_follow_file_order(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'nodes = [{id = "z", kind = "host"}, {id = "sw", kind = "switch"}, {id = "a", kind = "host"}]\n'
        'links = [{source = "z", target = "sw", bandwidth = 1e9, latency = 0},\n'
        '         {source = "sw", target = "a", bandwidth = "8Gbps", latency = "3us"}]\n'
    )
    G = from_file(path)
    assert G.graph["name"] == "mine" and G.graph["description"] == ""
    assert G.graph["hosts"] == ["z", "a"]
    assert G.edges["sw", "a"] == {"bandwidth": 1e9, "latency": pytest.approx(3e-6)}


def test_array_of_tables_syntax_and_integer_ids(tmp_path):
    path = tmp_path / "tables.toml"
    path.write_text(
        'bandwidth = "1GB/s"\nlatency = 0\n'
        "[[nodes]]\nid = 1\nkind = 'host'\n"
        "[[nodes]]\nid = 2\nkind = 'host'\n"
        "[[links]]\nsource = 1\ntarget = 2\n"
    )
    G = from_file(path)
    assert G.graph["hosts"] == [1, 2]
    assert G.edges[1, 2] == {"bandwidth": 1e9, "latency": 0.0}


def test_single_host_needs_no_links(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"nodes": [{"id": "h", "kind": "host"}]}))
    assert list(from_file(path).nodes) == ["h"]


# --- broken files ----------------------------------------------------------

GOOD_NODES = [
    {"id": "h0", "kind": "host"},
    {"id": "h1", "kind": "host"},
    {"id": "s0", "kind": "switch"},
]
GOOD_LINKS = [{"source": "h0", "target": "s0"}, {"source": "h1", "target": "s0"}]


def doc(**changes):
    base = {"bandwidth": "100Gbps", "latency": "1us", "nodes": GOOD_NODES, "links": GOOD_LINKS}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


BROKEN = {
    "unknown top key": (doc(nodez=[]), ["top level", "'nodez'", "did you mean 'nodes'"]),
    "missing nodes": (doc(nodes=None), ["missing 'nodes'"]),
    "nodes not a list": (doc(nodes={"id": "h0"}), ["nodes", "expected a list"]),
    "node not a table": (doc(nodes=[*GOOD_NODES, "h9"]), ["nodes[3]", "'h9'"]),
    "node missing id": (doc(nodes=[*GOOD_NODES, {"kind": "host"}]), ["nodes[3]", "missing 'id'"]),
    "node bad id": (doc(nodes=[*GOOD_NODES, {"id": 1.5, "kind": "host"}]), ["nodes[3]", "1.5"]),
    "node missing kind": (
        doc(nodes=[*GOOD_NODES, {"id": "x"}]),
        ["nodes[3]", "'x'", "missing 'kind'"],
    ),
    "node unknown kind": (
        doc(nodes=[*GOOD_NODES, {"id": "x", "kind": "hots"}]),
        ["nodes[3]", "'x'", "'hots'", "did you mean 'host'"],
    ),
    "node unknown key": (
        doc(nodes=[*GOOD_NODES, {"id": "x", "kind": "host", "knid": 1}]),
        ["nodes[3]", "'knid'"],
    ),
    "duplicate node": (
        doc(nodes=[*GOOD_NODES, {"id": "h1", "kind": "host"}]),
        ["nodes[3]", "'h1'", "duplicate", "nodes[1]"],
    ),
    "links not a list": (doc(links="h0-s0"), ["links", "expected a list"]),
    "link not a table": (doc(links=[*GOOD_LINKS, ["h0", "h1"]]), ["links[2]"]),
    "link missing source": (
        doc(links=[*GOOD_LINKS, {"target": "h0"}]),
        ["links[2]", "missing 'source'"],
    ),
    "link missing target": (
        doc(links=[*GOOD_LINKS, {"source": "h0"}]),
        ["links[2]", "missing 'target'"],
    ),
    "link unknown node": (
        doc(links=[GOOD_LINKS[0], {"source": "h1", "target": "s9"}]),
        ["links[1]", "target", "'s9'", "is not a node"],
    ),
    "link unknown key": (
        doc(links=[GOOD_LINKS[0], {"source": "h1", "target": "s0", "latncy": "1us"}]),
        ["links[1]", "'latncy'", "did you mean 'latency'"],
    ),
    "self-loop": (
        doc(links=[*GOOD_LINKS, {"source": "s0", "target": "s0"}]),
        ["links[2]", "self-loop", "'s0'"],
    ),
    "duplicate link reversed": (
        doc(links=[*GOOD_LINKS, {"source": "s0", "target": "h1"}]),
        ["links[2]", "duplicate link", "links[1]"],
    ),
    "missing bandwidth, no default": (doc(bandwidth=None), ["links[0]", "missing 'bandwidth'"]),
    "missing latency, no default": (doc(latency=None), ["links[0]", "missing 'latency'"]),
    "bad unit in link": (
        doc(links=[GOOD_LINKS[0], {"source": "h1", "target": "s0", "bandwidth": "10Gbpz"}]),
        ["links[1].bandwidth", "'10Gbpz'"],
    ),
    "zero bandwidth in link": (
        doc(links=[GOOD_LINKS[0], {"source": "h1", "target": "s0", "bandwidth": 0}]),
        ["links[1].bandwidth", "positive", "0"],
    ),
    "negative latency in link": (
        doc(links=[GOOD_LINKS[0], {"source": "h1", "target": "s0", "latency": "-1us"}]),
        ["links[1].latency", "'-1us'"],
    ),
    "bad default bandwidth": (doc(bandwidth="lots"), ["bandwidth", "'lots'"]),
    "bad default latency": (doc(latency=[1]), ["latency"]),
    "name not a string": (doc(name=3), ["name", "3"]),
    "disconnected": (doc(links=[GOOD_LINKS[0]]), ["not connected", "'h1'"]),
    "no hosts": (
        {"nodes": [{"id": "s0", "kind": "switch"}], "links": []},
        ["no host"],
    ),
    "no nodes": (doc(nodes=[], links=[]), ["no nodes"]),
}


def _write(tmp_path, name, data, suffix):
    path = tmp_path / f"{name.replace(' ', '_').replace(',', '')}{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        path.write_text(_to_toml(data))
    return path


def _toml_value(value):
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _to_toml(data):
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in data.items())


@pytest.mark.parametrize("suffix", [".json", ".toml"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_errors_name_file_and_entry(tmp_path, case, suffix):
    data, fragments = BROKEN[case]
    path = _write(tmp_path, case, data, suffix)
    with pytest.raises(TopologyError) as info:
        from_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_json_top_level_must_be_an_object(tmp_path):
    path = _write(tmp_path, "list", [1, 2], ".json")
    with pytest.raises(
        TopologyError, match=r"list\.json: top level: expected a table/object, got \[1, 2\]"
    ):
        from_file(path)


def test_the_unbroken_document_reads(tmp_path):
    for suffix in (".json", ".toml"):
        G = from_file(_write(tmp_path, "good", doc(), suffix))
        assert G.graph["hosts"] == ["h0", "h1"]


@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        ("bad.toml", "nodes = [", ["invalid TOML"]),
        ("bad.json", '{"nodes": [}', ["invalid JSON", "line 1"]),
        ("topo.yaml", "nodes: []", ["unknown topology file extension", "'.yaml'", ".toml, .json"]),
    ],
)
def test_unreadable_files(tmp_path, name, text, fragments):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TopologyError) as info:
        from_file(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(TopologyError, match="nowhere.toml: no such topology file"):
        from_file(path)
    with pytest.raises(TopologyError, match="no such topology file.*two_racks.toml"):
        from_file("no_such_topology")


def test_path_must_be_a_path():
    with pytest.raises(TopologyError, match="string or path"):
        from_file(42)


# --- round trip --------------------------------------------------------------


def _dump(G, path):
    nodes = [{"id": n, "kind": k} for n, k in G.nodes(data="kind")]
    links = [
        {"source": u, "target": v, "bandwidth": d["bandwidth"], "latency": d["latency"]}
        for u, v, d in G.edges(data=True)
    ]
    data = {"name": G.graph["name"], "nodes": nodes, "links": links}
    path.write_text(json.dumps(data) if path.suffix == ".json" else _to_toml(data))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 40),
    fanout=st.integers(2, 5),
    shape=st.sampled_from(["star", "tree"]),
    suffix=st.sampled_from([".json", ".toml"]),
)
def test_builder_graphs_round_trip_through_files(tmp_path, n, fanout, shape, suffix):
    G = (
        star(n, "25Gbps", "2us")
        if shape == "star"
        else tree(n, 1e9, 1e-6, fanout=fanout, oversubscription=3)
    )
    path = tmp_path / f"copy{suffix}"
    _dump(G, path)
    H = from_file(path)
    assert list(H.nodes(data="kind")) == list(G.nodes(data="kind"))
    assert H.graph["hosts"] == G.graph["hosts"]
    assert sorted(
        (tuple(sorted(e)), d["bandwidth"], d["latency"]) for *e, d in H.edges(data=True)
    ) == sorted((tuple(sorted(e)), d["bandwidth"], d["latency"]) for *e, d in G.edges(data=True))
