"""Scenario files: the validated description of one simulation.

A scenario is a TOML document with the tables ``[topology]``, ``[network]``,
``[communication]``, ``[training]``, ``[compute]`` and ``[run]`` (guards: ``max_sim_time``,
``max_wall_time``) plus top-level ``name``, ``description`` and ``seed``. Values with
units are strings (``"100Gbps"``, ``"2us"``) or numbers in SI base units; after validation every quantity is a float in bytes,
bytes/s or seconds. Unknown keys are rejected with a close-match hint, and every error
is a :class:`~netsim.exceptions.ScenarioError` naming the field, the value and what is
accepted.

Examples
--------
>>> s = scenario_from_dict({"topology": {"kind": "ring", "hosts": 4, "bandwidth": "10Gbps"}})
>>> s.topology.bandwidth
1250000000.0
>>> apply_overrides({"a": {"b": 1}}, ["a.b=2", "a.c='x'"])
{'a': {'b': 2, 'c': 'x'}}
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from netsim.exceptions import ScenarioError
from netsim.faults.spec import FaultSpec, check_faults, parse_faults
from netsim.units import parse_bandwidth, parse_flops, parse_size, parse_time
from netsim.workload.spec import ParallelSpec, WorkloadSpec, check_llm_scenario

__all__ = [
    "Scenario",
    "TopologySpec",
    "NetworkSpec",
    "CommunicationSpec",
    "TrainingSpec",
    "ComputeSpec",
    "RunSpec",
    "load_scenario",
    "scenario_from_dict",
    "apply_overrides",
    "parse_override",
]


MAX_TIME = 1e12
"""Longest accepted time (s, about 31,700 years): sums of simulated times stay far from overflow."""

MIN_BANDWIDTH = 0.125
"""Smallest accepted bandwidth (bytes/s, 1 bit/s): transfer times stay finite."""

MIN_FLOPS = 1.0
"""Smallest accepted compute rate (FLOP/s): compute times stay finite."""

MAX_HOSTS = 100_000
"""Most hosts a topology may have (a 100,000-host star takes about a second to build)."""

MAX_VALUES = 10**8
"""Most float64 values of the dataset (samples × features) and of the model (parameters): 800 MB."""

MAX_REPLICA_VALUES = 10**9
"""Most values of all workers' model replicas together (workers × parameters): 8 GB."""


def _positive(parse, minimum: float = 0.0, maximum: float = math.inf, limit: str = ""):
    def check(value: Any) -> float:
        number = parse(value)
        if number <= 0:
            raise ValueError(f"must be positive, got {_short(value)}")
        if not minimum <= number <= maximum:
            raise ValueError(f"must be {limit}, got {_short(value)}")
        return number

    return check


def _at_most_time(value: Any) -> float:
    number = parse_time(value)
    if number > MAX_TIME:
        raise ValueError(f"must be at most {MAX_TIME:g} s, got {_short(value)}")
    return number


Bandwidth = Annotated[float, BeforeValidator(_positive(parse_bandwidth, minimum=MIN_BANDWIDTH, limit="at least 1 bit/s (0.125 bytes/s)"))]
Latency = Annotated[float, BeforeValidator(_at_most_time)]
PositiveTime = Annotated[float, BeforeValidator(_positive(parse_time, maximum=MAX_TIME, limit=f"at most {MAX_TIME:g} s"))]
Flops = Annotated[float, BeforeValidator(_positive(parse_flops, minimum=MIN_FLOPS, limit="at least 1 FLOP/s"))]
Size = Annotated[float, BeforeValidator(parse_size)]


def _registry_names(kind: str) -> list[str]:
    if kind == "topology":
        from netsim.topology import TOPOLOGIES

        return sorted(TOPOLOGIES)
    if kind == "network":
        from netsim.network import NETWORK_MODELS

        return sorted(NETWORK_MODELS)
    if kind == "algorithm":
        from netsim.collectives import algorithm_names

        return algorithm_names("allreduce")
    if kind == "model":
        from netsim.training import MODELS

        return sorted(MODELS)
    if kind == "dataset":
        from netsim.training import DATASETS

        return sorted(DATASETS)
    if kind == "optimizer":
        from netsim.training import OPTIMIZERS

        return sorted(OPTIMIZERS)
    if kind == "sharding":
        from netsim.training import SHARDING_METHODS

        return list(SHARDING_METHODS)
    if kind == "schedule":
        from netsim.training.schedules import SCHEDULES

        return list(SCHEDULES)
    raise KeyError(kind)


def _one_of(kind: str):
    def check(value: Any) -> str:
        names = _registry_names(kind)
        if not isinstance(value, str) or value not in names:
            hint = _did_you_mean(str(value), names)
            raise ValueError(f"{_short(value) or type(value).__name__} is not accepted{hint}; accepted: {', '.join(names)}")
        return value

    return check


