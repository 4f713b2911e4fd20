"""When aggregated flows are exact: equitable partitions of flows and links.

The aggregated simulation moves a *family* of flows (images of one transfer under a
symmetry of the layout: the same transfer in every replica, say) as one weighted flow on
one representative link per *link class*. That is exact (every member gets exactly the
rate it gets in the per-flow max-min solution) when the partition of flows into
families and of links into classes is **equitable**:

- every link of a class carries the same number of members of each family, and
- every member of a family crosses the same multiset of link classes, with the same
  route latency.

Proof sketch: progressive filling raises every unfrozen flow at the same rate. If, at
some round, members of a family have equal rates, the load of a link is a function of
its class only (same member counts of every family), so links of a class saturate
together, and members of a family (same classes on their routes) freeze together: rates
stay equal within families, round after round. Restricting to the families active at
an instant keeps the partition equitable, so this holds at every solve; members of a
family start together, so they also finish together. The weighted problem on one
representative link per class, with weight = member count, is then the per-flow problem.

:func:`equitable_partition` finds the coarsest equitable refinement of "one colour per
family, one per link capacity" by colour refinement (1-dimensional Weisfeiler-Leman) on
the flow-link incidence, and reports the families it had to split (those cannot be
aggregated). :func:`algorithm_pairs` lists the (source, destination) rank pairs a
collective algorithm uses, to enumerate every family a step can start.

Examples
--------
Two hosts per switch, two switches; family A (h0→h2, h1→h3) is symmetric, so it is not
split; the host links (up and down) form one class, each carrying one member, the
switch-to-switch link carries both:

>>> routes = {"A": [((0, 4, 2), 1e-6), ((1, 4, 3), 1e-6)]}
>>> part = equitable_partition(routes, [1.0] * 5)
>>> part.split, part.weights["A"]
([], {0: 1, 4: 2})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import simpy
from simpy.core import NORMAL

from netsim.collectives import Algorithm, Communicator

__all__ = ["Partition", "equitable_partition", "algorithm_pairs", "EQUIVARIANT", "latency_key"]

EQUIVARIANT = ("ring_allreduce", "ring_reduce_scatter", "ring_all_gather", "pairwise")
"""Algorithms whose messages are the same for every rank up to a cyclic shift of ranks (size-only
payloads: equal blocks, rank-independent tags), so a cyclic symmetry of the group is one of the run."""


def latency_key(latency: float) -> str:
    """Latencies equal to 12 significant digits share a key (sums of equal link latencies in another order)."""
    return f"{latency:.12g}"


@dataclass
class Partition:
    """An equitable partition of the families' flows and links.

    Attributes
    ----------
    split : list
        Families whose members ended up in different classes (not aggregatable).
    link_class : dict
        ``link -> class id`` of every link some family uses.
    representative : dict
        ``class id -> link``: the smallest link of each class.
    weights : dict
        ``family -> {representative link: members of the family on each link of that class}``.
    latency : dict
        ``family -> route latency`` (seconds) of its members.
    """

    split: list
    link_class: dict
    representative: dict
    weights: dict
    latency: dict


def equitable_partition(
    families: dict[Hashable, Sequence[tuple[Sequence[int], float]]],
    capacities: Sequence[float],
) -> Partition:
    """Coarsest equitable partition refining families and link capacities.

    Parameters
    ----------
    families : dict
        ``family -> [(links of member route, route latency), ...]``.
    capacities : sequence of float
        Capacity of every link (bytes/s).

    Returns
    -------
    Partition
        ``split`` lists the families that are not equitable (their members differ); the
        weights are only meaningful when ``split`` is empty.
    """
    names = list(families)
    flow_family: list[int] = []
    flow_links: list[tuple[int, ...]] = []
    colour: list = []
    for index, name in enumerate(names):
        for links, latency in families[name]:
            flow_family.append(index)
            flow_links.append(tuple(links))
            colour.append((index, latency_key(latency)))
    flow_colour = _relabel(colour)
    link_flows: dict[int, list[int]] = {}
    for f, links in enumerate(flow_links):
        for link in links:
            link_flows.setdefault(link, []).append(f)
    links = sorted(link_flows)
    link_colour = dict(zip(links, _relabel([capacities[link] for link in links]), strict=True))
    counts = (len(set(flow_colour)), len(set(link_colour.values())))
    while True:
        signatures = [
            (link_colour[link], tuple(sorted(Counter(flow_colour[f] for f in link_flows[link]).items())))
            for link in links
        ]
        link_colour = dict(zip(links, _relabel(signatures), strict=True))
        flow_colour = _relabel(
            [(flow_colour[f], tuple(sorted(link_colour[link] for link in flow_links[f]))) for f in range(len(flow_links))]
        )
        new = (len(set(flow_colour)), len(set(link_colour.values())))
        if new == counts:
            break
        counts = new
    members: dict[int, set] = {}
    for f, index in enumerate(flow_family):
        members.setdefault(index, set()).add(flow_colour[f])
    split = [names[i] for i in sorted(members) if len(members[i]) > 1]
    representative: dict = {}
    for link in links:
        representative.setdefault(link_colour[link], link)
    size = Counter(link_colour.values())
    weights: dict = {}
    latency: dict = {}
    for name in names:
        incidences: Counter = Counter()
        for links_, lat in families[name]:
            latency.setdefault(name, lat)
            for link in links_:
                incidences[link_colour[link]] += 1
        weights[name] = {representative[c]: n // size[c] for c, n in incidences.items()}
    return Partition(split, link_colour, representative, weights, latency)


def _relabel(signatures: list) -> list[int]:
    """Map signatures to small integers in order of first appearance."""
    ids: dict = {}
    return [ids.setdefault(s, len(ids)) for s in signatures]


class _Recorder:
    """A network stand-in that records (src, dst) and delivers at once (for :func:`algorithm_pairs`)."""

    def __init__(self, env, graph):
        self.env, self.graph, self.pairs = env, graph, []

    def transfer(self, src, dst, nbytes, *, value=None, event=None, max_rate=None):
        self.pairs.append((src, dst))
        event = simpy.Event(self.env) if event is None else event
        event._ok, event._value = True, value
        self.env.schedule(event, NORMAL, 0.0)
        return event


def algorithm_pairs(algorithm: Algorithm, size: int, graph=None, hosts: Sequence | None = None, **options) -> list[tuple[int, int]]:
    """The distinct (source rank, destination rank) pairs ``algorithm`` sends between, in first-use order.

    Ring algorithms and pairwise all-to-all are listed from their structure; other
    algorithms are run size-only on a network stand-in, at each of :data:`DRY_RUN_SIZES`
    (``graph`` and ``hosts`` are what algorithms that read the topology, such as
    ``hierarchical``, see).
    """
    if size <= 1:
        return []
    if algorithm.name in ("ring_allreduce", "ring_reduce_scatter", "ring_all_gather"):
        return [(r, (r + 1) % size) for r in range(size)]
    if algorithm.name == "pairwise":
        return [(r, (r + k) % size) for k in range(1, size) for r in range(size)]
    if "group_size" in algorithm.options:  # reads the topology (hierarchical): no caching
        return _dry_run(algorithm, size, graph, hosts, options)
    key = (algorithm.name, size, tuple(sorted(options.items())))
    cached = _PAIRS.get(key)
    if cached is None:
        cached = _PAIRS[key] = _dry_run(algorithm, size, graph, hosts, options)
    return list(cached)


_PAIRS: dict = {}
"""Pairs of dry-run algorithms that do not read the topology, by (name, size, options)."""


DRY_RUN_SIZES = (1024.0, 2.0**20, 2.0**30)
"""Message sizes (bytes) of the dry runs: an algorithm choosing by size (``auto``) shows every choice."""


def _dry_run(algorithm: Algorithm, size: int, graph, hosts, options) -> list[tuple[int, int]]:
    hosts = list(hosts) if hosts is not None else list(range(size))
    index = {host: rank for rank, host in enumerate(hosts)}
    pairs: dict = {}
    for nbytes in DRY_RUN_SIZES:
        env = simpy.Environment()
        recorder = _Recorder(env, graph)
        comm = Communicator(env, recorder, hosts)
        for rank in range(size):
            env.process(algorithm.run(comm, rank, None, nbytes, **options))
        env.run()
        pairs.update(dict.fromkeys((index[a], index[b]) for a, b in recorder.pairs))
    return list(pairs)
