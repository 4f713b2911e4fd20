"""Faults and recovery: failing links and switches, degraded and lossy links, crashing and slow workers.

A scenario lists its faults as ``[[faults]]`` tables (:mod:`netsim.faults.spec`); the
runner builds a :class:`FaultInjector` (:func:`build_faults`) that applies them during
the simulation. Modules, one concept each:

================ =====================================================================
``spec``         the ``[[faults]]`` schema and its checks (errors name ``faults[i].key``)
``schedule``     fixed windows and seeded MTBF/MTTR schedules (:class:`Windows`)
``links``        link state on the flow network: rerouting, stalls, partitions, loss
``workers``      crash detection, checkpoints, restart or elastic continuation (BSP)
``stragglers``   transient compute slowdowns of a worker
``records``      one record per occurrence; summary keys; the steps' ``faults`` column
``injector``     the timeline that applies everything inside one simulation
================ =====================================================================

See ``docs/faults.md`` for the semantics and the formulas the tests check.
"""

from netsim.faults.injector import FaultInjector, build_faults
from netsim.faults.links import FaultRouter, LinkFaults, supports_network_faults
from netsim.faults.records import FAULT_COLUMNS, FaultLog, FaultRecord
from netsim.faults.schedule import Windows
from netsim.faults.spec import (
    FAULT_KINDS,
    NETWORK_FAULT_KINDS,
    RECOVERY_MODES,
    FaultSpec,
    check_faults,
    parse_faults,
)
from netsim.faults.stragglers import StragglerClock, stretched_time
from netsim.faults.workers import Checkpoint, Supervisor

__all__ = [
    "FAULT_KINDS",
    "NETWORK_FAULT_KINDS",
    "RECOVERY_MODES",
    "FAULT_COLUMNS",
    "FaultSpec",
    "parse_faults",
    "check_faults",
    "Windows",
    "stretched_time",
    "StragglerClock",
    "LinkFaults",
    "FaultRouter",
    "supports_network_faults",
    "Supervisor",
    "Checkpoint",
    "FaultRecord",
    "FaultLog",
    "FaultInjector",
    "build_faults",
]