def _choice(*names: str):
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in names:
            hint = _did_you_mean(str(value), list(names))
            raise ValueError(f"{_short(value) or type(value).__name__} is not accepted{hint}; accepted: {', '.join(names)}")
        return value

    return check


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_KIND_ONLY_KEYS = {
    "tree": ("fanout", "hosts_per_leaf", "level_bandwidth", "oversubscription", "level_latency"),
    "dumbbell": ("bottleneck_bandwidth", "bottleneck_latency"),
    "file": ("path",),
    "fat_tree": ("k",),
    "torus": ("dims",),
    "gpu_cluster": (
        "nodes", "gpus_per_node", "node_type", "fabric", "nvlink_bandwidth", "nvlink_latency",
        "pcie_bandwidth", "pcie_latency", "nics_per_node", "nic_bandwidth", "nic_latency",
        "fabric_latency", "nodes_per_leaf", "spines", "oversubscription",
    ),
    "multi_dc": ("datacenters", "wan_bandwidth", "distance_km", "wan_latency", "datacenter"),
    "edge": (
        "devices", "access", "uplink", "downlink", "radio_latency", "jitter", "loss", "jitter_seed",
        "edge_bandwidth", "edge_latency", "cloud", "cloud_bandwidth", "cloud_latency", "server",
    ),
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class TopologySpec(_Spec):
    """``[topology]``: which graph to build and its links.

    ``kind``: star | ring | tree | dumbbell | fat_tree | torus | file. ``hosts``: number of hosts (all
    kinds but ``file``). ``bandwidth`` (bytes/s) and ``latency`` (s): host links (every
    link unless a per-level value says otherwise). Tree only: ``fanout``,
    ``hosts_per_leaf``, ``level_bandwidth``, ``oversubscription``, ``level_latency``.
    Dumbbell only: ``bottleneck_bandwidth``, ``bottleneck_latency`` (hosts split evenly
    between the two sides). File only: ``path`` (relative to the scenario file).
    ``routing``: shortest | ecmp (ECMP choices seeded from the scenario seed).
    ``gpu_cluster``, ``multi_dc`` (with a nested ``datacenter`` table) and ``edge`` take
    their own keys instead of ``bandwidth``/``latency`` (docs/clusters.md).
    """

    kind: Annotated[str, BeforeValidator(_one_of("topology"))] = "star"
    hosts: int | None = Field(default=None, ge=1, le=MAX_HOSTS)
    bandwidth: Bandwidth = 1.25e9
    latency: Latency = 1e-6
    fanout: int | None = Field(default=None, ge=2)
    hosts_per_leaf: int | None = Field(default=None, ge=1)
    level_bandwidth: list[Bandwidth] | None = None
    oversubscription: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    level_latency: list[Latency] | None = None
    bottleneck_bandwidth: Bandwidth | None = None
    bottleneck_latency: Latency | None = None
    path: str | None = None
    k: int | None = Field(default=None, ge=2, le=64)
    dims: list[int] | None = None
    routing: Annotated[str, BeforeValidator(_choice("shortest", "ecmp"))] = "shortest"
    # gpu_cluster (netsim.topology.gpu_cluster; presets node_type, fabric)
    nodes: int | None = Field(default=None, ge=1, le=MAX_HOSTS)
    gpus_per_node: int | None = Field(default=None, ge=1, le=MAX_HOSTS)
    node_type: str | None = None
    fabric: str | None = None
    nvlink_bandwidth: Bandwidth | None = None
    nvlink_latency: Latency | None = None
    pcie_bandwidth: Bandwidth | None = None
    pcie_latency: Latency | None = None
    nics_per_node: int | None = Field(default=None, ge=1)
    nic_bandwidth: Bandwidth | None = None
    nic_latency: Latency | None = None
    fabric_latency: Latency | None = None
    nodes_per_leaf: int | None = Field(default=None, ge=1)
    spines: int | None = Field(default=None, ge=1, le=MAX_HOSTS)
    # multi_dc (netsim.topology.multi_dc): the datacenters are [topology.datacenter]
    datacenters: int | None = Field(default=None, ge=2, le=1000)
    wan_bandwidth: Bandwidth | None = None
    distance_km: float | list[list[float]] | None = None
    wan_latency: Latency | None = None
    datacenter: TopologySpec | None = None
    # edge (netsim.topology.edge; preset access)
    devices: int | None = Field(default=None, ge=1, le=MAX_HOSTS)
    access: str | None = None
    uplink: Bandwidth | None = None
    downlink: Bandwidth | None = None
    radio_latency: Latency | None = None
    jitter: Latency | None = None
    loss: float | None = Field(default=None, ge=0, lt=1)
    jitter_seed: int | None = Field(default=None, ge=0, lt=2**63)
    edge_bandwidth: Bandwidth | None = None
    edge_latency: Latency | None = None
    cloud: bool | None = None
    cloud_bandwidth: Bandwidth | None = None
    cloud_latency: Latency | None = None
    server: Annotated[str, BeforeValidator(_choice("edge", "cloud"))] | None = None

    @model_validator(mode="after")
    def _kind_specific(self) -> TopologySpec:
        for keys in _KIND_ONLY_KEYS.values():
            for key in keys:
                owners = [kind for kind, names in _KIND_ONLY_KEYS.items() if key in names]
                if self.kind not in owners and getattr(self, key) is not None:
                    raise ValueError(f"topology.{key} applies only to kind = {' or '.join(map(repr, owners))}, not {self.kind!r}")
        if self.kind in ("gpu_cluster", "multi_dc", "edge"):
            return self._check_own_keys()
        if self.kind == "file":
            if self.path is None:
                raise ValueError("topology.path is required when kind = 'file'")
            if self.hosts is not None:
                raise ValueError("topology.hosts does not apply to kind = 'file' (the file lists its hosts)")
        elif self.hosts is None:
            raise ValueError(f"topology.hosts is required for kind = {self.kind!r}")
        if self.kind == "dumbbell" and self.hosts is not None and self.hosts < 2:
            raise ValueError("topology.hosts must be at least 2 for a dumbbell")
        return self

    def _check_own_keys(self) -> TopologySpec:
        """Checks of the kinds that take their own keys (netsim.topology.registry.SCENARIO_KEYS)."""
        from netsim.topology import ACCESS_PRESETS, FABRICS, NODE_TYPES

        instead = {"gpu_cluster": "nic_bandwidth, nvlink_bandwidth", "multi_dc": "wan_bandwidth, or set them in [topology.datacenter]", "edge": "uplink, downlink, radio_latency"}
        for key in ("bandwidth", "latency"):
            if key in self.model_fields_set:
                raise ValueError(f"topology.{key} does not apply to kind = {self.kind!r} (use {instead[self.kind]})")
        for key, presets in (("node_type", NODE_TYPES), ("fabric", FABRICS), ("access", ACCESS_PRESETS)):
            value = getattr(self, key)
            if value is not None and value not in presets:
                raise ValueError(f"topology.{key}: {_short(value)} is not accepted{_did_you_mean(str(value), list(presets))}; accepted: {', '.join(presets)}")
        if self.kind == "gpu_cluster" and self.nodes is None and self.hosts is None:
            raise ValueError("topology.nodes (servers) or topology.hosts (GPUs) is required for kind = 'gpu_cluster'")
        if self.kind != "gpu_cluster" and self.hosts is not None:
            where = "topology.datacenter.hosts" if self.kind == "multi_dc" else "topology.devices"
            raise ValueError(f"topology.hosts does not apply to kind = {self.kind!r} (set {where})")
        if self.kind == "multi_dc":
            if self.datacenter is None:
                raise ValueError("a [topology.datacenter] table (the topology of each datacenter) is required for kind = 'multi_dc'")
            if self.datacenter.kind in ("multi_dc", "edge"):
                raise ValueError(f"topology.datacenter.kind = {self.datacenter.kind!r} is not accepted inside a datacenter")
            if "routing" in self.datacenter.model_fields_set:
                raise ValueError("topology.datacenter.routing does not apply (set topology.routing for the whole network)")
            if (self.distance_km is None) == (self.wan_latency is None):
                both = "both are set, keep one" if self.distance_km is not None else "neither is set"
                raise ValueError(f"kind = 'multi_dc' needs topology.distance_km or topology.wan_latency, not both ({both})")
        if self.kind == "edge":
            if self.devices is None:
                raise ValueError("topology.devices is required for kind = 'edge'")
            if self.routing != "shortest":
                raise ValueError("topology.routing must be 'shortest' for kind = 'edge' (its one-way radio paths rely on the shortest-path tie-break)")
        return self


def _transport_name(value: Any) -> Any:
    from netsim.transport import canonical_name

    return canonical_name(value)  # checked (naming network.transport) when the profile is built


def _mtu(value: Any) -> int | None:
    from netsim.transport.registry import parse_option

    return None if value is None else parse_option("mtu", value)


def _probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"expected a probability 0 <= p < 1 (e.g. 0.001 for 0.1 %), got {_short(value) or type(value).__name__}")
    return float(value)


