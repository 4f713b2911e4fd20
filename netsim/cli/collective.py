"""``netsim collective``: an nccl-tests-style microbenchmark of one or every algorithm.

For each message size it simulates one collective (size-only payloads) and prints the
simulated time, the closed-form prediction of REFERENCES §2 beside it, and the algorithm
and bus bandwidths of REFERENCES §3 (``algBw = n / t``; ``busBw = algBw × factor``).
"""

from __future__ import annotations

import math
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from netsim.cli import cli, fail
from netsim.exceptions import ScenarioError
from netsim.units import format_size, format_time, parse_size

__all__ = ["collective", "BUS_FACTORS", "parse_sizes", "collective_table"]


def _bus_factor(operation: str, p: int) -> float:
    if p <= 1:
        return 1.0
    return {
        "allreduce": 2 * (p - 1) / p,
        "reduce_scatter": (p - 1) / p,
        "all_gather": (p - 1) / p,
        "all_to_all": (p - 1) / p,
        "gather": (p - 1) / p,
        "scatter": (p - 1) / p,
    }.get(operation, 1.0)


BUS_FACTORS = _bus_factor
"""``BUS_FACTORS(operation, p)``: nccl-tests' bus-bandwidth factor (REFERENCES §3)."""


def parse_sizes(text: str, factor: float = 2.0) -> list[float]:
    """``"1KB:1GB"`` (geometric, × ``factor``, inclusive) or ``"1KB,64KB,1MB"`` -> bytes.

    Examples
    --------
    >>> parse_sizes("1KiB:8KiB")
    [1024.0, 2048.0, 4096.0, 8192.0]
    >>> parse_sizes("1KB,1MB")
    [1000.0, 1000000.0]
    """
    if ":" in text:
        low_text, _, high_text = text.partition(":")
        low, high = parse_size(low_text, "--sizes"), parse_size(high_text, "--sizes")
        if low <= 0 or high < low:
            raise ScenarioError(f"--sizes: expected LOW:HIGH with 0 < LOW <= HIGH, got {text!r}")
        if factor <= 1:
            raise ScenarioError(f"--factor must be greater than 1, got {factor}")
        sizes, size = [], low
        while size <= high * (1 + 1e-12):
            sizes.append(size)
            size *= factor
        return sizes
    sizes = [parse_size(part.strip(), "--sizes") for part in text.split(",") if part.strip()]
    if not sizes or any(s <= 0 for s in sizes):
        raise ScenarioError(f"--sizes: expected positive sizes such as 1KB:1GB or 1KB,1MB, got {text!r}")
    return sizes


def _transport(name: str, mtu: str | None):
    """The transport profile of ``--transport`` / ``--mtu``, errors naming the options."""
    from netsim.transport import make_transport

    overrides = {} if mtu is None else {"mtu": mtu}
    try:
        return make_transport(name, **overrides)
    except ScenarioError as exc:
        message = str(exc).replace("network.transport", "--transport").replace("network.mtu", "--mtu")
        raise ScenarioError(message) from None


_INTERNAL_OPTIONS = {
    "server": "the run puts the servers on the last host(s); choose how many with servers",
    "on_server": "a callback used by training runs",
}


