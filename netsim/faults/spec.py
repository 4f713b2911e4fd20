"""``[[faults]]`` tables: what fails, when, and how the job recovers (validation only).

Each ``[[faults]]`` table has a ``kind`` and that kind's keys (times take units,
``"5ms"``, or numbers in seconds; bandwidths ``"1Gbps"`` or bytes/s):

================ =========================================================================
kind             keys
================ =========================================================================
``link_down``    ``link = ["s0", "s4"]`` (or ``links = [[...], ...]``), timing (below)
``link_up``      ``link`` / ``links``, ``time``: a link brought down without an end returns
``switch_down``  ``switch = "s4"`` (every link of the switch fails), timing
``link_degrade`` ``link`` / ``links``, timing, ``bandwidth`` or ``bandwidth_factor``,
                 ``latency`` or ``latency_factor`` (at least one)
``loss_rate``    ``link`` / ``links``, timing, ``rate`` (fraction of packets lost, in (0, 1))
``worker_crash`` ``worker``, ``time``, ``recovery`` = ``checkpoint`` | ``elastic``,
                 ``detection`` (timeout, default 0 s), ``restart_delay`` (default 0 s)
``straggler``    ``worker``, timing, ``factor`` (compute takes ``factor`` times longer)
================ =========================================================================

Timing of the kinds that last (``link_down``, ``switch_down``, ``link_degrade``,
``loss_rate``, ``straggler``): either one occurrence, ``time`` with an optional
``duration`` or ``end`` (absolute time; without either the fault lasts for the rest of
the run), or a seeded random schedule, ``mtbf`` and ``mttr`` (mean time between failures
and mean time to repair, exponentially distributed, alternating from ``time``, default 0,
until ``end``, default never; a failure drawn before ``end`` is always repaired).
With ``links``, each link gets its own independent schedule.

Errors name the table and key: ``faults[2].duration: must be positive, got -1``.
Checks that need the topology (does the link exist?) happen when the run is built
(:mod:`netsim.faults.plan`).

Examples
--------
>>> faults = parse_faults([{"kind": "link_down", "link": ["s0", "s4"], "time": "5ms", "duration": "2ms"}])
>>> faults[0].time, faults[0].duration, faults[0].edges()
(0.005, 0.002, [('s0', 's4')])
>>> parse_faults([{"kind": "link_dwon", "link": ["a", "b"], "time": 1}])
Traceback (most recent call last):
...
netsim.exceptions.ScenarioError: faults[0].kind: 'link_dwon' is not a fault kind (did you mean 'link_down'?); accepted: link_down, link_up, switch_down, link_degrade, loss_rate, worker_crash, straggler
"""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from netsim.exceptions import ScenarioError
from netsim.units import parse_bandwidth, parse_time

__all__ = [
    "FAULT_KINDS",
    "NETWORK_FAULT_KINDS",
    "RECOVERY_MODES",
    "FaultSpec",
    "LinkDown",
    "LinkUp",
    "SwitchDown",
    "LinkDegrade",
    "LossRate",
    "WorkerCrash",
    "StragglerWindow",
    "parse_faults",
    "check_faults",
]

FAULT_KINDS: dict[str, str] = {
    "link_down": "a link fails (both directions): its flows are rerouted, or stall until it returns",
    "link_up": "a link brought down without an end comes back",
    "switch_down": "every link of a switch fails",
    "link_degrade": "a link's bandwidth and/or latency change for a period",
    "loss_rate": "a link loses a fraction of its packets for a period; reliable transports resend them",
    "worker_crash": "a worker dies; the job detects it, then restarts from a checkpoint or continues elastically",
    "straggler": "a worker computes slower by a factor for a period",
}
"""Fault kinds and what each does."""

NETWORK_FAULT_KINDS = ("link_down", "link_up", "switch_down", "link_degrade", "loss_rate")
"""Kinds that change the network (they need a network model with link state, e.g. ``flow``)."""

RECOVERY_MODES = ("checkpoint", "elastic")
"""``worker_crash.recovery``: restart from the last checkpoint, or continue with the survivors."""

MAX_TIME = 1e12
"""Longest accepted time, seconds (as ``netsim.scenario.MAX_TIME``)."""

MAX_FACTOR = 1e6
"""Largest accepted slowdown or degradation factor."""


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _time(value: Any) -> float:
    seconds = parse_time(value)
    if seconds > MAX_TIME:
        raise ValueError(f"must be at most {MAX_TIME:g} s, got {_shown(value)}")
    return seconds


