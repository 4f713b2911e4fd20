"""Double binary tree allreduce as callback state machines (the dataflow engine).

The reference (:func:`~netsim.collectives.double_binary_tree.double_binary_tree_reference`)
runs, per rank and tree, one SimPy process per child stream
(:func:`~netsim.collectives.broadcast.fan_out`) and one for the reduction
(:func:`~netsim.collectives.reduce.reduce_up`), and waits for all of them with
``all_of``. Here each of those processes is a small object whose methods are the event
callbacks (:class:`_Stream`, :class:`_Up`), each message is one event created by
whichever of sender and receiver comes first (as the mailbox does), and a rank's
``all_of`` is a counter (:class:`~netsim.collectives.engine.CollectiveWait`).

Results are bit-identical because the event structure is kept where it decides the
order of ``transfer()`` calls and resumptions: callbacks are registered on the same
events at the same moments, so they run in the same order; the processes' start
(``Initialize``, urgent, consecutive in the queue) is one urgent event; a finished
stream or reduction schedules its termination event, and the rank's ``all_of`` its
own event, as the processes and the condition do. What goes away is the generator
machinery, the mailbox dictionary and the tag tuples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from simpy.core import URGENT
from simpy.events import Event

from netsim.collectives.broadcast import piece_nbytes
from netsim.collectives.chunks import split
from netsim.collectives.comm import Communicator
from netsim.collectives.engine import CollectiveWait

__all__ = ["DoubleBinaryTreeFlow"]

_UP, _DOWN = 0, 1


class DoubleBinaryTreeFlow:
    """One double binary tree allreduce call shared by all ranks of ``comm``.

    Parameters
    ----------
    comm : Communicator
        The ranks.
    trees : callable
        ``trees(p, rank) -> [(parent, children), (parent, children)]``
        (:func:`~netsim.collectives.double_binary_tree.dtree`).
    """

    __slots__ = ("env", "transfer", "hosts", "p", "stride", "trees", "sent", "messages", "origin", "_box")

    def __init__(self, comm: Communicator, trees: Callable[[int, int], list]):
        self.env = comm.env
        self.transfer = comm.network.transfer
        self.hosts = comm.hosts
        self.p = comm.size
        self.stride = 4 * comm.size  # key step from one chunk to the next (see key())
        self.trees = trees
        self.sent, self.messages, self.origin = comm.accounts()
        self._box: dict[int, Event] = {}

    @staticmethod
    def key(child: int, t: int, direction: int) -> int:
        """Key of chunk 0's message between ``child`` and its parent in tree ``t``.

        Chunk ``i``'s key is ``key(child, t, direction) + i * stride``: one integer per
        message, ``((i · p + child) · 2 + t) · 2 + direction``.
        """
        return (child * 2 + t) * 2 + direction

    def message(self, key: int) -> Event:
        """The delivery event of the message with ``key`` (see :meth:`key`).

        Made by whichever of sender and receiver asks first, handed to the other (and
        forgotten) on the second call, as :meth:`Communicator.send`/``recv`` do.
        """
        event = self._box.pop(key, None)
        if event is None:
            event = self._box[key] = Event(self.env)
        return event

    def send(self, src: int, dst: int, event: Event, payload, nbytes: float) -> None:
        """Start the transfer of one message whose delivery fires ``event``."""
        origin = self.origin[src]
        self.sent[origin] += nbytes
        self.messages[origin] += 1
        self.transfer(self.hosts[src], self.hosts[dst], nbytes, value=payload, event=event)

    def join(self, rank: int, chunks: int, halves: list, half_sizes: list, elem: float | None) -> tuple[Event, list[Event]]:
        """Rank ``rank`` enters with the two halves of its vector, each pipelined in ``chunks``.

        Returns the event its generator waits on (all its streams, reductions and
        received chunks done) and the ``2 · chunks`` events whose values are its result.
        """
        env = self.env
        waits: list[Event] = []
        results: list[Event] = []
        starts: list[Callable[[], None]] = []
        for t, (parent, children) in enumerate(self.trees(self.p, rank)):
            pieces, sizes = split(halves[t], half_sizes[t], chunks)
            if parent is None:
                ready = [Event(env) for _ in range(chunks)]
            else:
                key, stride = self.key(rank, t, _DOWN), self.stride
                ready = [self.message(key + i * stride) for i in range(chunks)]
            for child in children:
                stream = _Stream(self, rank, t, child, ready, sizes, elem)
                starts.append(stream.start)
                waits.append(stream.done)
            up = _Up(self, rank, t, parent, children, pieces, sizes, ready if parent is None else None)
            starts.append(up.start)
            waits.append(up.done)
            waits += ready
            results += ready
        start = Event(env)
        start._ok = True
        start._value = None
        start.callbacks.append(lambda _: [begin() for begin in starts])
        env.schedule(start, URGENT)
        return CollectiveWait(env, waits), results


def _finish(event: Event) -> None:
    """Trigger a process-termination stand-in as a finishing SimPy process does."""
    event._ok = True
    event._value = None
    event.env.schedule(event)


class _Stream:
    """Rank ``rank`` forwards each chunk to ``child`` once it has it and the previous one is delivered."""

    __slots__ = ("flow", "rank", "t", "child", "ready", "sizes", "elem", "i", "key", "done", "forward", "delivered")

    def __init__(self, flow, rank, t, child, ready, sizes, elem):
        self.flow, self.rank, self.t, self.child = flow, rank, t, child
        self.ready, self.sizes, self.elem = ready, sizes, elem
        self.i = 0
        self.key = flow.key(child, t, _DOWN)  # of the current chunk's message to the child
        self.done = Event(flow.env)
        self.forward = self._forward  # bound once: one callback object per stream, not per chunk
        self.delivered = self._delivered

    def start(self) -> None:
        event = self.ready[self.i]
        if event.callbacks is None:
            self._forward(event)
        else:
            event.callbacks.append(self.forward)

    def _forward(self, event: Event) -> None:
        piece = event._value
        i = self.i
        if piece is None or self.elem is None:
            size = piece_nbytes(piece, self.sizes[i])
        else:
            size = len(piece) * self.elem
        flow = self.flow
        message = flow.message(self.key)
        flow.send(self.rank, self.child, message, piece, size)
        message.callbacks.append(self.delivered)

    def _delivered(self, _event: Event) -> None:
        self.i += 1
        self.key += self.flow.stride
        if self.i == len(self.ready):
            _finish(self.done)
            self.forward = self.delivered = None  # break the reference cycles
        else:
            self.start()


class _Up:
    """Rank ``rank`` adds its children's chunks to its own (``received + own``) and sends the sums up.

    The reference makes the mailbox slots of all its children's chunks when it starts;
    here each is asked for when it is needed (:meth:`DoubleBinaryTreeFlow.message` makes
    it then if the child has not sent it yet), which changes nothing observable: no
    callback is registered on a slot before that.
    """

    __slots__ = (
        "flow", "rank", "t", "parent", "children", "pieces", "sizes", "ready", "i", "j", "total", "done", "take",
        "sent", "keys", "key",
    )

    def __init__(self, flow, rank, t, parent, children, pieces, sizes, ready):
        self.flow, self.rank, self.t, self.parent, self.children = flow, rank, t, parent, children
        self.pieces, self.sizes, self.ready = pieces, sizes, ready
        self.i = self.j = 0
        self.total = None
        # Keys of chunk 0's messages from each child, and to the parent (chunk i: + i · stride).
        self.keys = [flow.key(child, t, _UP) for child in children]
        self.key = flow.key(rank, t, _UP)
        self.done = Event(flow.env)
        self.take = self._take
        self.sent = self._sent

    def start(self) -> None:
        self.total = self.pieces[0]
        self._next()

    def _next(self) -> None:
        keys = self.keys
        message_of = self.flow.message
        while True:
            offset = self.i * self.flow.stride
            while self.j < len(keys):
                event = message_of(keys[self.j] + offset)
                if event.callbacks is not None:
                    event.callbacks.append(self.take)
                    return
                self._add(event._value)
            i = self.i
            if self.parent is not None:
                message = message_of(self.key + offset)
                self.flow.send(self.rank, self.parent, message, self.total, self.sizes[i])
                message.callbacks.append(self.sent)
                return
            if self.ready is not None:
                self.ready[i].succeed(self.total)
            if not self._advance():
                return

    def _add(self, incoming) -> None:
        if incoming is not None:
            self.total = incoming + self.total
        self.j += 1

    def _take(self, event: Event) -> None:
        self._add(event._value)
        self._next()

    def _advance(self) -> bool:
        """Move to the next chunk; False (and the termination scheduled) after the last."""
        self.i += 1
        if self.i == len(self.pieces):
            _finish(self.done)
            self.take = self.sent = None  # break the reference cycles
            return False
        self.total = self.pieces[self.i]
        self.j = 0
        return True

    def _sent(self, _event: Event) -> None:
        if self._advance():
            self._next()


def result_of(data, results: list[Event]):
    """The rank's result from its received (or, at a root, reduced) chunk events."""
    pieces = [event._value for event in results]
    return None if data is None else np.concatenate(pieces)
