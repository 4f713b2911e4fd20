"""Ring allreduce as a callback state machine (the dataflow engine, see :mod:`~netsim.collectives.engine`).

The ring is a dependency graph of messages: rank ``r``'s message of step ``k + 1`` leaves
when its message of step ``k`` from ``r − 1`` has arrived. Here each message's delivery
event carries one callback (``_RingRank._arrive`` of the receiving rank), which does what the
reference generator (:func:`~netsim.collectives.ring.ring_allreduce_reference`) does when
that delivery resumes it: reduce the chunk (``received + own``) or store it, send the
next one, and continue through any later messages that already arrived; after its last
step the rank's generator is resumed at once (:func:`~netsim.collectives.engine.fire_now`).
A rank's generator therefore runs twice per collective instead of ``2(p − 1)`` times, no
mailbox is used, and the delivery event is reused for the rank's next send. With a
size-only payload every message weighs ``n/p`` and no chunk is touched, so a rank's
state is a few numbers (lists of ``p`` chunks per rank would cost ``O(p²)`` memory and
cache misses at ``p = 1024``).

Step ``k = 0 .. 2p − 3`` of rank ``r`` sends chunk ``(r − k) mod p`` to ``r + 1`` and,
when the message of step ``k`` from ``r − 1`` arrives, updates chunk ``(r − k − 1) mod p``:
``received + own`` in the reduce-scatter (``k < p − 1``), ``received`` in the all-gather.
The calls to ``transfer()``, their sizes and payloads, the byte counters and the moments
the ranks resume are those of the reference, in the same order, so every result is
bit-identical (``tests/collectives/test_dataflow.py``).
"""

from __future__ import annotations

import numpy as np
from simpy.events import PENDING, Event

from netsim.collectives.chunks import split, wire_nbytes
from netsim.collectives.comm import Communicator
from netsim.collectives.engine import CollectiveWait, fire_now

__all__ = ["RingAllreduceFlow"]


class RingAllreduceFlow:
    """One ring allreduce call shared by all ranks of ``comm`` (``comm.size >= 2``).

    Parameters
    ----------
    comm : Communicator
        The ranks; the ring follows rank order.
    """

    __slots__ = ("ranks",)

    def __init__(self, comm: Communicator):
        p = comm.size
        sent, messages, origin = comm.accounts()
        self.ranks = [_RingRank(comm, r, sent, messages, origin[r]) for r in range(p)]
        for r, state in enumerate(self.ranks):
            state.forward = self.ranks[(r + 1) % p]._arrive

    def join(self, rank: int, data, nbytes: float, elem: float | None) -> Event:
        """Rank ``rank`` enters; returns the event its generator waits on.

        ``data`` is the rank's vector (``None`` if size-only), ``nbytes`` its bytes on the
        wire and ``elem`` the wire bytes per element
        (:func:`~netsim.collectives.chunks.element_bytes`). The event's value is the
        rank's result; it is already processed if the rank finished while entering.
        """
        return self.ranks[rank].join(data, nbytes, elem)