def _positive_time(value: Any) -> float:
    seconds = _time(value)
    if seconds <= 0:
        raise ValueError(f"must be positive, got {_shown(value)}")
    return seconds


def _bandwidth(value: Any) -> float:
    rate = parse_bandwidth(value)
    if rate < 0.125:
        raise ValueError(f"must be at least 1 bit/s (0.125 bytes/s), got {_shown(value)}")
    return rate


def _number(low: float, high: float, *, low_open: bool, high_open: bool, what: str):
    def check(value: Any) -> float:
        ok = not isinstance(value, bool) and isinstance(value, int | float)
        if ok:
            try:
                number = float(value)
            except OverflowError:
                ok = False
        if not ok or not math.isfinite(number):
            raise ValueError(f"expected {what}, got {_shown(value)}")
        above = number > low if low_open else number >= low
        below = number < high if high_open else number <= high
        if not (above and below):
            raise ValueError(f"expected {what}, got {_shown(value)}")
        return number

    return check


def _node(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a node name (a non-empty string such as 's0'), got {_shown(value)}")
    return value


def _pair(value: Any) -> tuple[str, str]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"expected a link as a list of two node names, e.g. [\"s0\", \"h1\"], got {_shown(value)}")
    u, v = (_node(x) for x in value)
    if u == v:
        raise ValueError(f"a link joins two different nodes, got [{u!r}, {v!r}]")
    return (u, v)


def _pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"expected a non-empty list of links, e.g. [[\"s0\", \"h1\"], [\"s0\", \"s4\"]], got {_shown(value)}")
    pairs = []
    for index, item in enumerate(value):
        try:
            pairs.append(_pair(item))
        except ValueError as exc:
            raise ValueError(f"[{index}]: {exc}") from None
    return pairs