def _buffer(value: Any) -> int | None:
    if value is None:
        return None
    number = parse_size(value)
    if not 1 <= number < math.inf or number != math.floor(number):
        raise ValueError(f"expected a whole number of bytes >= 1 (e.g. \"64KiB\"), got {_short(value)}")
    return int(number)


class NetworkSpec(_Spec):
    """``[network]``: the network model and the transport protocol.

    ``model`` = flow (fluid max-min sharing, default) | analytic (alpha-beta) | any
    registered model (``netsim list models``). ``transport`` = ideal (default: no protocol
    cost) | tcp | udp | rocev2 | grpc | rest (``netsim list transports``); ``mtu``: IP MTU
    in bytes of every framed transport (default 1500). Option tables ``[network.tcp]``,
    ``[network.udp]``, ``[network.rocev2]``, ``[network.grpc]``, ``[network.rest]``,
    ``[network.ideal]`` tune each profile (grpc and rest also take ``[network.tcp]``); see
    :mod:`netsim.transport.tables`. ``loss_rate``: probability that a link loses a frame,
    ``0 <= p < 1`` (the fluid models charge its expected cost through the transport; the
    packet model draws it). ``buffer`` (bytes per switch port) and ``ecn`` (bool) are for
    the packet model; the fluid models, which have no queues, ignore them.
    """

    model: Annotated[str, BeforeValidator(_one_of("network"))] = "flow"
    transport: Annotated[str, BeforeValidator(_transport_name)] = "ideal"
    mtu: Annotated[int | None, BeforeValidator(_mtu)] = None
    loss_rate: Annotated[float, BeforeValidator(_probability)] = 0.0
    buffer: Annotated[int | None, BeforeValidator(_buffer)] = None
    ecn: bool = False
    ideal: dict[str, Any] | None = None
    tcp: dict[str, Any] | None = None
    udp: dict[str, Any] | None = None
    rocev2: dict[str, Any] | None = None
    grpc: dict[str, Any] | None = None
    rest: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _transport_builds(self) -> NetworkSpec:
        self.build_transport()
        return self

    def transport_tables(self) -> dict[str, dict]:
        """The ``[network.<profile>]`` tables that are given."""
        from netsim.transport import TABLES

        return {name: getattr(self, name) for name in TABLES if getattr(self, name) is not None}

    def build_transport(self):
        """The :class:`~netsim.transport.TransportProfile` this table describes."""
        from netsim.transport import transport_from_tables

        return transport_from_tables(self.transport, mtu=self.mtu, tables=self.transport_tables())

    def model_options(self) -> dict:
        """Keyword options of the network model (:func:`~netsim.network.make_network`), seed aside."""
        return {"loss_rate": self.loss_rate, "buffer": self.buffer, "ecn": self.ecn}

    @property
    def reports_transport(self) -> bool:
        """Whether the scenario sets a transport key (then the summary reports transport counters)."""
        from netsim.transport import TABLES

        return bool(self.model_fields_set & {"transport", "mtu", "loss_rate", *TABLES})


