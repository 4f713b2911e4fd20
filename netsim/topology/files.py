"""Read topologies from node-link files (TOML or JSON).

The format, by example (TOML; JSON has the same keys)::

    name = "two_racks"                       # optional, default: the file's stem
    description = "2 racks of 4 hosts"       # optional
    bandwidth = "100Gbps"                    # optional default for links
    latency = "1us"                          # optional default for links

    nodes = [
        {id = "gpu0", kind = "host"},        # hosts take ranks in file order
        {id = "tor0", kind = "switch"},
    ]
    links = [
        {source = "gpu0", target = "tor0"},  # uses the defaults above
        {source = "tor0", target = "spine", bandwidth = "400Gbps", latency = "2us"},
    ]

Node ids are strings (or integers). Bandwidths are per direction (links are full
duplex) and latencies one way; both accept unit strings or numbers in bytes/s and
seconds. Bundled examples live in the top-level ``topologies/`` folder
(:data:`TOPOLOGY_DIR`).
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from pathlib import Path

import networkx as nx

from netsim.exceptions import ScenarioError, TopologyError
from netsim.topology.validate import KINDS, validate_topology
from netsim.units import parse_bandwidth, parse_time

__all__ = ["from_file", "resolve_topology_path", "bundled_topologies", "TOPOLOGY_DIR", "SUFFIXES"]

#: Folder of the bundled topology files (top-level ``topologies/`` of the source tree).
TOPOLOGY_DIR = Path(__file__).resolve().parents[2] / "topologies"

#: Accepted file extensions.
SUFFIXES = (".toml", ".json")

_TOP_KEYS = ("name", "description", "bandwidth", "latency", "nodes", "links")
_NODE_KEYS = ("id", "kind")
_LINK_KEYS = ("source", "target", "bandwidth", "latency")


def bundled_topologies() -> list[str]:
    """Return the file names in :data:`TOPOLOGY_DIR`, sorted.

    Examples
    --------
    >>> "two_racks.toml" in bundled_topologies()
    True
    """
    if not TOPOLOGY_DIR.is_dir():
        return []
    return sorted(p.name for p in TOPOLOGY_DIR.iterdir() if p.suffix in SUFFIXES)


def resolve_topology_path(path: str | os.PathLike) -> Path:
    """Return the file that ``path`` names.

    An existing path is returned as is. A relative path that does not exist is looked
    up in :data:`TOPOLOGY_DIR`, also with the extensions ``.toml`` and ``.json``
    appended, so ``"two_racks"`` finds the bundled ``two_racks.toml``.

    Raises
    ------
    TopologyError
        If ``path`` is not a string or path, or no such file exists.
    """
    if not isinstance(path, str | os.PathLike):
        raise TopologyError(f"a topology file path must be a string or path, got {path!r}")
    given = Path(path)
    if given.is_file():
        return given
    if not given.is_absolute():
        base = TOPOLOGY_DIR / given
        candidates = [base]
        if given.suffix not in SUFFIXES:
            candidates += [base.with_name(base.name + suffix) for suffix in SUFFIXES]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
    raise TopologyError(
        f"{given}: no such topology file (also looked in {TOPOLOGY_DIR}; bundled: "
        f"{', '.join(bundled_topologies()) or 'none'})"
    )


def from_file(path: str | os.PathLike) -> nx.Graph:
    """Read a topology from a TOML or JSON node-link file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; ``.toml`` or ``.json`` by extension. A relative path that does not
        exist is looked up among the bundled files (see :func:`resolve_topology_path`).

    Returns
    -------
    networkx.Graph
        The validated topology. Hosts keep the file's ids and take ranks in file
        order (``G.graph["hosts"]``); ``G.graph`` also holds ``name`` (default: the
        file's stem), ``description`` and ``source`` (the path read).

    Raises
    ------
    TopologyError
        For every problem, naming the file and, where it applies, the node or link
        index (``nodes[3]``, ``links[0].bandwidth``): unreadable file, bad syntax,
        unknown extension or key, missing field, unknown kind, duplicate node or
        link, link to an unknown node, self-loop, bad unit or non-positive
        bandwidth, and any :func:`validate_topology` failure (e.g. disconnected).

    Examples
    --------
    >>> G = from_file("two_racks")
    >>> G.graph["name"], len(G.graph["hosts"]), G.graph["hosts"][:2]
    ('two_racks', 8, ['gpu0', 'gpu1'])
    """
    file = resolve_topology_path(path)
    data = _load(file)
    try:
        G = _build(data)
        G.graph.setdefault("name", file.stem)
        G.graph["source"] = str(file)
        return validate_topology(G)
    except TopologyError as err:
        raise TopologyError(f"{file}: {err}") from err


def _load(file: Path) -> object:
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        raise TopologyError(
            f"{file}: unknown topology file extension {file.suffix!r}; accepted: .toml, .json"
        )
    try:
        if suffix == ".toml":
            with file.open("rb") as handle:
                return tomllib.load(handle)
        with file.open(encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as err:
        raise TopologyError(f"{file}: cannot read topology file: {err.strerror or err}") from err
    except ValueError as err:  # TOMLDecodeError, JSONDecodeError, UnicodeDecodeError, huge integers
        raise TopologyError(f"{file}: invalid {suffix[1:].upper()}: {err}") from err
    except RecursionError:
        raise TopologyError(f"{file}: invalid {suffix[1:].upper()}: nested too deeply to read") from None


def _hint(word: object, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(where: str, entry: dict, accepted: tuple[str, ...]) -> None:
    for key in entry:
        if key not in accepted:
            raise TopologyError(
                f"{where}unknown key {key!r}{_hint(key, accepted)}; accepted: {', '.join(accepted)}"
            )


def _table(where: str, entry: object) -> dict:
    if not isinstance(entry, dict):
        raise TopologyError(f"{where}: expected a table/object, got {entry!r}")
    return entry


def _list(where: str, value: object) -> list:
    if not isinstance(value, list):
        raise TopologyError(f"{where}: expected a list, got {value!r}")
    return value


def _quantity(field: str, value: object, parse, positive: bool) -> float:
    try:
        result = parse(value, field=field)
    except ScenarioError as err:
        raise TopologyError(str(err)) from err
    if positive and result <= 0:
        raise TopologyError(f"{field}: must be positive, got {value!r}")
    return result


def _node_id(where: str, entry: dict) -> object:
    if "id" not in entry:
        raise TopologyError(f"{where}: missing 'id'")
    node = entry["id"]
    if isinstance(node, bool) or not isinstance(node, str | int) or node == "":
        raise TopologyError(f"{where}: id must be a non-empty string or an integer, got {node!r}")
    return node


def _build(data: object) -> nx.Graph:
    top = _table("top level", data)
    _check_keys("top level: ", top, _TOP_KEYS)
    G = nx.Graph()
    for key in ("name", "description"):
        if key in top:
            if not isinstance(top[key], str):
                raise TopologyError(f"{key}: expected a string, got {top[key]!r}")
            G.graph[key] = top[key]
    G.graph.setdefault("description", "")
    default_bw = (
        _quantity("bandwidth", top["bandwidth"], parse_bandwidth, True)
        if "bandwidth" in top
        else None
    )
    default_lat = (
        _quantity("latency", top["latency"], parse_time, False) if "latency" in top else None
    )

    if "nodes" not in top:
        raise TopologyError("missing 'nodes' (a list of {id, kind} tables)")
    first_seen: dict[object, int] = {}
    ranks = []
    for i, raw in enumerate(_list("nodes", top["nodes"])):
        where = f"nodes[{i}]"
        entry = _table(where, raw)
        _check_keys(f"{where}: ", entry, _NODE_KEYS)
        node = _node_id(where, entry)
        where = f"nodes[{i}] (id {node!r})"
        if node in first_seen:
            raise TopologyError(
                f"{where}: duplicate node id, first defined at nodes[{first_seen[node]}]"
            )
        if "kind" not in entry:
            raise TopologyError(f"{where}: missing 'kind'; accepted kinds: 'host', 'switch'")
        kind = entry["kind"]
        if kind not in KINDS:
            raise TopologyError(
                f"{where}: unknown kind {kind!r}{_hint(kind, KINDS)}; accepted kinds: 'host', 'switch'"
            )
        first_seen[node] = i
        G.add_node(node, kind=kind)
        if kind == "host":
            ranks.append(node)
    G.graph["hosts"] = ranks

    link_seen: dict[frozenset, int] = {}
    for i, raw in enumerate(_list("links", top.get("links", []))):
        where = f"links[{i}]"
        entry = _table(where, raw)
        _check_keys(f"{where}: ", entry, _LINK_KEYS)
        ends = []
        for end in ("source", "target"):
            if end not in entry:
                raise TopologyError(f"{where}: missing {end!r}")
            node = entry[end]
            if isinstance(node, bool) or not isinstance(node, str | int) or node not in first_seen:
                raise TopologyError(
                    f"{where}: {end} {node!r} is not a node{_hint(node, first_seen)}"
                )
            ends.append(node)
        u, v = ends
        if u == v:
            raise TopologyError(f"{where}: self-loop on node {u!r}")
        pair = frozenset(ends)
        if pair in link_seen:
            raise TopologyError(
                f"{where}: duplicate link {u!r} -- {v!r}, first defined at links[{link_seen[pair]}]"
            )
        link_seen[pair] = i
        values = {}
        for key, parse, positive, default in (
            ("bandwidth", parse_bandwidth, True, default_bw),
            ("latency", parse_time, False, default_lat),
        ):
            if key in entry:
                values[key] = _quantity(f"{where}.{key}", entry[key], parse, positive)
            elif default is not None:
                values[key] = default
            else:
                raise TopologyError(f"{where}: missing {key!r} and no top-level default {key!r}")
        G.add_edge(u, v, **values)
    return G