def _worker(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10**9:
        raise ValueError(f"expected a worker number (an integer >= 0), got {_shown(value)}")
    return int(value)


Time = Annotated[float, BeforeValidator(_time)]
PositiveTime = Annotated[float, BeforeValidator(_positive_time)]
Bandwidth = Annotated[float, BeforeValidator(_bandwidth)]
Factor = Annotated[float, BeforeValidator(_number(0, MAX_FACTOR, low_open=True, high_open=False, what=f"a factor > 0 and <= {MAX_FACTOR:g}"))]
Probability = Annotated[float, BeforeValidator(_number(0, 1, low_open=True, high_open=True, what="a fraction of packets in (0, 1)"))]
Node = Annotated[str, BeforeValidator(_node)]
Link = Annotated[tuple[str, str], BeforeValidator(_pair)]
Links = Annotated[list[tuple[str, str]], BeforeValidator(_pairs)]
Worker = Annotated[int, BeforeValidator(_worker)]


class _Fault(BaseModel):
    """Keys every fault has."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    kind: str

    def target(self) -> str:
        """Short name of what fails (``s0-s4``, ``worker 2``); each kind names its own."""
        return self.kind


class _Timed(_Fault):
    """A fault that lasts: one occurrence (``time`` + ``duration``/``end``) or a random schedule."""

    time: Time | None = None
    duration: PositiveTime | None = None
    end: Time | None = None
    mtbf: PositiveTime | None = None
    mttr: PositiveTime | None = None

    @model_validator(mode="after")
    def _timing(self) -> _Timed:
        if self.mtbf is not None or self.mttr is not None:
            if self.mtbf is None or self.mttr is None:
                missing = "mtbf" if self.mtbf is None else "mttr"
                raise ValueError(f"{missing}: required with {'mttr' if missing == 'mtbf' else 'mtbf'} (a random schedule needs both)")
            if self.duration is not None:
                raise ValueError("duration: does not apply to a random schedule (repairs take mttr on average); use end to stop the schedule")
        elif self.time is None:
            raise ValueError("time: required (or mtbf and mttr for a seeded random schedule)")
        if self.duration is not None and self.end is not None:
            raise ValueError("end: give duration or end, not both")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end: must be after time ({self.start:g} s), got {self.end:g} s")
        return self

    @property
    def random(self) -> bool:
        """Whether occurrences are drawn from the seeded MTBF/MTTR schedule."""
        return self.mtbf is not None

    @property
    def start(self) -> float:
        """Time of the (first possible) occurrence, seconds (``time``, default 0 for a schedule)."""
        return self.time if self.time is not None else 0.0

    @property
    def stop(self) -> float:
        """End of a fixed occurrence, or of the schedule, seconds (``inf`` when open)."""
        if self.duration is not None:
            return self.start + self.duration
        return self.end if self.end is not None else math.inf


class _LinkTargets(BaseModel):
    """``link`` (one link) or ``links`` (a list): exactly one of them."""

    link: Link | None = None
    links: Links | None = None

    @model_validator(mode="after")
    def _one_target(self):
        _check_links(self)
        return self

    def edges(self) -> list[tuple[str, str]]:
        """The links named, as ``(u, v)`` pairs."""
        return [self.link] if self.link is not None else list(self.links)

    def target(self) -> str:
        return ", ".join(f"{u}-{v}" for u, v in self.edges())


class _OnLinks(_Timed, _LinkTargets):
    pass


def _check_links(fault) -> None:
    if (fault.link is None) == (fault.links is None):
        which = "both" if fault.link is not None else "neither"
        raise ValueError(f"link: give link (one link) or links (a list), got {which}")


class LinkDown(_OnLinks):
    """``link_down``: the link (both directions) fails; see :data:`FAULT_KINDS`."""

    kind: Literal["link_down"]


class LinkUp(_Fault, _LinkTargets):
    """``link_up``: at ``time``, links brought down without an end come back."""

    kind: Literal["link_up"]
    time: Time


class SwitchDown(_Timed):
    """``switch_down``: every link of ``switch`` fails."""

    kind: Literal["switch_down"]
    switch: Node

    def target(self) -> str:
        return self.switch


class LinkDegrade(_OnLinks):
    """``link_degrade``: bandwidth (absolute or a factor) and/or latency change for a period."""

    kind: Literal["link_degrade"]
    bandwidth: Bandwidth | None = None
    bandwidth_factor: Factor | None = None
    latency: Time | None = None
    latency_factor: Factor | None = None

    @model_validator(mode="after")
    def _some_change(self) -> LinkDegrade:
        if self.bandwidth is not None and self.bandwidth_factor is not None:
            raise ValueError("bandwidth_factor: give bandwidth or bandwidth_factor, not both")
        if self.latency is not None and self.latency_factor is not None:
            raise ValueError("latency_factor: give latency or latency_factor, not both")
        if all(getattr(self, k) is None for k in ("bandwidth", "bandwidth_factor", "latency", "latency_factor")):
            raise ValueError("bandwidth: give at least one of bandwidth, bandwidth_factor, latency, latency_factor")
        return self


class LossRate(_OnLinks):
    """``loss_rate``: the links lose a fraction ``rate`` of their packets for a period."""

    kind: Literal["loss_rate"]
    rate: Probability


class WorkerCrash(_Fault):
    """``worker_crash``: ``worker`` dies at ``time``; detected ``detection`` s later, then recovered."""

    kind: Literal["worker_crash"]
    worker: Worker
    time: Time
    recovery: Literal["checkpoint", "elastic"]
    detection: Time = 0.0
    restart_delay: Time = 0.0

    def target(self) -> str:
        return f"worker {self.worker}"


class StragglerWindow(_Timed):
    """``straggler``: ``worker`` computes ``factor`` times slower during the window(s)."""

    kind: Literal["straggler"]
    worker: Worker
    factor: Factor

    def target(self) -> str:
        return f"worker {self.worker}"


_CLASSES: dict[str, type[_Fault]] = {
    "link_down": LinkDown,
    "link_up": LinkUp,
    "switch_down": SwitchDown,
    "link_degrade": LinkDegrade,
    "loss_rate": LossRate,
    "worker_crash": WorkerCrash,
    "straggler": StragglerWindow,
}

FaultSpec = Annotated[
    LinkDown | LinkUp | SwitchDown | LinkDegrade | LossRate | WorkerCrash | StragglerWindow,
    Field(discriminator="kind"),
]
"""One validated ``[[faults]]`` table (a class per kind, chosen by ``kind``)."""


def parse_faults(value: Any) -> list:
    """Validate a ``[[faults]]`` array (a list of tables) into fault specs.

    Raises
    ------
    ScenarioError
        One line naming ``faults[i].key``, the value and what is accepted.
    """
    if isinstance(value, dict):
        raise ScenarioError("faults: expected an array of tables ([[faults]] in TOML), got one table; write [[faults]], not [faults]")
    if not isinstance(value, list | tuple):
        raise ScenarioError(f"faults: expected an array of tables ([[faults]]), got {type(value).__name__}")
    return [_parse_one(index, table) for index, table in enumerate(value)]


def _parse_one(index: int, table: Any):
    where = f"faults[{index}]"
    if isinstance(table, _Fault):
        return table
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table with a kind, got {type(table).__name__}")
    kind = table.get("kind")
    if kind is None:
        raise ScenarioError(f"{where}.kind: required; accepted: {', '.join(FAULT_KINDS)}")
    if not isinstance(kind, str) or kind not in _CLASSES:
        hint = _did_you_mean(str(kind), list(FAULT_KINDS))
        raise ScenarioError(f"{where}.kind: {_shown(kind)} is not a fault kind{hint}; accepted: {', '.join(FAULT_KINDS)}")
    cls = _CLASSES[kind]
    for key in table:
        if key not in cls.model_fields:
            accepted = list(cls.model_fields)
            hint = _did_you_mean(str(key), accepted)
            shown = key if isinstance(key, str) and key.isprintable() and len(key) <= 40 else _shown(key, 40)
            raise ScenarioError(f"{where}.{shown}: unknown key{hint}; accepted keys for kind {kind!r}: {', '.join(accepted)}")
    try:
        return cls.model_validate(table)
    except ValidationError as exc:
        raise ScenarioError(_explain(where, cls, exc)) from None


def _explain(where: str, cls: type[_Fault], exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    loc = [part for part in error["loc"] if part not in ("[key]",)]
    if not loc:  # a check across keys: it starts with the key it is about
        key, sep, rest = message.partition(": ")
        if sep and key in cls.model_fields:
            return f"{where}.{key}: {rest}"
        return f"{where}: {message}"
    path = where + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    if error["type"] == "missing":
        return f"{path}: required key is missing"
    if error["type"] == "literal_error":
        accepted = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
        return f"{path}: {_shown(error.get('input'))} is not accepted; accepted: {accepted.replace(' or ', ', ')}"
    if message.startswith("["):  # a position inside a list of links
        head, _, rest = message.partition(": ")
        return f"{path}{head}: {rest}"
    return f"{path}: {message}"


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_faults(scenario) -> None:
    """Check the faults against the rest of a scenario (network model, sync scheme, checkpoints).

    Raises
    ------
    ValueError
        One line naming the fault (``faults[i]``) or the key (``training.checkpoint_every``).
    """
    from netsim.collectives import get_algorithm
    from netsim.faults.links import supports_network_faults
    from netsim.network import NETWORK_MODELS

    faults = list(scenario.faults)
    if faults and scenario.training.workload != "math":
        raise ValueError(
            f"faults[0]: [[faults]] apply to training.workload = 'math' only; the {scenario.training.workload!r} "
            "workload would ignore them (remove the [[faults]] tables)"
        )
    model = scenario.network.model
    capable = sorted(name for name, (cls, _) in NETWORK_MODELS.items() if supports_network_faults(cls))
    for i, fault in enumerate(faults):
        if fault.kind in NETWORK_FAULT_KINDS and model in NETWORK_MODELS and not supports_network_faults(NETWORK_MODELS[model][0]):
            raise ValueError(
                f"faults[{i}]: kind {fault.kind!r} changes links, but network.model = {model!r} has no link state; "
                f"network faults need network.model = {' or '.join(map(repr, capable)) or 'flow'}"
            )
    crashes = [(i, f) for i, f in enumerate(faults) if f.kind == "worker_crash"]
    training = scenario.training
    where = f"faults[{crashes[0][0]}]" if crashes else "training.checkpoint_every"
    if crashes or training.checkpoint_every is not None:
        algorithm = get_algorithm(scenario.communication.algorithm, "allreduce")
        if training.sync != "bsp" or algorithm.kind == "parameter_server" or training.compression is not None:
            got = (
                f"training.sync = {training.sync!r}" if training.sync != "bsp"
                else f"communication.algorithm = {algorithm.name!r}" if algorithm.kind == "parameter_server"
                else "training.compression"
            )
            raise ValueError(
                f"{where}: crash recovery and checkpoints need training.sync = 'bsp' with an allreduce collective "
                f"and no compression (their state is what a restart restores); got {got}"
            )
    if crashes:
        first = crashes[0][1].recovery
        for i, fault in crashes:
            if fault.recovery != first:
                raise ValueError(f"faults[{i}].recovery: every worker_crash of a scenario recovers the same way; faults[{crashes[0][0]}] uses {first!r}")
            if fault.recovery == "checkpoint" and training.checkpoint_every is None:
                raise ValueError(
                    f"faults[{i}].recovery: 'checkpoint' needs training.checkpoint_every (steps between checkpoints); "
                    "set it, or use recovery = 'elastic'"
                )
    if training.checkpoint_host is not None and training.checkpoint_every is None:
        raise ValueError("training.checkpoint_host needs training.checkpoint_every")
