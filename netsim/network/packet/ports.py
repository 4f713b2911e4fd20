"""Output ports of the packet model: host NICs, switch queues, drops, ECN and PFC.

Every directed link is served by the output port of its upstream node.

* **Host ports** (NICs; upstream node not a switch) pull their next frame when they
  finish one: first forwarded and control frames (ACKs, NAKs, responses) in arrival
  order, then one data frame from each connection with something to send, round robin.
  A NIC queue never drops (the sender's socket buffer holds the data).
* **Switch ports** are FIFO output queues, store and forward. A frame that arrives at
  time ``a`` starts when the port is free: ``max(a, end of the previous frame)`` and
  crosses the link in ``size / bandwidth`` s, then its latency. Since a FIFO queue's
  departures are known when a frame joins it, a switch port costs no event of its own:
  the frame's arrival at the next node is scheduled at once. The queue holds the frames
  not yet fully sent (the one on the wire included); a data frame that would bring it
  above ``buffer`` bytes is dropped (tail drop), and with ECN a data frame that joins a
  queue holding more than K bytes is marked.
* **PFC** (lossless fabrics, ``TransportProfile.lossless``): nothing is dropped for lack
  of buffer. When a switch queue holds more than ``buffer`` bytes (XOFF) after admitting
  a frame, the link the frame came in on is paused: after that link's latency (the
  PAUSE frame's flight) its upstream port starts no new frame; frames it had already
  scheduled to start later are taken back. The queue releases every link it paused once
  it has drained to XON = ``buffer − 2`` full frames (``buffer / 2`` unframed), again
  after each link's latency. A paused port stops all its traffic (one priority class:
  head-of-line blocking and congestion spreading are modelled; so are PFC deadlocks on
  cyclic routes). Frames in flight when a pause is sent are absorbed above XOFF
  (headroom): :meth:`max_queue` shows how far.
"""

from __future__ import annotations

import math
from heapq import heappush

from netsim.network.packet.state import DATA

__all__ = ["PortsMixin", "ARRIVE", "NIC", "TIMER", "START", "RESUME", "PACE"]

_INF = math.inf
#: Kinds of entries of the model's event heap ``(time, n, kind, obj, token)``.
ARRIVE, NIC, TIMER, START, RESUME, PACE = 0, 1, 2, 3, 4, 5


