"""netsim: discrete-event simulation of distributed deep-learning communication.

Network timing (SimPy; flow-level max-min sharing or alpha-beta) and the real gradient
math (NumPy) simulated together. The curated public API:

- :func:`simulate`, :func:`load_scenario`, :func:`scenario_from_dict`, :class:`Scenario`,
  :class:`Result`: run scenarios and read their results.
- :func:`simulate_collective`: one collective on its own (exact arrays and time).
- :func:`run_sweep`, :func:`load_results`, :func:`plot`, :func:`write_trace` (imported on
  first use): sweeps, results as pandas DataFrames, figures, Perfetto traces.
- subpackages :mod:`netsim.topology`, :mod:`netsim.network`, :mod:`netsim.collectives`,
  :mod:`netsim.training`, :mod:`netsim.faults` (``[[faults]]``: failures and recovery), :mod:`netsim.workload` (size-only sharded LLM jobs); units in :mod:`netsim.units`; errors in :mod:`netsim.exceptions`.
"""

__version__ = "0.1.0"

from netsim import collectives, faults, network, topology, training, units, workload
from netsim.collectives import Communicator, algorithms, get_algorithm, simulate_collective
from netsim.exceptions import (
    NetsimError,
    RoutingError,
    ScenarioError,
    SimulationError,
    TopologyError,
)
from netsim.network import NETWORK_MODELS, make_network
from netsim.results import Result
from netsim.runner import simulate
from netsim.scenario import Scenario, load_scenario, scenario_from_dict
from netsim.topology import TOPOLOGIES, Router, build_topology, from_file
from netsim.units import (
    format_bandwidth,
    format_size,
    format_time,
    parse_bandwidth,
    parse_size,
    parse_time,
)

__all__ = [
    "__version__",
    "simulate",
    "load_scenario",
    "scenario_from_dict",
    "Scenario",
    "Result",
    "simulate_collective",
    "Communicator",
    "algorithms",
    "get_algorithm",
    "NETWORK_MODELS",
    "make_network",
    "TOPOLOGIES",
    "build_topology",
    "from_file",
    "Router",
    "parse_bandwidth",
    "parse_time",
    "parse_size",
    "format_bandwidth",
    "format_time",
    "format_size",
    "NetsimError",
    "ScenarioError",
    "TopologyError",
    "RoutingError",
    "SimulationError",
    "collectives",
    "network",
    "topology",
    "training",
    "faults",
    "units",
    "workload",
    "load_results",
    "run_sweep",
    "plot",
    "write_trace",
]

_LAZY = {
    "load_results": ("netsim.load", "load_results"),
    "run_sweep": ("netsim.sweep", "run_sweep"),
    "plot": ("netsim.plots", "plot"),
    "write_trace": ("netsim.trace", "write_trace"),
}


def __getattr__(name: str):
    """Import the result-side API (pandas/matplotlib/Dask users) only when first used."""
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'netsim' has no attribute {name!r}")
