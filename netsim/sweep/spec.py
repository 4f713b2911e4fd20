"""What a sweep runs: a base scenario, its axes, and their expansion into runs.

Axes come from the command line (``--grid``, ``--zip``, ``--repeat``) or from a
``[sweep]`` table in the scenario file, which is removed before the scenario is
validated::

    [sweep]
    grid = { "topology.bandwidth" = ["1Gbps", "10Gbps"], "communication.algorithm" = ["ring", "ps"] }
    zip = { "topology.hosts" = [4, 8], "training.workers" = [4, 8] }
    repeat = 3

A list gives the values as they are; a string is parsed like ``--grid`` values
(``"4:64:x2"``, ``"1Gbps,10Gbps"``; see :mod:`netsim.sweep.axes`). An axis given on the
command line replaces the file's axis of the same key, and ``--repeat`` the file's
``repeat``.

Expansion: the cartesian product of the grid axes (the first axis varies slowest),
times the zipped axes taken together (all the same length, paired by position), times
``repeat`` repeats (innermost). Repeat ``i`` sets ``seed`` to the run's seed + ``i``
and is recorded as ``repeat``. Every expanded scenario is validated before anything
runs. A run is identified by the hash of its resolved scenario (:func:`run_id`), so
``"10Gbps"`` and ``1.25e9`` name the same run, and a run shared by two sweeps is
computed once.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netsim.exceptions import ScenarioError
from netsim.scenario import Scenario, apply_overrides, parse_override, scenario_from_dict
from netsim.sweep.axes import parse_axis, parse_values

__all__ = ["Sweep", "SweepRun", "load_sweep", "sweep_from_dict", "expand", "run_id", "RESERVED_COLUMNS"]

RESERVED_COLUMNS = ("run", "repeat", "status", "error")
"""Column names of the results table that an axis may not use."""

_SWEEP_KEYS = ("grid", "zip", "repeat")


@dataclass(frozen=True)
class Sweep:
    """A base scenario document and the axes varied over it.

    Attributes
    ----------
    base : dict
        The scenario document without its ``[sweep]`` table, overrides applied.
    name : str
        Scenario name (the ``name`` key, else the file's stem).
    base_dir : str
        Directory that relative paths in the scenario start from.
    grid, zip : dict of str to tuple
        Dotted key -> values. Grid axes form a cartesian product; zip axes are paired.
    repeat : int
        Runs per point (seeds ``seed``, ``seed + 1``, ...).
    source : str or None
        The scenario file, if any.
    """

    base: dict
    name: str
    base_dir: str = "."
    grid: dict[str, tuple] = field(default_factory=dict)
    zip: dict[str, tuple] = field(default_factory=dict)
    repeat: int = 1
    source: str | None = None

    @property
    def keys(self) -> list[str]:
        """The swept dotted keys, grid axes first (the results table's columns)."""
        return [*self.grid, *self.zip]

    @property
    def size(self) -> int:
        """Number of runs the sweep expands to."""
        points = 1
        for values in self.grid.values():
            points *= len(values)
        if self.zip:
            points *= len(next(iter(self.zip.values())))
        return points * self.repeat


@dataclass(frozen=True)
class SweepRun:
    """One expanded run of a sweep.

    Attributes
    ----------
    index : int
        Position in the expansion (the row order of the results table).
    run_id : str
        16 hex digits of the SHA-256 of the resolved scenario (:func:`run_id`).
    params : dict
        Swept key -> value as given (plus ``repeat``), the run's table columns.
    document : dict
        The scenario document to simulate (base, axis values and seed applied).
    base_dir : str
        Directory for relative paths in ``document``.
    """

    index: int
    run_id: str
    params: dict
    document: dict
    base_dir: str

    def label(self) -> str:
        """``key=value, ...`` for messages."""
        return ", ".join(f"{k}={v}" for k, v in self.params.items())


def run_id(scenario: Scenario | Mapping) -> str:
    """Identify a run: the first 16 hex digits of SHA-256 over its canonical JSON.

    Parameters
    ----------
    scenario : Scenario or dict
        A validated scenario, or its resolved dict (:meth:`Scenario.to_dict`).

    Examples
    --------
    >>> a = scenario_from_dict({"topology": {"hosts": 4, "bandwidth": "10Gbps"}})
    >>> b = scenario_from_dict({"topology": {"hosts": 4, "bandwidth": 1.25e9}})
    >>> run_id(a) == run_id(b), len(run_id(a))
    (True, 16)
    """
    resolved = scenario.to_dict() if isinstance(scenario, Scenario) else dict(scenario)
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_sweep(path: str | Path, *, grid=None, zip=None, repeat: int | None = None, overrides=None) -> Sweep:
    """Read a scenario file and its optional ``[sweep]`` table, plus extra axes.

    Parameters
    ----------
    path : str or Path
        A TOML scenario file.
    grid, zip : mapping or list of str, optional
        Axes added to (or replacing) the file's: ``{"key": [values] or "values"}`` or
        ``["key=values", ...]``.
    repeat : int, optional
        Replaces the file's ``repeat``.
    overrides : list of str or dict, optional
        Dotted-key values applied to the base scenario (like ``--set``).

    Returns
    -------
    Sweep

    Raises
    ------
    ScenarioError
        If the file cannot be read, the ``[sweep]`` table or an axis is malformed, or
        the first expanded scenario is invalid (the scenario's own message).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {str(path)!r} does not exist") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"scenario file {str(path)!r} cannot be read: {exc.__class__.__name__}") from None
    try:
        document = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise ScenarioError(f"scenario file {str(path)!r} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"scenario file {str(path)!r} is nested too deeply to read") from None
    return sweep_from_dict(
        document,
        name=document.get("name", path.stem),
        base_dir=str(path.parent),
        source=str(path),
        grid=grid,
        zip=zip,
        repeat=repeat,
        overrides=overrides,
    )


def sweep_from_dict(
    document: Mapping,
    *,
    name: str | None = None,
    base_dir: str = ".",
    source: str | None = None,
    grid=None,
    zip=None,
    repeat: int | None = None,
    overrides=None,
) -> Sweep:
    """Build a :class:`Sweep` from a scenario document (which may hold a ``sweep`` table).

    Takes the same axis arguments as :func:`load_sweep`.

    Examples
    --------
    >>> doc = {"topology": {"hosts": 4}, "sweep": {"grid": {"topology.hosts": "4:8:+2"}, "repeat": 2}}
    >>> s = sweep_from_dict(doc, name="demo")
    >>> s.grid, s.repeat, s.size
    ({'topology.hosts': (4, 6, 8)}, 2, 6)
    """
    if not isinstance(document, Mapping):
        raise ScenarioError(f"a scenario must be a table of keys, got {type(document).__name__}")
    base = dict(document)
    table = base.pop("sweep", None) or {}
    if not isinstance(table, Mapping):
        raise ScenarioError("[sweep] must be a table with keys grid, zip, repeat")
    for key in table:
        if key not in _SWEEP_KEYS:
            close = difflib.get_close_matches(str(key), _SWEEP_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; accepted keys here: {', '.join(_SWEEP_KEYS)}"
            raise ScenarioError(f"unknown key 'sweep.{key}'{hint}")
    file_grid = _axes(table.get("grid"), "sweep.grid")
    file_zip = _axes(table.get("zip"), "sweep.zip")
    cli_grid, cli_zip = _axes(grid, "--grid"), _axes(zip, "--zip")
    for key in (*cli_grid, *cli_zip):
        file_grid.pop(key, None)
        file_zip.pop(key, None)
    grid_axes, zip_axes = {**file_grid, **cli_grid}, {**file_zip, **cli_zip}
    _check_axes(grid_axes, zip_axes)
    count = _check_repeat(repeat if repeat is not None else table.get("repeat", 1))
    if overrides:
        items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
        overrides = dict(items)
        both = sorted(set(overrides) & (set(grid_axes) | set(zip_axes)))
        if both:
            raise ScenarioError(f"{both[0]!r} is both set and swept; drop one of them")
        base = apply_overrides(base, overrides)
    sweep = Sweep(
        base=base,
        name=str(name if name is not None else base.get("name", "scenario")),
        base_dir=base_dir,
        grid=grid_axes,
        zip=zip_axes,
        repeat=count,
        source=source,
    )
    _validate(sweep, next(_points(sweep)), 0)
    return sweep


def expand(scenario, *, grid=None, zip=None, repeat: int | None = None, overrides=None) -> list[SweepRun]:
    """Expand a sweep into its runs, validating every one before returning.

    Parameters
    ----------
    scenario : Sweep, str, Path or dict
        A :class:`Sweep`, a scenario file (with an optional ``[sweep]`` table) or a
        scenario document.
    grid, zip, repeat, overrides
        As for :func:`load_sweep` (not accepted with a :class:`Sweep`).

    Returns
    -------
    list of SweepRun
        In expansion order (grid axes, first slowest; then zip; repeats innermost).

    Raises
    ------
    ScenarioError
        The first invalid run's scenario error, followed by which run it is.

    Examples
    --------
    >>> runs = expand({"topology": {"hosts": 4}}, grid={"topology.bandwidth": "1Gbps,10Gbps"}, repeat=2)
    >>> [(r.params["topology.bandwidth"], r.params["repeat"], r.document["seed"]) for r in runs]
    [('1Gbps', 0, 0), ('1Gbps', 1, 1), ('10Gbps', 0, 0), ('10Gbps', 1, 1)]
    """
    sweep = as_sweep(scenario, grid=grid, zip=zip, repeat=repeat, overrides=overrides)
    return [_validate(sweep, point, index) for index, point in enumerate(_points(sweep))]


def as_sweep(scenario, *, grid=None, zip=None, repeat=None, overrides=None) -> Sweep:
    """Return ``scenario`` as a :class:`Sweep` (see :func:`expand` for what it accepts)."""
    if isinstance(scenario, Sweep):
        if grid or zip or repeat is not None or overrides:
            raise TypeError("axes and overrides apply to scenario files and documents, not to a Sweep")
        return scenario
    if isinstance(scenario, Mapping):
        return sweep_from_dict(scenario, grid=grid, zip=zip, repeat=repeat, overrides=overrides)
    return load_sweep(scenario, grid=grid, zip=zip, repeat=repeat, overrides=overrides)


def _points(sweep: Sweep) -> Iterable[dict]:
    """Yield ``{key: value, ..., "repeat": i}`` in expansion order."""
    grid_keys = list(sweep.grid)
    zip_rows = list(zip(*sweep.zip.values(), strict=True)) if sweep.zip else [()]
    for combo in itertools.product(*sweep.grid.values()):
        for row in zip_rows:
            point = dict(zip(grid_keys, combo, strict=True))
            point.update(zip(sweep.zip, row, strict=True))
            for i in range(sweep.repeat):
                yield {**point, "repeat": i}


def _validate(sweep: Sweep, point: dict, index: int) -> SweepRun:
    values = {k: v for k, v in point.items() if k != "repeat"}
    document = apply_overrides(sweep.base, values)
    document["seed"] = _base_seed(document) + point["repeat"]
    try:
        scenario = scenario_from_dict(document, name=sweep.name, base_dir=sweep.base_dir)
    except ScenarioError as exc:
        where = ", ".join(f"{k}={_show(v)}" for k, v in point.items() if k != "repeat" or sweep.repeat > 1)
        raise ScenarioError(f"{exc} (sweep run {index + 1} of {sweep.size}" + (f": {where})" if where else ")")) from None
    return SweepRun(index, run_id(scenario), dict(point), document, sweep.base_dir)


def _base_seed(document: dict) -> int:
    seed = document.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ScenarioError(f"seed: must be an integer to repeat runs, got {seed!r}")
    return seed


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _axes(spec, where: str) -> dict[str, tuple]:
    """Normalise axes given as a mapping or as ``["key=values", ...]``."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, Mapping):
        axes = {}
        for key, values in spec.items():
            if isinstance(values, str):
                try:
                    values = parse_values(values)
                except ScenarioError as exc:
                    raise ScenarioError(f"{where} {key!r}: {exc}") from None
            elif isinstance(values, tuple | list):
                values = list(values)
            else:
                values = [values]
            axes[str(key)] = tuple(values)
    else:
        axes = {}
        for text in spec:
            key, values = parse_axis(text)
            if key in axes:
                raise ScenarioError(f"{where} {key!r} is given twice; list all its values in one axis")
            axes[key] = tuple(values)
    for key, values in axes.items():
        if not values:
            raise ScenarioError(f"{where} {key!r} has no values")
        if key in RESERVED_COLUMNS or key.split(".")[0] == "sweep":
            raise ScenarioError(f"{where} {key!r}: cannot sweep {key!r} (use --repeat for repeats)")
    return axes


def _check_axes(grid: dict, zip_axes: dict) -> None:
    both = sorted(set(grid) & set(zip_axes))
    if both:
        raise ScenarioError(f"{both[0]!r} is both a grid and a zip axis; use one")
    keys = [*grid, *zip_axes]
    for a in keys:
        for b in keys:
            if a != b and b.startswith(a + "."):
                raise ScenarioError(f"axes {a!r} and {b!r} overlap; sweep one of them")
    lengths = {key: len(values) for key, values in zip_axes.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ScenarioError(f"zipped axes must have the same number of values: {shown}")


def _check_repeat(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScenarioError(f"repeat: must be a whole number >= 1, got {value!r}")
    return value