class _RingRank:
    """The state machine of one rank: which step it waits for, its chunks, early arrivals."""

    __slots__ = (
        "env",
        "transfer",
        "rank",
        "p",
        "last",
        "src",
        "dst",
        "sent",
        "messages",
        "origin",
        "forward",
        "step",
        "data",
        "chunks",
        "sizes",
        "elem",
        "ahead",
        "waiter",
    )

    def __init__(self, comm: Communicator, rank: int, sent: list, messages: list, origin: int):
        p = comm.size
        self.env = comm.env
        self.transfer = comm.network.transfer
        self.rank = rank
        self.p = p
        self.last = 2 * (p - 1)
        self.src = comm.hosts[rank]
        self.dst = comm.hosts[(rank + 1) % p]
        self.sent, self.messages, self.origin = sent, messages, origin
        self.forward = None  # the next rank's _arrive
        self.step = -1  # the step whose message this rank waits for; -1 before it enters
        self.data = self.chunks = self.sizes = self.elem = self.waiter = None
        self.ahead: dict | None = None  # {step: payload} delivered before the rank waited for it

    def join(self, data, nbytes: float, elem: float | None) -> Event:
        waiter = self.waiter = CollectiveWait(self.env)
        rank, p = self.rank, self.p
        if data is None:  # split(None, nbytes, p): p chunks of nbytes / p, kept as one number
            self.sizes = [nbytes / p]
            own, size = None, self.sizes[0]
        else:
            self.chunks, self.sizes = split(data, nbytes, p)
            own, size = self.chunks[rank], self.sizes[rank]
        self.data, self.elem = data, elem
        self.step = 0
        # Step 0 sends the rank's own chunk.
        self.sent[self.origin] += size
        self.messages[self.origin] += 1
        event = Event(self.env)
        event.callbacks.append(self.forward)
        event.step = 0
        self.transfer(self.src, self.dst, size, value=own, event=event)
        ahead = self.ahead
        if ahead and 0 in ahead:  # step 0 from the left arrived before this rank entered
            early = Event(self.env)
            early._ok = True
            early._value = ahead.pop(0)
            early.step = 0
            self._arrive(early)
        return waiter

    def _arrive(self, event: Event) -> None:
        """Delivery callback: the message of step ``event.step`` reached this rank.

        Consumes it and every later message already delivered, sending the next step's
        message each time (reusing ``event``, which SimPy has processed, for the first).
        This is the engine's hot path: one call per message, sends inlined.
        """
        k = event.step
        if k != self.step:  # not entered yet, or waiting for an earlier step
            ahead = self.ahead
            if ahead is None:
                ahead = self.ahead = {}
            ahead[k] = event._value
            return
        if self.data is None:
            if event._value is not None:
                raise _mixed(self.rank)
            self._advance_size_only(k, event)
            return
        value = event._value
        p = self.p
        chunks = self.chunks
        sizes = self.sizes
        while True:
            # Chunk (r - k - 1) mod p is updated now and is the one step k + 1 sends.
            into = (self.rank - k - 1) % p
            k += 1
            if k < p:  # reduce-scatter: received + own
                if value is not None:
                    chunks[into] = value + chunks[into]
                value = chunks[into]
                # The first all-gather step (k = p - 1) sends by the array's size, as
                # ring_all_gather_chunks does; the reduce-scatter by the split's sizes.
                nbytes = sizes[into] if k < p - 1 else wire_nbytes(value, self.elem, sizes[into])
            else:  # all-gather: store what arrived and pass it on
                chunks[into] = value
                if k == self.last:
                    self.step = k
                    self._finish()
                    return
                nbytes = wire_nbytes(value, self.elem, sizes[into])
            self.sent[self.origin] += nbytes
            self.messages[self.origin] += 1
            if event is None:
                event = Event(self.env)
                event.callbacks.append(self.forward)
            else:
                event.callbacks = [self.forward]
                event._value = PENDING
            event.step = k
            self.transfer(self.src, self.dst, nbytes, value=value, event=event)
            ahead = self.ahead
            if ahead and k in ahead:
                value = ahead.pop(k)
                event = None
                continue
            self.step = k
            return

    def _advance_size_only(self, k: int, event: Event | None) -> None:
        """:meth:`_arrive` for a size-only payload: no chunk to touch, every message the same size.

        ``split`` cuts a size-only vector into ``p`` chunks of ``nbytes / p`` bytes, so every
        message weighs ``sizes[0]`` (the only size kept).
        """
        nbytes = self.sizes[0]
        last = self.last
        while True:
            k += 1
            if k == last:
                self.step = k
                self._finish()
                return
            self.sent[self.origin] += nbytes
            self.messages[self.origin] += 1
            if event is None:
                event = Event(self.env)
                event.callbacks.append(self.forward)
            else:
                event.callbacks = [self.forward]
                event._value = PENDING
            event.step = k
            self.transfer(self.src, self.dst, nbytes, value=None, event=event)
            ahead = self.ahead
            if ahead and k in ahead:
                if ahead.pop(k) is not None:
                    raise _mixed(self.rank)
                event = None
                continue
            self.step = k
            return

    def _finish(self) -> None:
        result = None if self.data is None else np.concatenate(self.chunks)
        waiter = self.waiter
        self.chunks = self.data = self.waiter = self.ahead = self.forward = None
        fire_now(waiter, result)


def _mixed(rank: int) -> TypeError:
    return TypeError(f"ring allreduce: rank {rank} gave a size-only payload (data=None) but received an array; every rank must give an array, or every rank None")
