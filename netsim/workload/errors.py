"""The exception of an aggregation that is not proven exact (caught by the level search)."""

from __future__ import annotations

__all__ = ["AggregationRejected"]


class AggregationRejected(Exception):
    """The aggregation asked for is not proven exact for this step (the message says why).

    Not a user error: :func:`netsim.workload.run.find_level` catches it and tries a finer
    level, down to per flow. ``contexts`` names the communication contexts whose
    transfers were not symmetric.
    """

    def __init__(self, message: str, contexts=()):
        super().__init__(message)
        self.contexts = tuple(contexts)
