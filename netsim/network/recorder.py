"""Optional recording of what the network does: flow spans and per-link rates over time.

A :class:`FlowRecorder` attached to a network (``network.recorder = FlowRecorder()``) is
told when a flow starts, when its rate changes and when its last byte is sent; calls may
come in any time order (the analytic model knows a flow's end when it starts). At the
end it gives one span per flow and, per directed link, the piecewise-constant total rate
(sum of the rates of the flows crossing it). Recording costs time and memory; it is off
unless asked for (``netsim run --trace``, ``simulate(..., record=True)``).

Bytes and rates are those on the wire: with a transport profile a flow's ``bytes`` are
the message's wire bytes (plus expected retransmissions), and a flow starts once its
handshake, software and slow-start delay are over.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

__all__ = ["FlowRecorder"]


class FlowRecorder:
    """Collects flow spans and rate changes (seconds, bytes, bytes/s)."""

    __slots__ = ("_flows", "_changes")

    def __init__(self) -> None:
        self._flows: dict[int, dict] = {}
        self._changes: list[tuple[float, int, int, float]] = []

    def started(self, time: float, flow_id: int, src: Hashable, dst: Hashable, nbytes: float, links: Sequence[int]) -> None:
        """A flow of ``nbytes`` bytes from ``src`` to ``dst`` over ``links`` starts at ``time``."""
        self._flows[flow_id] = {
            "id": flow_id,
            "src": src,
            "dst": dst,
            "bytes": float(nbytes),
            "start_s": time,
            "end_s": None,
            "links": tuple(links),
        }

    def rate(self, time: float, flow_id: int, rate: float) -> None:
        """The flow's rate becomes ``rate`` bytes/s at ``time``."""
        self._changes.append((time, len(self._changes), flow_id, rate))

    def finished(self, time: float, flow_id: int) -> None:
        """The flow's last byte is sent at ``time``."""
        self._flows[flow_id]["end_s"] = time
        self.rate(time, flow_id, 0.0)

    @property
    def flows(self) -> list[dict]:
        """``{"id", "src", "dst", "bytes", "start_s", "end_s", "links"}`` per flow, in start order."""
        return [self._flows[k] for k in sorted(self._flows)]

    @property
    def samples(self) -> list[tuple[float, int, float]]:
        """``(time_s, link, total_rate)`` each time a directed link's total rate changes, in time order."""
        current: dict[int, float] = {}
        totals: dict[int, float] = {}
        samples: list[tuple[float, int, float]] = []
        for time, _, flow_id, rate in sorted(self._changes):
            old = current.get(flow_id, 0.0)
            if rate == old:
                continue
            current[flow_id] = rate
            for link in self._flows[flow_id]["links"]:
                total = totals.get(link, 0.0) + rate - old
                if abs(total) <= 1e-9 * max(abs(rate), abs(old)):
                    total = 0.0
                totals[link] = total
                if samples and samples[-1][0] == time and samples[-1][1] == link:
                    samples[-1] = (time, link, total)
                else:
                    samples.append((time, link, total))
        return samples