class PortsMixin:
    """Port behaviour of :class:`~netsim.network.packet.PacketNetwork` (uses its arrays)."""

    def _emit(self, link: int, at: float, frame) -> None:
        """`frame` will have crossed `link` at time `at` (arrivals per link are in order)."""
        q = self._arrivals[link]
        q.append((at, frame))
        if len(q) == 1:
            heappush(self._heap, (at, next(self._count), ARRIVE, link, self._link_tok[link]))

    def _revoke(self, link: int, effective: float) -> list:
        """Take back the frames scheduled to start on `link` at or after `effective`."""
        sched, arrivals = self._sched[link], self._arrivals[link]
        frames = []
        while sched and sched[-1][3] >= effective:
            _, _, frame, start = sched.pop()
            arrivals.pop()
            frames.append(frame)
        if not arrivals:
            self._link_tok[link] += 1  # its heap entry is void
        if frames:
            frames.reverse()
            self._free[link] = sched[-1][0] if sched else start
        return frames

    # ------------------------------------------------------------------- NICs
    def _nic_kick(self, p: int, now: float) -> None:
        """Make host port `p` send if it is idle."""
        if self._nic_busy[p]:
            return
        free = self._free[p]
        if free > now:
            self._nic_busy[p] = True
            heappush(self._heap, (free, next(self._count), NIC, p, self._nic_tok[p]))
            return
        self._nic_send(p, now)

    def _nic_send(self, p: int, now: float) -> None:
        """Host port `p` is free at `now`: start its next burst of frames, if any.

        A burst is up to :attr:`NIC_BURST` frames sent back to back (like a TSO/GSO
        segment): control and forwarded frames first, then data round robin over the
        connections with something to send. What becomes ready during a burst waits for
        its end.
        """
        paused = self._paused_from[p]
        t = self._free[p]
        if t < now:
            t = now
        if paused <= t:
            self._nic_busy[p] = False
            return
        fifo, rr, pull = self._fifo[p], self._rr[p], self._pull
        sched, arrivals = self._sched[p], self._arrivals[p]
        while sched and sched[0][0] <= now:
            sched.popleft()
        cap, lat = self._caps[p], self._lats[p]
        sent = 0
        burst = self.NIC_BURST
        while sent < burst and t < paused:
            if fifo:
                frame = fifo.popleft()
            else:
                frame = None
                while rr:
                    conn = rr[0]
                    frame = pull(conn, t)
                    if frame is None:
                        rr.popleft()
                        conn.active = False
                        continue
                    if len(rr) > 1:
                        rr.rotate(-1)
                    break
                if frame is None:
                    break
            size = frame.size
            end = t + size / cap
            sched.append((end, size, frame, t))
            arrivals.append((end + lat, frame))
            if len(arrivals) == 1:
                heappush(
                    self._heap, (end + lat, next(self._count), ARRIVE, p, self._link_tok[p])
                )
            t = end
            sent += 1
        if not sent:
            self._nic_busy[p] = False
            return
        self._free[p] = t
        heappush(self._heap, (t, next(self._count), NIC, p, self._nic_tok[p]))
        self._nic_busy[p] = True

    def _activate(self, conn, now: float) -> None:
        """`conn` may have frames to send: put it in its NIC's round robin."""
        if not conn.active:
            conn.active = True
            self._rr[conn.nic].append(conn)
        self._nic_kick(conn.nic, now)

    def _send_control(self, frame, now: float) -> None:
        """Queue a control frame at the NIC of its first link."""
        p = frame.links[0]
        self.control_bytes += frame.size
        self._fifo[p].append(frame)
        self._nic_kick(p, now)

    # ---------------------------------------------------------------- switches
    def _enqueue(self, frame, p: int, ingress: int, now: float) -> None:
        """`frame` arrives at switch port `p` (from link `ingress`) at `now`."""
        sched = self._sched[p]
        occ = self._occ[p]
        while sched and sched[0][0] <= now:
            occ -= sched.popleft()[1]
        size = frame.size
        if frame.kind == DATA:
            if occ + size > self._buffer and not self._lossless:
                self._occ[p] = occ
                self._drops[p] += 1
                self.dropped_bytes += size
                self.bytes_dropped += size
                self.frames_dropped += 1
                self._dropped(frame, now)
                return
            if self._ecn and occ > self._mark_at:
                frame.ce = True
                self._marks[p] += 1
        occ += size
        self._occ[p] = occ
        if occ > self._max_occ[p]:
            self._max_occ[p] = occ
        start = self._free[p]
        if start < now:
            start = now
        if start >= self._paused_from[p]:
            self._held[p].append(frame)
        else:
            end = start + size / self._caps[p]
            self._free[p] = end
            sched.append((end, size, frame, start))
            at = end + self._lats[p]
            q = self._arrivals[p]
            q.append((at, frame))
            if len(q) == 1:
                heappush(self._heap, (at, next(self._count), ARRIVE, p, self._link_tok[p]))
        if occ > self._buffer and self._lossless:
            self._pause(ingress, p, now)

    def _occupancy(self, p: int, now: float) -> float:
        """Bytes queued at switch port `p` at `now` (held frames included)."""
        sched = self._sched[p]
        occ = self._occ[p]
        while sched and sched[0][0] <= now:
            occ -= sched.popleft()[1]
        self._occ[p] = occ
        return occ

    # --------------------------------------------------------------------- PFC
    def _pause(self, link: int, queue: int, now: float) -> None:
        """Switch queue `queue` is above XOFF: pause `link` (if it does not already)."""
        pausers = self._paused_links[queue]
        if link in pausers:
            return
        pausers.append(link)
        if len(pausers) == 1:
            self._arm_resume(queue, now)
        self._pauses[link] += 1
        self._pause_count[link] += 1
        if self._pause_count[link] > 1:
            return
        effective = now + self._lats[link]
        self._paused_from[link] = effective
        frames = self._revoke(link, effective)
        if self._switch[link]:
            self._held[link].extendleft(reversed(frames))
        elif frames:  # a NIC: they leave first when it resumes
            self._fifo[link].extendleft(reversed(frames))
            self._nic_tok[link] += 1  # the burst's end event is void
            self._nic_busy[link] = False

    def _arm_resume(self, queue: int, now: float) -> None:
        """Schedule a check of `queue` at the time its scheduled frames drain it to XON."""
        occ = self._occupancy(queue, now)
        excess = occ - self._xon
        self._resume_tok[queue] += 1
        tok = self._resume_tok[queue]
        if excess <= 0:
            heappush(self._heap, (now, next(self._count), RESUME, queue, tok))
            return
        for end, size, _, _ in self._sched[queue]:
            excess -= size
            if excess <= 0:
                heappush(self._heap, (end, next(self._count), RESUME, queue, tok))
                return
        # Held frames must leave first: re-armed when this queue is itself released.

    def _resume_check(self, queue: int, now: float) -> None:
        """RESUME event: release the links `queue` paused if it is at or below XON."""
        if not self._paused_links[queue]:
            return
        if self._occupancy(queue, now) > self._xon:
            self._arm_resume(queue, now)
            return
        links = self._paused_links[queue]
        self._paused_links[queue] = []
        for link in links:
            self._pause_count[link] -= 1
            if self._pause_count[link] == 0:
                self._release(link, now + self._lats[link], now)

    def _release(self, link: int, effective: float, now: float) -> None:
        """Lift the pause of `link` from time `effective` on."""
        self._paused_from[link] = _INF
        if self._free[link] < effective:
            self._free[link] = effective
        if not self._switch[link]:
            self._nic_kick(link, now)
            return
        held = self._held[link]
        if held:
            sched, cap, lat = self._sched[link], self._caps[link], self._lats[link]
            t = self._free[link]
            for frame in held:
                end = t + frame.size / cap
                sched.append((end, frame.size, frame, t))
                self._emit(link, end + lat, frame)
                t = end
            self._free[link] = t
            held.clear()
        if self._paused_links[link]:
            self._arm_resume(link, now)