def _check_options(options: dict, hosts: int) -> None:
    """Refuse ``--opt`` values the algorithms would reject mid-run (or silently misread).

    ``chunks`` and ``group_size``: integers >= 1; ``servers``: an integer from 1 to
    ``hosts - 1`` (``hosts`` when ``colocated``); ``colocated``: true or false; ``root``: a
    rank, 0 to ``hosts - 1``. ``server`` and ``on_server`` are set by the run itself.
    """

    def integer(key: str, low: int, high: int | None = None) -> None:
        value = options[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise ScenarioError(f"--opt {key}: must be an integer {bound}, got {value!r}")

    for key in options:
        if key in _INTERNAL_OPTIONS:
            raise ScenarioError(f"--opt {key}: not accepted here ({_INTERNAL_OPTIONS[key]})")
    if "chunks" in options:
        integer("chunks", 1, 1_000_000)
    if "group_size" in options:
        integer("group_size", 1)
    colocated = options.get("colocated", False)
    if not isinstance(colocated, bool):
        raise ScenarioError(f"--opt colocated: must be true or false, got {colocated!r}")
    if "servers" in options:
        integer("servers", 1, hosts if colocated else hosts - 1)
    if "root" in options:
        integer("root", 0, hosts - 1)


def collective_table(graph, algorithms: list, sizes: list[float], model: str, options: dict, transport=None) -> list[dict]:
    """Simulate every algorithm at every size; one row per (algorithm, size).

    ``transport`` is a :class:`~netsim.transport.TransportProfile` (default ideal); the
    predicted (alpha-beta) time is given only for the fluid models with the ideal profile.
    Rows hold ``algorithm, operation, ranks, size_bytes, time_s, predicted_s`` (or NaN),
    ``error`` (relative), ``alg_bw`` and ``bus_bw`` (bytes/s).
    """
    from netsim.collectives import simulate_collective

    hosts = list(graph.graph["hosts"])
    closed_form = model != "packet" and (transport is None or transport.name == "ideal")
    rows = []
    for algo in algorithms:
        accepted = {k: v for k, v in options.items() if k in algo.options}
        servers = int(accepted.get("servers", 1)) if algo.kind == "parameter_server" else 0
        colocated = bool(accepted.get("colocated", False))
        workers = len(hosts) - (0 if colocated else servers)
        alpha, beta = _alpha_beta(graph, hosts, workers, servers, colocated)
        # The closed form of the configuration that runs (a sharded PS's predict alone
        # defaults to the REFERENCES case, s = p co-located; the run to one dedicated server).
        placed = dict(accepted)
        if "servers" in algo.options:
            placed.setdefault("servers", servers)
            placed.setdefault("colocated", colocated)
        for size in sizes:
            run = simulate_collective(graph, algo.name, nbytes=size, model=model, transport=transport, **accepted)
            predicted = _predict(algo, workers, size, alpha, beta, placed) if closed_form else None
            predicted = math.nan if predicted is None else float(predicted)
            alg_bw = size / run.time if run.time > 0 else math.inf
            rows.append(
                {
                    "algorithm": algo.name,
                    "operation": algo.operation,
                    "ranks": workers,
                    "size_bytes": size,
                    "time_s": run.time,
                    "predicted_s": predicted,
                    "error": (run.time - predicted) / predicted if predicted and predicted > 0 else math.nan,
                    "alg_bw": alg_bw,
                    "bus_bw": alg_bw * _bus_factor(algo.operation, workers),
                }
            )
    return rows


def _predict(algo, workers: int, size: float, alpha: float, beta: float, options: dict) -> float | None:
    """The algorithm's closed form, given the options its ``predict`` accepts (e.g. ``servers``)."""
    import inspect

    if algo.predict is None:
        return None
    parameters = inspect.signature(algo.predict).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    extra = {k: v for k, v in options.items() if takes_any or k in parameters}
    return algo.predict(workers, size, alpha, beta, **extra)


def _alpha_beta(graph, hosts, workers, servers, colocated) -> tuple[float, float]:
    """Latency and inverse bandwidth of the route rank 0 -> rank 1 (or -> the server)."""
    from netsim.topology import Router

    if len(hosts) < 2 or workers < 1:
        return 0.0, 0.0
    target = hosts[-1] if servers and not colocated else hosts[1 if workers > 1 else 0]
    if target == hosts[0]:
        return 0.0, 0.0
    path = Router(graph).path(hosts[0], target)
    edges = [graph.edges[u, v] for u, v in zip(path, path[1:], strict=False)]
    return sum(e["latency"] for e in edges), 1.0 / min(e["bandwidth"] for e in edges)


@cli.command()
@click.option("--algorithm", "-a", default="ring_allreduce", show_default=True, help="Algorithm name, or 'all' for every algorithm of --operation.")
@click.option("--operation", default="allreduce", show_default=True, help="Operation compared by --algorithm all.")
@click.option("--topology", "kind", default="star", show_default=True, help="star, ring, tree, dumbbell, fat_tree, torus, gpu_cluster, multi_dc, edge.")
@click.option("--hosts", default=16, show_default=True, type=int)
@click.option("--bandwidth", default="100Gbps", show_default=True)
@click.option("--latency", default="2us", show_default=True)
@click.option("--topo", "topo_opts", multiple=True, metavar="KEY=VALUE", help="Extra topology option, e.g. --topo fanout=4 --topo oversubscription=2.")
@click.option("--sizes", default="1KB:1GB", show_default=True, help="LOW:HIGH (geometric) or a comma list.")
@click.option("--factor", default=2.0, show_default=True, help="Step of a LOW:HIGH size range.")
@click.option("--model", default="flow", show_default=True, help="Network model: flow, analytic, packet.")
@click.option("--transport", default="ideal", show_default=True, help="Transport profile (netsim list transports).")
@click.option("--mtu", default=None, help="IP MTU of the transport, e.g. 1500 or 9000 (frames of the packet model).")
@click.option("--opt", "algo_opts", multiple=True, metavar="KEY=VALUE", help="Algorithm option, e.g. --opt chunks=8 --opt root=0.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), help="Draw busBw vs size to this PNG/SVG/PDF.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the table as CSV.")
def collective(kind, hosts, bandwidth, latency, topo_opts, sizes, factor, model, transport, mtu, algorithm, operation, algo_opts, plot_path, csv_path):
    """Microbenchmark collectives like nccl-tests: time, algBw, busBw and the closed form."""
    from netsim.collectives import OPERATIONS, algorithms, get_algorithm
    from netsim.network import (
        NETWORK_MODELS,
        make_network,  # noqa: F401  (validates the model name below)
    )
    from netsim.plots.style import FORMATS
    from netsim.scenario import parse_override
    from netsim.topology import build_topology
    from netsim.topology.registry import SCENARIO_KEYS

    if plot_path is not None and plot_path.suffix.lower() not in FORMATS:
        raise ScenarioError(f"--plot: cannot draw {plot_path.name!r}: use a name ending in {', '.join(FORMATS)}")
    if model not in NETWORK_MODELS:
        raise ScenarioError(f"--model: unknown network model {model!r}; accepted: {', '.join(sorted(NETWORK_MODELS))}")
    if operation not in OPERATIONS:
        raise ScenarioError(f"--operation: unknown operation {operation!r}; accepted: {', '.join(OPERATIONS)}")
    chosen = list(algorithms(operation).values()) if algorithm == "all" else [get_algorithm(algorithm, field="--algorithm")]
    params = dict(parse_override(o) for o in topo_opts)
    common = {"hosts": hosts, "bandwidth": bandwidth, "latency": latency}
    if kind == "multi_dc":  # each datacenter: --topo datacenter={...}, or a star of --hosts / datacenters
        if "datacenter" in params:
            _refuse_unused(kind, ["hosts"])
        params["datacenter"] = _datacenter(params, hosts, bandwidth, latency)
        common = {}
    elif kind in SCENARIO_KEYS:  # preset kinds (gpu_cluster, edge) take their own keys
        _refuse_unused(kind, [key for key in common if key not in SCENARIO_KEYS[kind]])
        common = {key: value for key, value in common.items() if key in SCENARIO_KEYS[kind]}
        if "nodes" in params and _default("hosts"):  # --topo nodes=4 sizes the cluster; the default --hosts must not
            common.pop("hosts", None)
    graph = build_topology(kind, **{**common, **params})
    options = dict(parse_override(o) for o in algo_opts)
    unused = [k for k in options if not any(k in a.options for a in chosen)]
    if unused:
        names = ", ".join(a.name for a in chosen) if len(chosen) < 4 else f"the {operation} algorithms"
        raise ScenarioError(f"--opt {unused[0]}: no option of {names}")
    _check_options(options, len(graph.graph["hosts"]))
    profile = _transport(transport, mtu)
    rows = collective_table(graph, chosen, parse_sizes(sizes, factor), model, options, profile)
    shown = ", ".join(str(v) for v in (f"{len(graph.graph['hosts'])} hosts", common.get("bandwidth"), common.get("latency")) if v)
    title = f"{kind}, {shown}, {model} model"
    if profile.name != "ideal" or mtu is not None:
        title += f", {profile.name} transport" + (f" (MTU {profile.mtu})" if mtu is not None else "")
    if kind in SCENARIO_KEYS:  # links of several speeds: one alpha and beta would mislead
        for row in rows:
            row["predicted_s"] = row["error"] = math.nan
        title += " (no single alpha-beta closed form on a preset kind: predicted not shown)"
    _print(rows, title)
    if csv_path is not None:
        import pandas as pd

        from netsim.results import atomic_write_text

        try:
            atomic_write_text(csv_path, pd.DataFrame(rows).to_csv(index=False, float_format="%.17g"))
        except OSError as exc:
            fail(f"cannot write {str(csv_path)!r}: {exc.strerror or exc}")
    if plot_path is not None:
        _plot(rows, plot_path, f"{kind}, {hosts} hosts, {bandwidth}")


def _default(name: str) -> bool:
    """Whether option ``name`` of the running command kept its default (was not given)."""
    from click.core import ParameterSource

    return click.get_current_context().get_parameter_source(name) in (ParameterSource.DEFAULT, None)


def _refuse_unused(kind: str, names: list[str]) -> None:
    """Refuse --hosts / --bandwidth / --latency given on the command line where ``kind`` ignores them."""
    from netsim.topology.registry import SCENARIO_KEYS

    given = [n for n in names if not _default(n)]
    if given:
        keys = ", ".join(SCENARIO_KEYS[kind])
        raise ScenarioError(f"--{given[0]} does not apply to --topology {kind}; give its own keys with --topo KEY=VALUE: {keys}")


def _datacenter(params: dict, hosts: int, bandwidth: str, latency: str):
    """The datacenter topology of ``--topology multi_dc``: ``--topo datacenter={kind = ..., ...}``
    (``--bandwidth`` and ``--latency`` fill its missing ``bandwidth`` and ``latency``) or, by default,
    a star of ``--hosts / datacenters`` hosts with ``--bandwidth`` and ``--latency``."""
    from netsim.topology import build_topology

    table = params.pop("datacenter", None)
    if table is None:
        count = params.get("datacenters", 2)
        if not isinstance(count, int) or isinstance(count, bool) or count < 2:
            raise ScenarioError(f"--topo datacenters: expected a whole number >= 2, got {count!r}")
        if hosts % count:
            raise ScenarioError(
                f"--hosts: {hosts} hosts do not split into {count} datacenters (each a star of --hosts / datacenters hosts); "
                "use a multiple, or --topo 'datacenter={kind = \"star\", hosts = 4, bandwidth = \"100Gbps\"}'"
            )
        return build_topology("star", hosts=hosts // count, bandwidth=bandwidth, latency=latency)
    if not isinstance(table, dict):
        raise ScenarioError(f"--topo datacenter: expected a table such as {{kind = \"star\", hosts = 4, bandwidth = \"100Gbps\"}}, got {table!r}")
    table = dict(table)
    inner = table.pop("kind", "star")
    if inner in ("multi_dc", "edge"):
        raise ScenarioError(f"--topo datacenter: kind = {inner!r} is not accepted inside a datacenter")
    if inner not in ("gpu_cluster", "file"):
        table = {"bandwidth": bandwidth, "latency": latency, **table}
    return build_topology(inner, **table)


def _print(rows: list[dict], title: str) -> None:
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    for column in ("algorithm", "size", "time", "predicted", "error", "algBw GB/s", "busBw GB/s"):
        table.add_column(column, justify="right" if column != "algorithm" else "left", no_wrap=True)
    for row in rows:
        predicted = row["predicted_s"]
        table.add_row(
            row["algorithm"],
            format_size(row["size_bytes"], 4).replace(" ", ""),
            format_time(row["time_s"], 5).replace(" ", ""),
            "-" if math.isnan(predicted) else format_time(predicted, 5).replace(" ", ""),
            "-" if math.isnan(row["error"]) else f"{row['error']:+.2e}",
            f"{row['alg_bw'] / 1e9:.3f}",
            f"{row['bus_bw'] / 1e9:.3f}",
        )
    console = Console(highlight=False)
    console.width = max(console.width, 100)
    console.print(table)


def _plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    names = list(dict.fromkeys(r["algorithm"] for r in rows))
    markers, styles = "os^Dvx+P*", ("-", "--", ":", "-.")
    for i, name in enumerate(names):  # marker and dash vary so that coinciding curves stay visible
        mine = [r for r in rows if r["algorithm"] == name]
        ax.plot(
            [r["size_bytes"] for r in mine],
            [r["bus_bw"] / 1e9 for r in mine],
            marker=markers[i % len(markers)],
            linestyle=styles[i % len(styles)],
            ms=4,
            label=name,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.set_title(f"busBw vs size — {title}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    from netsim.plots.style import save_figure

    try:
        save_figure(fig, path, dpi=130)  # atomic: a half-written figure never replaces a good one
    except OSError as exc:
        fail(f"cannot write {str(path)!r}: {exc.strerror or exc}")
    finally:
        plt.close(fig)