class CommunicationSpec(_Spec):
    """``[communication]``: how gradients are aggregated each step.

    ``algorithm``: any allreduce-operation algorithm (``netsim list algorithms``), e.g.
    ring_allreduce (alias ring) or parameter_server (alias ps; the server runs on the last
    host). Algorithm options, accepted only by algorithms that take them: ``chunks``
    (pipelining), ``group_size`` (hierarchical), ``servers`` and ``colocated`` (sharded
    parameter servers). DDP-style bucketing: ``bucket_size`` (bytes, default 25 MiB; 0 =
    one bucket), ``first_bucket_size`` (default 1 MiB), ``overlap`` (start each bucket's
    collective when its gradients are ready in the backward pass; default false).
    """

    algorithm: Annotated[str, BeforeValidator(_one_of("algorithm"))] = "ring_allreduce"
    chunks: int | None = Field(default=None, ge=1, le=1_000_000)
    group_size: int | None = Field(default=None, ge=1)
    servers: int | None = Field(default=None, ge=1)
    colocated: bool | None = None
    bucket_size: Size = 25 * 2**20
    first_bucket_size: Size = 2**20
    overlap: bool = False
    mixing: str | list[list[float]] | None = None

    @model_validator(mode="after")
    def _options_fit_algorithm(self) -> CommunicationSpec:
        from netsim.collectives import get_algorithm

        algorithm = get_algorithm(self.algorithm, "allreduce")
        for key in ALGORITHM_OPTIONS:
            if getattr(self, key) is not None and key not in algorithm.options:
                accepted = [o for o in algorithm.options if o in ALGORITHM_OPTIONS]
                raise ValueError(
                    f"communication.{key} does not apply to algorithm {algorithm.name!r}"
                    + (f" (it accepts: {', '.join(accepted)})" if accepted else " (it takes no options)")
                )
        return self

    def algorithm_options(self) -> dict:
        """The algorithm options that are set, as keyword arguments."""
        return {key: getattr(self, key) for key in ALGORITHM_OPTIONS if getattr(self, key) is not None}


ALGORITHM_OPTIONS = ("chunks", "group_size", "servers", "colocated")
"""``[communication]`` keys passed to the algorithm itself."""


class CompressionSpec(BaseModel):
    """``[training.compression]``: gradient compression (``netsim list compressors``).

    ``method`` (required: none | fp16 | bf16 | topk | randomk | threshold | qsgd |
    terngrad | signsgd | ef_signsgd | onebit | dgc | powersgd) plus that method's
    parameters (e.g. ``ratio``, ``levels``, ``rank``) and the generic ``error_feedback``,
    ``value_bytes`` (wire bytes of a full-precision value: 4 or 8), ``scope``
    (layerwise: one unit per bucket | global: the whole gradient) and ``wire`` (time the
    ``sent`` or the ``ideal`` bit-packed size). Every key is checked by
    :func:`~netsim.training.compression.make_compressor`, whose errors name
    ``training.compression.<key>``.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=False)

    method: str

    @model_validator(mode="after")
    def _builds(self) -> CompressionSpec:
        self.build()
        return self

    def params(self) -> dict:
        """The method's parameters and the generic keys, as given."""
        return dict(self.model_extra or {})

    def build(self):
        """The :class:`~netsim.training.compression.Compressor` this table describes."""
        from netsim.training.compression import make_compressor

        return make_compressor(self.method, **self.params())


SYNC_SCHEMES = ("bsp", "asp", "ssp", "local_sgd", "gossip")
"""``training.sync``: bulk-synchronous, asynchronous PS, stale-synchronous PS, local SGD, gossip."""


