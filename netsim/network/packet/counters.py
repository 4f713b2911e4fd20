"""What the packet model counts, per directed link and in total (bytes, frames, seconds).

Link counters follow :class:`~netsim.network.base.Network`: ``link_bytes`` counts the
wire bytes of every frame (data and control, retransmissions included) once it has
fully crossed the link, ``link_busy_time`` the seconds the link spent serialising them
(``bytes / bandwidth``: a link is never busy with two frames at once), ``link_flows``
the messages routed over it. Added here: drops (full queue of the port feeding the
link), random losses on the link, ECN marks, PFC pauses and the largest queue.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CountersMixin"]


class CountersMixin:
    """Counter accessors of :class:`~netsim.network.packet.PacketNetwork`."""

    def link_busy_time(self) -> np.ndarray:
        """Seconds each directed link has spent serialising frames that crossed it.

        ``link_bytes / bandwidth``: a link serialises one frame at a time at its rate.
        """
        return self.link_bytes() / self.capacity

    def link_drops(self) -> np.ndarray:
        """Data frames dropped by the full output queue feeding each directed link."""
        return np.array(self._drops, dtype=np.int64)

    def link_losses(self) -> np.ndarray:
        """Data frames each directed link lost at random (``loss_rate``)."""
        return np.array(self._losses, dtype=np.int64)

    def link_marks(self) -> np.ndarray:
        """Data frames ECN-marked at the queue feeding each directed link."""
        return np.array(self._marks, dtype=np.int64)

    def link_pauses(self) -> np.ndarray:
        """PFC pauses received by each directed link's transmitter."""
        return np.array(self._pauses, dtype=np.int64)

    def max_queue(self) -> np.ndarray:
        """Largest bytes queued at the switch port feeding each link (0 for NICs)."""
        return np.array(self._max_occ, dtype=np.int64)

    @property
    def in_flight_bytes(self) -> float:
        """Data bytes sent and not yet arrived, dropped, lost or discarded."""
        return self.bytes_sent - self.bytes_delivered - self.bytes_dropped

    def packet_stats(self) -> dict[str, Any]:
        """Totals of the run so far: bytes, frames and transport events (see the class)."""
        keys = (
            "offered_bytes", "bytes_sent", "bytes_retransmitted", "bytes_delivered",
            "duplicate_bytes", "dropped_bytes", "lost_bytes", "bytes_dropped", "control_bytes",
            "frames_sent", "frames_delivered", "frames_dropped", "frames_lost", "frame_hops",
            "timeouts", "fast_retransmits", "go_backs", "ecn_reductions",
            "incomplete_messages",
        )  # fmt: skip
        stats = {key: getattr(self, key) for key in keys}
        stats["pauses"] = int(sum(self._pauses))
        stats["marks"] = int(sum(self._marks))
        return stats
