"""Exception hierarchy of netsim.

Every error a user can cause derives from :class:`NetsimError`; the CLI prints
such errors on one line and exits with status 2.
"""

__all__ = [
    "NetsimError",
    "ScenarioError",
    "TopologyError",
    "RoutingError",
    "SimulationError",
]


class NetsimError(Exception):
    """Base class of every error netsim raises on purpose."""


class ScenarioError(NetsimError, ValueError):
    """A scenario (file, override or value) is invalid; the message names the field."""


class TopologyError(NetsimError, ValueError):
    """A topology is invalid; the message names the node or edge at fault."""


class RoutingError(NetsimError):
    """No route exists between two nodes, or a route request is malformed."""


class SimulationError(NetsimError, RuntimeError):
    """A simulation cannot proceed (deadlock, guard exceeded, inconsistent state)."""