class TrainingSpec(_Spec):
    """``[training]``: the data-parallel job whose real gradients are communicated.

    See the README's option reference for every key. In short: ``model`` (logistic |
    linear | mlp | lm, with ``hidden``, ``activation``, ``embedding_dim``), ``dataset``
    (classification | regression | iris | text, with ``samples``, ``features``,
    ``classes``, ``test_fraction``, ``standardize``, ``context``), ``workers``,
    ``batch_size``, ``steps``, ``sharding`` (contiguous | random | hash | replicated |
    dirichlet, with ``dirichlet_alpha``), ``optimizer`` (sgd | adam | adamw, with ``lr``,
    ``momentum``, ``nesterov``, ``weight_decay``, ``beta1``, ``beta2``, ``eps``,
    ``amsgrad``), clipping (``clip_grad_norm``, ``clip_norm_type``, ``clip_weights``),
    schedules (``lr_schedule``, ``warmup_steps``, ``min_lr``, ``decay_every``,
    ``decay_factor``), ``eval_every``, the targets ``target_accuracy`` / ``target_loss``
    (time to target is reported), and the synchronisation ``sync`` (bsp | asp | ssp |
    local_sgd | gossip, with ``ssp_bound`` (default 3) and ``local_steps`` (default 4));
    gradient compression in the sub-table ``[training.compression]`` (:class:`CompressionSpec`).
    """

    model: Annotated[str, BeforeValidator(_one_of("model"))] = "logistic"
    hidden: list[Annotated[int, Field(ge=1, le=100_000)]] | None = None
    activation: Annotated[str, BeforeValidator(_choice("relu", "tanh"))] | None = None
    embedding_dim: int | None = Field(default=None, ge=1, le=100_000)
    dataset: Annotated[str, BeforeValidator(_one_of("dataset"))] = "classification"
    samples: int = Field(default=4096, ge=2, le=10_000_000)
    features: int = Field(default=16, ge=1, le=1_000_000)
    classes: int = Field(default=4, ge=2, le=100_000)
    test_fraction: float | None = Field(default=None, gt=0, lt=1)
    standardize: bool | None = None
    context: int | None = Field(default=None, ge=1, le=10_000)
    workers: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=32, ge=1)
    steps: int = Field(default=50, ge=1, le=10_000_000)
    optimizer: Annotated[str, BeforeValidator(_one_of("optimizer"))] = "sgd"
    lr: float = Field(default=0.1, gt=0, allow_inf_nan=False)
    momentum: float | None = Field(default=None, ge=0, lt=1)
    nesterov: bool | None = None
    weight_decay: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    beta1: float | None = Field(default=None, ge=0, lt=1)
    beta2: float | None = Field(default=None, ge=0, lt=1)
    eps: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    amsgrad: bool | None = None
    clip_grad_norm: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    clip_norm_type: float | None = Field(default=None, gt=0)
    clip_weights: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    lr_schedule: Annotated[str, BeforeValidator(_one_of("schedule"))] | None = None
    warmup_steps: int | None = Field(default=None, ge=0)
    min_lr: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    decay_every: int | None = Field(default=None, ge=1)
    decay_factor: float | None = Field(default=None, gt=0, le=1)
    sharding: Annotated[str, BeforeValidator(_one_of("sharding"))] = "contiguous"
    dirichlet_alpha: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    eval_every: int = Field(default=1, ge=1)
    sync: Annotated[str, BeforeValidator(_choice(*SYNC_SCHEMES))] = "bsp"
    workload: Annotated[str, BeforeValidator(_choice("math", "llm"))] = "math"  # llm: [workload] + [parallel] (netsim.workload)
    ssp_bound: int | None = Field(default=None, ge=0)
    local_steps: int | None = Field(default=None, ge=1)
    target_accuracy: float | None = Field(default=None, ge=0, le=1)
    target_loss: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    compression: CompressionSpec | None = None
    checkpoint_every: int | None = Field(default=None, ge=1)  # faults: steps between checkpoints (netsim.faults.workers)
    checkpoint_host: str | None = None  # faults: host storing checkpoints (default: the last host without a worker)

    @model_validator(mode="after")
    def _consistent(self) -> TrainingSpec:
        fits = {"linear": ("regression",), "lm": ("text",), "logistic": ("classification", "iris"), "mlp": ("classification", "iris")}
        allowed = fits.get(self.model)
        if allowed is not None and self.dataset not in allowed:
            raise ValueError(
                f"training.model {self.model!r} cannot be trained on dataset {self.dataset!r}; "
                f"it fits: {', '.join(allowed)}"
            )
        if self.dataset == "text" and self.model != "lm":
            raise ValueError("training.dataset 'text' needs model = 'lm'")
        only = {
            "hidden": ("mlp", "lm"),
            "activation": ("mlp", "lm"),
            "embedding_dim": ("lm",),
        }
        for key, models in only.items():
            if getattr(self, key) is not None and self.model not in models:
                raise ValueError(f"training.{key} applies to model {' or '.join(map(repr, models))}, not {self.model!r}")
        if self.standardize is not None and self.dataset != "iris":
            raise ValueError("training.standardize applies to dataset 'iris' only")
        if self.context is not None and self.dataset != "text":
            raise ValueError("training.context applies to dataset 'text' only")
        optimizer_keys = {
            "sgd": ("momentum", "nesterov", "weight_decay"),
            "adam": ("beta1", "beta2", "eps", "weight_decay", "amsgrad"),
            "adamw": ("beta1", "beta2", "eps", "weight_decay", "amsgrad"),
        }
        every = {k for keys in optimizer_keys.values() for k in keys}
        for key in sorted(every):
            if getattr(self, key) is not None and key not in optimizer_keys.get(self.optimizer, ()):
                raise ValueError(f"training.{key} does not apply to optimizer {self.optimizer!r}")
        schedule_keys = ("warmup_steps", "min_lr", "decay_every", "decay_factor")
        if self.lr_schedule is None and any(getattr(self, k) is not None for k in schedule_keys):
            raise ValueError("training.warmup_steps, min_lr, decay_every and decay_factor need training.lr_schedule")
        if self.dirichlet_alpha is not None and self.sharding != "dirichlet":
            raise ValueError("training.dirichlet_alpha applies to sharding = 'dirichlet' only")
        if self.ssp_bound is not None and self.sync != "ssp":
            raise ValueError("training.ssp_bound applies to sync = 'ssp' only")
        if self.local_steps is not None and self.sync != "local_sgd":
            raise ValueError("training.local_steps applies to sync = 'local_sgd' only")
        if self.clip_norm_type is not None and self.clip_grad_norm is None:
            raise ValueError("training.clip_norm_type needs training.clip_grad_norm")
        if self.dataset in ("classification", "regression") and self.samples * self.features > MAX_VALUES:
            raise ValueError(
                f"training.samples × training.features = {self.samples} × {self.features} values exceeds "
                f"the limit of {MAX_VALUES:.0e} (800 MB); lower training.samples or training.features"
            )
        if self.parameter_estimate() > MAX_VALUES:
            raise ValueError(
                f"training: model {self.model!r} would have about {self.parameter_estimate():.3g} parameters, over the "
                f"limit of {MAX_VALUES:.0e}; lower training.features, classes, hidden or embedding_dim"
            )
        return self

    def parameter_estimate(self) -> int:
        """About how many parameters the model has (to reject absurd sizes before building anything)."""
        inputs = {"iris": 4, "text": (self.context or 8) * (self.embedding_dim or 16)}.get(self.dataset, self.features)
        outputs = {"iris": 3, "text": 128, "regression": 1}.get(self.dataset, self.classes)
        hidden = self.hidden if self.hidden is not None else {"mlp": [64], "lm": [128]}.get(self.model, [])
        widths = [inputs, *hidden, outputs]
        embedding = 128 * (self.embedding_dim or 16) if self.model == "lm" else 0
        return embedding + sum((a + 1) * b for a, b in zip(widths, widths[1:], strict=False))

    def optimizer_options(self) -> dict:
        """Keyword arguments of the optimizer (only those set, plus ``lr``)."""
        keys = ("momentum", "nesterov", "weight_decay", "beta1", "beta2", "eps", "amsgrad")
        return {"lr": self.lr, **{k: getattr(self, k) for k in keys if getattr(self, k) is not None}}


