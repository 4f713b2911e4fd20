"""Communicator: ranks placed on network hosts, exchanging messages through mailboxes.

A collective is written SPMD-style, as MPI and NCCL programs are: every rank runs the
same verb-named generator with its own ``rank`` and data, and ranks meet through
tagged point-to-point messages. A message is ``(payload, nbytes)``: ``payload`` is what
arrives (a NumPy array, an encoded gradient, or ``None`` for size-only workloads) and
``nbytes`` is what the wire carries (bytes, may be fractional for size-only splits).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import simpy
from simpy.events import Event

__all__ = ["Communicator"]


class GroupId(int):
    """Mailbox id of a subgroup: a small int (hashed in O(1)) that knows its rank path.

    ``path`` holds, from the top communicator down, each level's member ranks (local rank
    ``i`` of a level is rank ``path[k][i]`` of its parent), as deadlock reports need
    (:mod:`netsim.guards`). A tuple of those member tuples was the id before: every
    message then hashed the whole membership, ``O(group size)`` per send and receive.
    """

    path: tuple

    def __new__(cls, number: int, path: tuple) -> GroupId:
        gid = super().__new__(cls, number)
        gid.path = path
        return gid


class Communicator:
    """A group of ranks mapped onto hosts of a network.

    Parameters
    ----------
    env : simpy.Environment
        The simulation environment.
    network : netsim.network.Network
        The network model; only its ``transfer()`` is used.
    hosts : sequence of node names
        ``hosts[r]`` is the host that rank ``r`` runs on. Several ranks may share a host
        (messages between them are local copies and take no time).

    Notes
    -----
    ``send`` and ``recv`` may be called in either order: whichever comes first creates the
    mailbox slot (one SimPy event) and the other consumes it, so a message costs exactly
    one event. Messages never block the sender (eager, buffered sends).
    """

    __slots__ = (
        "env",
        "network",
        "hosts",
        "size",
        "ranks",
        "_mailbox",
        "_calls",
        "_gid",
        "_top",
        "_subgroups",
        "_subgroup_count",
        "_shared",
        "bytes_sent",
        "messages",
    )

    def __init__(self, env: simpy.Environment, network, hosts: Sequence[Hashable]):
        if len(hosts) < 1:
            raise ValueError("a communicator needs at least one rank")
        self.env = env
        self.network = network
        self.hosts = list(hosts)
        self.size = len(self.hosts)
        self.ranks = list(range(self.size))
        self._mailbox: dict[tuple, simpy.Event] = {}
        self._calls = [0] * self.size
        self._gid: GroupId | tuple = ()  # () for a top-level communicator
        self._top = self
        self._subgroup_count = 0  # subgroups made in this tree so far (top only): their ids
        self._subgroups: dict[tuple[int, ...], Communicator] = {}
        self._shared: dict[Hashable, list] = {}
        self.bytes_sent = [0.0] * self.size
        self.messages = [0] * self.size

    def subgroup(self, ranks: Sequence[int]) -> Communicator:
        """A communicator over some of this one's ranks (local rank ``i`` = ``ranks[i]`` here).

        Like ``MPI_Comm_split``: messages in the subgroup never match messages outside it,
        its collective call counters are its own, and bytes are credited to the top-level
        ranks (``bytes_sent`` of the top communicator). The same ``ranks`` always give the
        same subgroup object, so every rank may call this independently (SPMD).
        """
        key = tuple(int(r) for r in ranks)
        sub = self._subgroups.get(key)
        if sub is None:
            if not key or len(set(key)) != len(key) or not all(0 <= r < self.size for r in key):
                raise ValueError(f"subgroup ranks must be distinct ranks of this communicator, got {list(ranks)}")
            sub = Communicator(self.env, self.network, [self.hosts[r] for r in key])
            sub.ranks = [self.ranks[r] for r in key]
            sub._mailbox = self._top._mailbox
            top = self._top
            top._subgroup_count += 1
            sub._gid = GroupId(top._subgroup_count, (*self._gid.path, key) if self._gid else (key,))
            sub._top = self._top
            self._subgroups[key] = sub
        return sub

    def new_call(self, rank: int) -> int:
        """Return the sequence number of ``rank``'s next collective call.

        Every rank calls the same collectives in the same order, so equal sequence
        numbers identify one collective operation across ranks (used in message tags).
        """
        seq = self._calls[rank]
        self._calls[rank] = seq + 1
        return seq

    def accounts(self) -> tuple[list[float], list[int], list[int]]:
        """Where this communicator's sends are counted: ``(bytes_sent, messages, ranks)``.

        ``bytes_sent`` and ``messages`` are the top-level communicator's lists, and local
        rank ``r`` is credited at index ``ranks[r]`` (what :meth:`send` does).
        """
        top = self._top
        return top.bytes_sent, top.messages, self.ranks

    def shared(self, key: Hashable, factory: Callable[[], Any]) -> Any:
        """State shared by the ranks of one collective call, made by the first rank to ask.

        Every rank of the communicator calls this once per collective call with the same
        ``key`` (e.g. ``(algorithm name, sequence number)``); the first call makes the
        object with ``factory()``, the others get the same object, and the entry is
        dropped once all ``size`` ranks have asked.
        """
        entry = self._shared.get(key)
        if entry is None:
            entry = self._shared[key] = [factory(), 0]
        entry[1] += 1
        if entry[1] == self.size:
            del self._shared[key]
        return entry[0]

    def send(self, src: int, dst: int, tag: Hashable, payload, nbytes: float) -> simpy.Event:
        """Send ``payload`` (``nbytes`` on the wire) from rank ``src`` to rank ``dst``.

        Returns the delivery event (fires when the last byte arrives; value = payload).
        The caller must not mutate ``payload`` afterwards: it is what the receiver gets.
        """
        key = (self._gid, src, dst, tag) if self._gid else (src, dst, tag)
        mailbox = self._mailbox
        event = mailbox.pop(key, None)
        if event is None:
            event = mailbox[key] = Event(self.env)
        top, origin = self._top, self.ranks[src]
        top.bytes_sent[origin] += nbytes
        top.messages[origin] += 1
        return self.network.transfer(self.hosts[src], self.hosts[dst], nbytes, value=payload, event=event)

    def recv(self, dst: int, src: int, tag: Hashable) -> simpy.Event:
        """Event that fires with the payload of the message ``src`` sends ``dst`` under ``tag``."""
        key = (self._gid, src, dst, tag) if self._gid else (src, dst, tag)
        mailbox = self._mailbox
        event = mailbox.pop(key, None)
        if event is None:
            event = mailbox[key] = Event(self.env)
        return event

    def pending_messages(self) -> int:
        """Number of mailbox slots (of the whole communicator tree) not yet matched by a send and a receive."""
        return len(self._mailbox)
