"""A transport profile from a scenario's ``[network]`` table: ``transport``, ``mtu`` and one
option table per profile.

Layout (the README's scenario reference shows it too)::

    [network]
    transport = "grpc"        # ideal | tcp | udp | rocev2 | grpc | rest (aliases roce, rdma, http)
    mtu = 9000                # IP MTU of every framed transport (bytes)

    [network.tcp]             # TCP itself, and TCP under grpc and rest
    initial_window = 4
    min_rto = "1ms"

    [network.grpc]            # gRPC only (may override a TCP option for gRPC alone)
    max_message = "unlimited"

* One table per profile, named after it: ``[network.ideal]``, ``[network.tcp]``,
  ``[network.udp]``, ``[network.rocev2]``, ``[network.grpc]``, ``[network.rest]``. Each
  takes the options of its profile's family (:data:`~netsim.transport.OPTIONS`) except
  ``mtu``, which is set once as ``network.mtu``.
* Layers: a profile that frames messages over TCP (``grpc``, ``rest``) takes the
  ``[network.tcp]`` options first, then its own table's, which win. ``software_latency`` is
  per profile and is not inherited (gRPC's 50 µs per call already includes its TCP stack).
* Every table given is validated, used or not, but only the tables of the chosen
  transport's layers apply: one scenario can tune several families and sweep
  ``network.transport`` across them.

Every error is a :class:`~netsim.exceptions.ScenarioError` naming the dotted key
(``network.tcp.initial_window``), the value and what is accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from netsim.exceptions import ScenarioError
from netsim.transport.profile import TransportProfile
from netsim.transport.registry import OPTIONS, TRANSPORTS, canonical_name, make_transport
from netsim.transport.validate import TransportOptionError

__all__ = ["TABLES", "table_options", "transport_layers", "transport_from_tables"]

#: Names of the option tables, ``[network.<name>]``: one per registered profile.
TABLES = tuple(TRANSPORTS)
#: Options that belong to one profile and are not inherited from a lower layer's table.
PER_PROFILE = ("software_latency",)
# The table of each transport protocol: the registered profile of that protocol alone.
_PROTOCOL_TABLE = {p.protocol: name for name, p in TRANSPORTS.items() if p.application == "none"}


def _family(profile: TransportProfile) -> str:
    return profile.application if profile.application != "none" else profile.protocol


def table_options(table: str) -> tuple[str, ...]:
    """Keys accepted in ``[network.<table>]``: the profile family's options except ``mtu``.

    Examples
    --------
    >>> table_options("udp")
    ('l1_overhead', 'l2_overhead', 'min_frame', 'ip_header', 'software_latency', 'lossless')
    """
    return tuple(o for o in OPTIONS[_family(TRANSPORTS[table])] if o != "mtu")


def transport_layers(name: str) -> tuple[str, ...]:
    """Tables that apply to transport `name`, lowest layer first.

    Examples
    --------
    >>> transport_layers("grpc"), transport_layers("roce")
    (('tcp', 'grpc'), ('rocev2',))
    """
    profile = TRANSPORTS[canonical_name(name)]
    if profile.application == "none":
        return (profile.name,)
    return (_PROTOCOL_TABLE[profile.protocol], profile.name)


def _check_table(table: object, values: object) -> None:
    if table not in TABLES:
        hint = difflib.get_close_matches(str(table), TABLES, n=1, cutoff=0.6)
        raise ScenarioError(
            f"unknown key 'network.{table}'"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; transport option tables: {', '.join(TABLES)}"
        )
    if not isinstance(values, Mapping):
        raise ScenarioError(f"network.{table}: expected a table of options, got {values!r}")
    accepted = table_options(table)
    for key in values:
        if key in accepted:
            continue
        if key == "mtu":
            detail = "set the MTU once, as network.mtu (it applies to every transport)"
        else:
            every = {o for options in OPTIONS.values() for o in options}
            what = f"not an option of transport {table!r}" if key in every else "unknown option"
            hint = difflib.get_close_matches(str(key), accepted, n=1, cutoff=0.6)
            detail = (
                what
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; options of [network.{table}]: {', '.join(accepted)}"
            )
        raise ScenarioError(f"network.{table}.{key}: {detail}")


def _build(name: str, mtu: object, tables: Mapping[str, Mapping]) -> TransportProfile:
    overrides: dict[str, object] = {}
    paths: dict[str, str] = {}
    if mtu is not None:
        overrides["mtu"] = mtu
        paths["mtu"] = "network.mtu"
    layers = transport_layers(name)
    for table in layers:
        for key, value in tables.get(table, {}).items():
            if table != layers[-1] and key in PER_PROFILE:
                continue
            overrides[key] = value
            paths[key] = f"network.{table}.{key}"
    try:
        return make_transport(name, **overrides)
    except TransportOptionError as exc:
        path = paths.get(exc.field, f"network.{layers[-1]}.{exc.field}")
        raise ScenarioError(f"{path}: {exc.detail}") from None


def transport_from_tables(
    name: str, *, mtu: object = None, tables: Mapping[str, Mapping] | None = None
) -> TransportProfile:
    """The profile a scenario's ``[network]`` describes (see the module doc for the layout).

    Parameters
    ----------
    name : str
        ``network.transport``: a registered profile or alias.
    mtu : int or str, optional
        ``network.mtu``, bytes (``9000``, ``"9KB"``); default: each profile's (1500).
    tables : mapping, optional
        ``{"tcp": {"initial_window": 4}, ...}``: the ``[network.<profile>]`` tables.

    Returns
    -------
    TransportProfile

    Raises
    ------
    ScenarioError
        Naming the dotted key at fault (``network.transport``, ``network.mtu``,
        ``network.tcp.initial_window``, ...), the value and what is accepted.

    Examples
    --------
    >>> grpc = transport_from_tables("grpc", tables={"tcp": {"initial_window": 4, "software_latency": "1us"}})
    >>> grpc.initial_window, grpc.software_latency   # TCP's options, gRPC's own per-call time
    (4, 5e-05)
    >>> transport_from_tables("tcp", tables={"tcp": {"initial_window": 0}})
    Traceback (most recent call last):
    ...
    netsim.exceptions.ScenarioError: network.tcp.initial_window: expected a whole number >= 1, got 0
    """
    tables = dict(tables or {})
    for table, values in tables.items():
        _check_table(table, values)
    for table in tables:
        _build(table, mtu, tables)
    key = canonical_name(name)
    if not isinstance(key, str) or key not in TRANSPORTS:
        try:
            make_transport(name)  # raises, naming network.transport
        except TransportOptionError as exc:
            raise ScenarioError(str(exc)) from None
    return _build(key, mtu, tables)