class ComputeSpec(_Spec):
    """``[compute]``: simulated compute time of a training step on each worker.

    Give ``flops_per_second`` (FLOP/s; the step takes batch × FLOPs per sample / rate) or
    ``step_time`` (seconds per step), not both; default 1 TFLOP/s. Heterogeneous and slow
    workers: ``worker_rates`` (FLOP/s per worker, instead of one rate), ``slowdown`` (a
    list of multipliers per worker, or a table ``{"3" = 3.0}`` of worker → multiplier),
    ``straggler`` (seeded random slowdowns: ``{distribution = "lognormal", sigma = 0.3}``,
    ``exponential`` with ``mean``, or ``bernoulli`` with ``probability`` and ``factor``).
    """

    flops_per_second: Flops | None = None
    step_time: PositiveTime | None = None
    worker_rates: list[Flops] | None = None
    slowdown: list[Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]] | dict[str, Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]] | None = None
    straggler: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> ComputeSpec:
        given = [k for k in ("flops_per_second", "step_time", "worker_rates") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of compute.flops_per_second, compute.step_time, compute.worker_rates, not {' and '.join(given)}")
        if self.straggler is not None:
            from netsim.training.compute import Straggler

            Straggler.from_spec(self.straggler)
        return self

    @property
    def rate(self) -> float | None:
        """FLOP/s used when neither ``step_time`` nor ``worker_rates`` is given (default 1e12)."""
        if self.step_time is not None or self.worker_rates is not None:
            return None
        return self.flops_per_second if self.flops_per_second is not None else 1e12


class RunSpec(_Spec):
    """``[run]``: guards of the simulation loop (:mod:`netsim.guards`).

    ``max_sim_time`` (simulated seconds, units allowed: ``"10s"``, ``"2min"``): stop with
    an error before the first event past it. ``max_wall_time`` (wall-clock seconds of the
    whole run, checked every few hundred events): stop with an error once exceeded.
    Neither is set by default; a run that cannot progress (a deadlock, a zero-time loop)
    always stops with an error naming what is stuck.
    """

    max_sim_time: PositiveTime | None = None
    max_wall_time: PositiveTime | None = None


class Scenario(_Spec):
    """A whole validated scenario (see the module docstring and the README's option reference)."""

    name: str = "scenario"
    description: str = ""
    seed: int = Field(default=0, ge=0, lt=2**63)
    topology: TopologySpec
    network: NetworkSpec = NetworkSpec()
    communication: CommunicationSpec = CommunicationSpec()
    training: TrainingSpec = TrainingSpec()
    compute: ComputeSpec = ComputeSpec()
    run: RunSpec = RunSpec()
    workload: WorkloadSpec | None = None  # [workload] of training.workload = "llm" (netsim.workload.spec)
    parallel: ParallelSpec | None = None  # [parallel] of training.workload = "llm"
    faults: Annotated[list[FaultSpec], BeforeValidator(parse_faults)] = []  # [[faults]] tables (netsim.faults)
    _base_dir: str = PrivateAttr(default=".")

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the scenario (``topology.path``) start from."""
        return Path(self._base_dir)

    @model_validator(mode="before")
    @classmethod
    def _edge_devices_train(cls, data: Any) -> Any:
        """``kind = "edge"``: the edge server and the cloud are hosts too, so by default only the devices train."""
        if not isinstance(data, dict):
            return data
        topology, training = data.get("topology"), data.get("training", {})
        if (
            isinstance(topology, dict) and topology.get("kind") == "edge" and isinstance(training, dict)
            and "workers" not in training and training.get("workload", "math") == "math"
            and type(topology.get("devices")) is int and topology["devices"] >= 1
        ):
            data = {**data, "training": {**training, "workers": topology["devices"]}}
        return data

    @model_validator(mode="after")
    def _enough_hosts(self) -> Scenario:
        check_llm_scenario(self)  # [workload] / [parallel] of the llm workload (netsim.workload.spec)
        if self.topology.hosts is None or self.training.workload == "llm":
            return self
        from netsim.collectives import get_algorithm

        spec = self.communication
        is_ps = get_algorithm(spec.algorithm, "allreduce").kind == "parameter_server" or self.training.sync in ("asp", "ssp")
        servers = (spec.servers or 1) if is_ps and not spec.colocated else 0
        available = self.topology.hosts - servers
        if available < 1:
            raise ValueError(
                f"topology.hosts = {self.topology.hosts} leaves no worker next to {servers} parameter server host(s); "
                f"use at least {servers + 1} hosts or communication.colocated = true"
            )
        workers = self.training.workers
        if workers is not None and workers > available:
            raise ValueError(
                f"training.workers = {workers} needs more hosts than the topology's {self.topology.hosts}"
                + (f" ({servers} host(s) run parameter servers)" if servers else "")
            )
        # Cheap checks of sizes before anything is built (a 100,000-host graph takes a second).
        count = workers if workers is not None else available
        where = "training.workers" if workers is not None else "topology.hosts"
        training = self.training
        samples = {"iris": 150}.get(training.dataset, training.samples)
        if training.dataset != "text" and training.sharding != "replicated" and count > samples:
            raise ValueError(
                f"{where}: {count} workers need at least one training sample each, but the dataset has {samples} "
                "samples; use fewer workers or more training.samples"
            )
        if count * training.parameter_estimate() > MAX_REPLICA_VALUES:
            raise ValueError(
                f"{where}: {count} workers × about {training.parameter_estimate():.3g} parameters exceeds "
                f"the limit of {MAX_REPLICA_VALUES:.0e} values in model replicas; use fewer workers or a smaller model"
            )
        return self

    @model_validator(mode="after")
    def _sync_fits_communication(self) -> Scenario:
        sync, spec = self.training.sync, self.communication
        if spec.mixing is not None and sync != "gossip":
            raise ValueError("communication.mixing applies to training.sync = 'gossip' only")
        if isinstance(spec.mixing, str) and spec.mixing not in ("ring", "topology"):
            raise ValueError(f"communication.mixing: {spec.mixing!r} is not accepted; accepted: ring, topology, or a p x p matrix")
        if sync in ("asp", "ssp") and (spec.servers or 1) > 1:
            raise ValueError(f"training.sync = {sync!r} runs one asynchronous parameter server; communication.servers must be 1")
        if sync in ("asp", "ssp", "gossip") and (spec.overlap or spec.chunks or spec.group_size):
            raise ValueError(f"communication.overlap, chunks and group_size do not apply to training.sync = {sync!r}")
        return self

    @model_validator(mode="after")
    def _faults_fit(self) -> Scenario:
        if self.faults or self.training.checkpoint_every is not None or self.training.checkpoint_host is not None:
            check_faults(self)  # netsim.faults.spec: network model, sync scheme, checkpoints
        return self

    def to_dict(self) -> dict:
        """The resolved scenario as plain data (quantities in SI base units)."""
        return self.model_dump(mode="json")


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``"dotted.key=value"``; the value is read as TOML if it can be, else as a string.

    Examples
    --------
    >>> parse_override("topology.hosts=8")
    ('topology.hosts', 8)
    >>> parse_override("topology.bandwidth=10Gbps")
    ('topology.bandwidth', '10Gbps')
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"override {_short(text)}: expected dotted.key=value, e.g. topology.bandwidth=10Gbps")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except ValueError:  # TOMLDecodeError, or an integer of more than 4300 digits
        value = raw
    except RecursionError:
        raise ScenarioError(f"override {_short(key)}: the value is nested too deeply") from None
    return key, value


def apply_overrides(document: dict, overrides: list[str] | dict[str, Any] | None) -> dict:
    """Return a copy of ``document`` with dotted-key overrides applied.

    ``overrides`` is a list of ``"key=value"`` strings or a mapping of dotted keys to values;
    a list entry is named by its position, ``faults.0.time`` or ``faults[0].time``.
    """
    result = _deep_copy(document, ())
    if not overrides:
        return result
    items = overrides.items() if isinstance(overrides, dict) else (parse_override(o) for o in overrides)
    for key, value in items:
        node = result
        parts = re.sub(r"\[(\d+)\]", r".\1", key).split(".")  # faults[0].time, as errors print it = faults.0.time
        for depth, part in enumerate(parts[:-1]):
            child = node[_index(node, part, key, parts[:depth])] if isinstance(node, list) else node.setdefault(part, {})
            if not isinstance(child, dict | list):
                where = ".".join(parts[: depth + 1])
                raise ScenarioError(f"override {_short(key)}: {_short(where)} is a value, not a table")
            node = child
        last = _index(node, parts[-1], key, parts[:-1]) if isinstance(node, list) else parts[-1]
        node[last] = _deep_copy(value, tuple(parts))
    return result


def _index(items: list, part: str, key: str, where: list[str]) -> int:
    """The position ``part`` names in a list (``faults.0.time``: entry 0 of ``faults``)."""
    if not part.isdigit() or int(part) >= len(items):
        raise ScenarioError(
            f"override {_short(key)}: {_short('.'.join(where))} is a list of {len(items)}; "
            f"name an entry by its position from 0, got {_short(part)}"
        )
    return int(part)


MAX_DEPTH = 32
"""Deepest nesting of tables and lists a scenario document may have (deeper is an error, as is a cycle)."""

MAX_INT = 10**300
"""Largest magnitude of an integer in a scenario document (larger ones do not convert to float)."""


def _path(where: tuple) -> str:
    """``topology.dims.0`` for a location in a document; an unknown top-level key is named as such."""
    if not where or not isinstance(where[0], str) or where[0] not in Scenario.model_fields:
        top = where[0] if where else None
        if not isinstance(top, str):
            return "scenario"
        hint = _did_you_mean(top, list(Scenario.model_fields))
        raise ScenarioError(f"unknown key {_short(top, 100)}{hint}")
    parts = [str(p) if isinstance(p, int) or (p and "." not in p and len(p) <= 40 and p.isprintable()) else _short(p, 40) for p in where if isinstance(p, int | str)]
    return ".".join(parts)


def _deep_copy(value: Any, where: tuple) -> Any:
    if isinstance(value, int) and abs(value) > MAX_INT:  # too large for a float (and for repr)
        digits = int(value.bit_length() * math.log10(2)) + 1
        raise ScenarioError(f"{_path(where)}: a number of about {digits} digits is too large (at most 1e300 in magnitude)")
    if isinstance(value, dict | list):
        if len(where) >= MAX_DEPTH:
            raise ScenarioError(f"{_path(where[:3])}...: nested more than {MAX_DEPTH} levels deep (tables and lists)")
        if isinstance(value, dict):
            return {_deep_copy(k, where): _deep_copy(v, (*where, k)) for k, v in value.items()}
        return [_deep_copy(v, (*where, i)) for i, v in enumerate(value)]
    return value


def scenario_from_dict(document: dict, overrides=None, *, name: str | None = None, base_dir: str = ".") -> Scenario:
    """Validate a scenario document (as parsed from TOML) into a :class:`Scenario`.

    Raises
    ------
    ScenarioError
        Naming the first invalid field, its value and what is accepted.
    """
    if not isinstance(document, dict):
        raise ScenarioError(f"a scenario must be a table of keys, got {type(document).__name__}")
    data = apply_overrides(document, overrides)
    data.setdefault("topology", {})
    if name is not None:
        data.setdefault("name", name)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        message = _explain(exc)
        if len(message) > 1000:  # a validator quoted a huge value: keep the field (start) and what is accepted (end)
            message = f"{message[:480]} ... {message[-480:]}"
        raise ScenarioError(message) from None
    scenario._base_dir = str(base_dir)
    return scenario


def load_scenario(path: str | Path, overrides=None) -> Scenario:
    """Read, override and validate a scenario file (a ``[sweep]`` table is ignored: see ``netsim sweep``).

    Parameters
    ----------
    path : str or Path
        A TOML scenario file.
    overrides : list of str or dict, optional
        ``["topology.bandwidth=10Gbps", ...]`` or ``{"topology.bandwidth": "10Gbps"}``.

    Raises
    ------
    ScenarioError
        If the file is missing or not valid TOML, or a value is invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        nearby = sorted(p.name for p in path.parent.glob("*.toml")) if path.parent.is_dir() else []
        hint = _did_you_mean(path.name, nearby)
        raise ScenarioError(f"scenario file {str(path)!r} does not exist{hint}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"scenario file {str(path)!r} cannot be read: {exc.__class__.__name__}") from None
    try:
        document = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise ScenarioError(f"scenario file {str(path)!r} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"scenario file {str(path)!r} is nested too deeply to read") from None
    document.pop("sweep", None)  # the axes of `netsim sweep`; a single run uses the base scenario
    return scenario_from_dict(document, overrides, name=path.stem, base_dir=str(path.parent))


def _explain(exc: ValidationError) -> str:
    error, accepted = _pick_error(exc.errors())
    loc = error["loc"]
    if loc and loc[-1] == "[key]" and error["type"] != "extra_forbidden":  # pydantic's marker of a bad key
        loc = loc[:-1]
    location = [str(part) for i, part in enumerate(loc) if not _is_union_tag(loc, i)]
    dotted = ".".join(location)
    kind = error["type"]
    value = error.get("input")
    if accepted:
        shown = _short(value)
        return f"{dotted}: expected {accepted}" + (f" (got {shown})" if shown else "")
    if kind == "extra_forbidden":
        fields = _fields_at(location[:-1])
        hint = _did_you_mean(location[-1], fields)
        accepted = f"; accepted keys here: {', '.join(fields)}" if fields and not hint else ""
        return f"unknown key {_short(dotted, 100)}{hint}{accepted}"
    if kind == "missing":
        return f"{dotted}: required key is missing"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = re.sub(r"^Input should be a valid dictionary( or instance of \w+)?", "expected a table", message)
    if not dotted:
        return message
    if message.startswith(dotted):
        return message
    shown = _short(value)
    return f"{dotted}: {message}" + (f" (got {shown})" if shown and shown not in message else "")


_UNION_TAGS = {"list": "a list", "dict": "a table", "str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}


def _field_type(location: tuple) -> Any:
    """The annotation of the scenario field at ``location`` (``None`` if it is not a field)."""
    annotation: Any = Scenario
    for part in location:
        models = [a for a in (annotation, *typing.get_args(annotation)) if isinstance(a, type) and issubclass(a, BaseModel)]
        field = models[0].model_fields.get(part) if models and isinstance(part, str) else None
        if field is None:
            return None
        annotation = field.annotation
    return annotation


def _is_union_tag(location: tuple, index: int) -> bool:
    """Whether ``location[index]`` is pydantic's name of a union member (``list[...]``), not a key."""
    if index == 0 or not isinstance(location[index], str):
        return False
    members = [a for a in typing.get_args(_field_type(location[:index])) if a is not type(None)]
    return typing.get_origin(_field_type(location[:index])) in (typing.Union, types.UnionType) and len(members) > 1


def _pick_error(errors: list) -> tuple[dict, str]:
    """The error to report, and for a value matching no member of a union, what is accepted.

    Pydantic reports one error per union member; report the one of the member whose type
    the value has (its errors go deeper than a type mismatch), else list the members.
    """
    first = errors[0]
    at = next((i for i in range(len(first["loc"])) if _is_union_tag(first["loc"], i)), None)
    if at is None:
        return first, ""
    prefix = first["loc"][:at]
    members = [e for e in errors if e["loc"][:at] == prefix and len(e["loc"]) > at]
    deeper = [e for e in members if len(e["loc"]) > at + 1 or not e["type"].endswith("_type")]
    if deeper:
        return deeper[0], ""
    kinds = [str(e["loc"][at]).split("[")[0] for e in members]
    accepted = [_UNION_TAGS.get(k, k) for k in dict.fromkeys(kinds)]
    return {**first, "loc": prefix, "input": first.get("input")}, " or ".join(accepted)


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, dict | list):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fields_at(location: list[str]) -> list[str]:
    model: Any = Scenario
    for part in location:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = field.annotation
        if not hasattr(model, "model_fields"):  # an optional table (``WorkloadSpec | None``): its model
            model = next((arg for arg in typing.get_args(model) if hasattr(arg, "model_fields")), model)
    fields = getattr(model, "model_fields", None)
    if fields is None:
        return []
    return list(fields)
