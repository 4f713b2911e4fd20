"""How the step simulator communicates: per flow, or aggregated.

Both backends give the simulator the same things: the ranks that run (``d_sim``,
``t_sim``), how each context's collectives run (``mode``), a communicator per (context,
group), the point-to-point communicator of the pipeline (``pp``), and, at the end, bytes
per context and per rank, flow counts and link statistics.

:class:`PerFlowBackend` is the reference: every rank's every message is a flow of the
scenario's network model.

:class:`AggregatedBackend` simulates one representative of each symmetry class. An
:class:`Aggregation` level runs replicas ``d < k_d`` and tensor indices ``t < k_t`` only:
rank ``(d, p, t)`` stands for every ``(d + i·k_d, p, t + j·k_t)``.

1. **Families.** Every transfer starts its family (its images under those
   translations, :mod:`netsim.workload.families`) as one weighted flow on one
   representative link per link class (:class:`~netsim.workload.fluid.FluidNetwork`).
   Collectives along an aggregated axis run on a cyclic communicator: with ring
   algorithms, members ``0 .. k−1`` run and a message to member ``j`` is the image of one
   to ``j mod k``; other algorithms need ``k = 1``, and then the one running member
   launches every member (``launch``; in the middle of a pass they must finish
   together, which is checked as they run). Before anything runs,
   :func:`~netsim.workload.symmetry.equitable_partition` checks that the families of
   every transfer the step can start form an equitable partition — the condition under
   which this equals the per-flow result; if not, construction raises
   :class:`AggregationRejected` naming the contexts at fault, and the caller tries a
   finer level (:func:`netsim.workload.run.find_level`).
2. **Closed forms on private links.** A context run by one member (``k = 1``) whose
   groups use links that no other communication of the step touches (tensor
   parallelism inside an NVLink node, say), and whose transfers form one equitable
   class, is timed by one isolated per-flow run of the collective, cached by the
   group's route signature and size: max-min components on disjoint links do not
   interact, so the time is exact. Its bytes and link busy times are added to every
   group it stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import simpy

from netsim.collectives import Algorithm, Communicator
from netsim.network import make_network
from netsim.workload.closed_form import ClosedForm
from netsim.workload.errors import AggregationRejected
from netsim.workload.families import CyclicCommunicator, FamilyNet, members, shifts, translate
from netsim.workload.fluid import FluidNetwork
from netsim.workload.layout import Layout
from netsim.workload.symmetry import EQUIVARIANT, algorithm_pairs, equitable_partition

__all__ = ["PerFlowBackend", "AggregatedBackend", "AggregationRejected", "Aggregation", "CONTEXTS", "ClosedForm"]

CONTEXTS = ("tp", "pp", "dp", "edp", "ep", "zero")
"""Communication contexts: tensor-parallel allreduces, pipeline sends, data-parallel gradient
reduction (dense weights), expert-data-parallel gradient reduction, expert all-to-alls, ZeRO-3
parameter gathers."""


@dataclass(frozen=True)
class Aggregation:
    """An aggregation level: which ranks run, and which transfers move as families.

    Attributes
    ----------
    replica_step : int or None
        Replicas ``0 .. k−1`` run, replica ``d`` standing for every ``d + j·k``
        (``None``: every replica runs).
    tensor_step : int or None
        The same for tensor-parallel indices.
    """

    replica_step: int | None
    tensor_step: int | None

    def describe(self) -> str:
        """One line for the summary, e.g. ``replicas/4+tensor/1``."""
        parts = [f"{name}/{step}" for name, step in (("replicas", self.replica_step), ("tensor", self.tensor_step)) if step]
        return "+".join(parts) or "none"


class PerFlowBackend:
    """Every message is a flow of ``network`` (the reference)."""

    def __init__(self, env: simpy.Environment, network, layout: Layout):
        self.env, self.network, self.layout = env, network, layout
        self._comms: dict = {}
        self.pp = Communicator(env, network, list(layout.hosts))
        self.d_sim, self.t_sim = list(range(layout.dp)), list(range(layout.tp))

    def mode(self, context: str) -> str:
        """Every member of every collective runs its own part."""
        return "own"

    def comm(self, context: str, ranks: Sequence[int]) -> Communicator:
        """The communicator of ``ranks`` for ``context`` (one mailbox space per context and group)."""
        key = (context, tuple(ranks))
        comm = self._comms.get(key)
        if comm is None:
            comm = self._comms[key] = Communicator(self.env, self.network, [self.layout.hosts[r] for r in ranks])
        return comm

    def rank_bytes(self) -> np.ndarray:
        """Bytes each rank has sent so far."""
        out = np.array(self.pp.bytes_sent, dtype=np.float64)
        for (_, ranks), comm in self._comms.items():
            out[list(ranks)] += comm.bytes_sent
        return out

    def flow_counts(self) -> tuple[int, int]:
        """``(flows simulated, flows they stand for)``: both the network's transfers."""
        return self.network.transfers, self.network.transfers

    def bytes_by_context(self) -> dict[str, float]:
        """Bytes sent per context, all ranks."""
        out = {"pp": float(sum(self.pp.bytes_sent))}
        for (context, _), comm in self._comms.items():
            out[context] = out.get(context, 0.0) + float(sum(comm.bytes_sent))
        return out

    def link_stats(self) -> list[dict]:
        """The network's per-link counters."""
        return self.network.link_stats()


class AggregatedBackend:
    """Representatives, families and closed forms (see the module docstring).

    Parameters
    ----------
    env : simpy.Environment
    graph, router
        The topology and its router.
    layout : Layout
    level : Aggregation
    groups : dict
        ``context -> [ranks of every group]`` (all groups, not only representatives).
    algorithms : dict
        ``context -> [(Algorithm, options)]`` the context's collectives use.
    pp_pairs : list of (int, int)
        Every pipeline send (source rank, destination rank).
    analysis : Network, optional
        A flow network on ``graph`` used only for its routes and link table (shared by
        several backends to reuse its route cache).
    closed_form : ClosedForm, optional
        The cache of isolated runs (shared by several backends).

    Raises
    ------
    AggregationRejected
        If the families are not an equitable partition, or a closed form is asymmetric.
    """

    def __init__(
        self, env, graph, router, layout: Layout, level: Aggregation, groups: dict, algorithms: dict, pp_pairs,
        analysis=None, closed_form: ClosedForm | None = None,
    ):
        self.env, self.graph, self.layout, self.level = env, graph, layout, level
        self.analysis = analysis if analysis is not None else make_network("flow", simpy.Environment(), graph, router)
        self.fluid = FluidNetwork(env, self.analysis.capacity)
        self.rank_of = {host: rank for rank, host in enumerate(layout.hosts)}
        self.counter: dict[str, float] = {}
        self._closed_form = closed_form if closed_form is not None else ClosedForm(graph, router, self.analysis)
        self._comms: dict = {}
        self._nets: dict = {}
        self._closed_calls: dict = {}
        kd, kt = level.replica_step, level.tensor_step
        self.d_sim = list(range(kd)) if kd else list(range(layout.dp))
        self.t_sim = list(range(kt)) if kt else list(range(layout.tp))
        pairs = {
            c: [_union_pairs(algorithms.get(c, []), len(g), graph, [layout.hosts[r] for r in g]) for g in gs]
            for c, gs in groups.items()
        }
        self._groups = groups
        self.modes, self.steps, self.launched = self._modes(level, layout, algorithms, groups)
        self.closed_contexts = self._private(groups, pairs, pp_pairs)
        for context in self.closed_contexts:
            self.modes[context], self.steps[context], self.launched[context] = "closed", None, [0]
        self.axes, self.outer_axes = self._axes(level, layout, self.steps)
        templates = {}
        for context, gs in groups.items():
            if context in self.closed_contexts:
                continue
            for group, group_pairs in zip(gs, pairs[context], strict=True):
                for i, j in group_pairs:
                    if self._issued(context, group, i):
                        templates[(context, group[i], group[j])] = members(layout, (group[i], group[j]), self.axes[context])
        for a, b in pp_pairs:
            if self.simulated(a):
                templates[("pp", a, b)] = members(layout, (a, b), self.axes["pp"])
        routes = {key: [self._route(a, b) for a, b in member_pairs] for key, member_pairs in templates.items()}
        partition = equitable_partition(routes, self.analysis.capacity)
        if partition.split:
            context, a, b = partition.split[0]
            raise AggregationRejected(
                f"{level.describe()}: the {context} transfers {layout.coords(a)} -> {layout.coords(b)} are not symmetric "
                f"(their images cross different link classes)",
                sorted({key[0] for key in partition.split}),
            )
        for key in templates:
            weights = partition.weights[key]
            self.fluid.add_route(key, list(weights), list(weights.values()), partition.latency[key])
        self._rank_bytes = np.zeros(layout.world)
        self._sources = {key: np.array([a for a, _ in pairs_], dtype=np.intp) for key, pairs_ in templates.items()}
        self.partition = partition
        self.pp = self._comm_for("pp", list(range(layout.world)))

    # ------------------------------------------------------------ structure
    def simulated(self, rank: int) -> bool:
        """Whether ``rank`` runs its own process (replica and tensor index below their steps)."""
        d, _, t = self.layout.coords(rank)
        kd, kt = self.level.replica_step, self.level.tensor_step
        return (kd is None or d < kd) and (kt is None or t < kt)

    def mode(self, context: str) -> str:
        """How ``context``'s collectives run: ``own`` (every simulated member runs its part),
        ``launch`` (the representative starts every member at once) or ``closed``."""
        return self.modes.get(context, "own")

    @staticmethod
    def _member_step(context: str, level: Aggregation, layout: Layout) -> int | None:
        """The members of one group of ``context`` that run: every ``k``-th (``None``: all).

        Raises
        ------
        AggregationRejected
            If the replica step cuts expert groups unevenly.
        """
        kd, ep = level.replica_step, layout.ep
        if context == "tp":
            return level.tensor_step
        if context in ("dp", "zero") or kd is None:
            return kd
        if kd % ep and ep % kd:
            raise AggregationRejected(f"{level.describe()}: replica step {kd} cuts the expert groups of {ep}", [context])
        if context == "ep":  # members e of expert group g: all run when the step holds whole groups
            return None if kd >= ep else kd
        return kd // ep if kd >= ep else 1  # edp: members g (replicas g·ep + e)

    @classmethod
    def _modes(cls, level: Aggregation, layout: Layout, algorithms: dict, groups: dict) -> tuple[dict, dict, dict]:
        """``(mode, cyclic step, members launched)`` of every context (before closed forms).

        A step ``k`` runs members ``0 .. k−1`` of a group, on a cyclic communicator
        (ring algorithms), or with ``k = 1`` and other algorithms the one running member
        launches all of them.
        """
        modes: dict = {}
        steps: dict = {}
        launched: dict = {}
        for context, gs in groups.items():
            size = len(gs[0])
            k = cls._member_step(context, level, layout)
            names = [a.name for a, _ in algorithms.get(context, [])]
            if k is None or k >= size:
                modes[context], steps[context] = "own", None
            elif size % k == 0 and all(name in EQUIVARIANT for name in names):
                modes[context], steps[context] = "own", k
            elif k == 1:
                modes[context], steps[context], launched[context] = "launch", None, list(range(size))
            else:
                raise AggregationRejected(
                    f"{level.describe()}: {context} collectives ({', '.join(names)}) cannot run every {k}-th member only "
                    f"(ring algorithms and a step dividing {size})",
                    [context],
                )
        return modes, steps, launched

    @staticmethod
    def _axes(level: Aggregation, layout: Layout, steps: dict) -> tuple[dict, dict]:
        """Translations generating each context's families, and those without its own cyclic step."""
        kd, kt, ep = level.replica_step, level.tensor_step, layout.ep
        d = [("d", kd)] if kd else []
        t = [("t", kt)] if kt else []
        if kd is None:
            g_shift, e_shift = [], []
        elif kd >= ep:
            g_shift, e_shift = [("g", kd // ep)], []
        else:
            g_shift, e_shift = [("g", 1)], [("e", kd)]
        inner_axis = {"tp": "t", "dp": "d", "zero": "d", "ep": "e", "edp": "g"}
        inner = {c: [(axis, steps[c])] if steps.get(c) else [] for c, axis in inner_axis.items()}
        outer = {"tp": d, "pp": d + t, "dp": t, "zero": t, "ep": g_shift + t, "edp": e_shift + t}
        axes = {c: outer[c] + inner.get(c, []) for c in outer}
        return axes, outer

    def members_to_launch(self, context: str) -> list[int]:
        """Member indices a launching representative starts (``[0]`` for a closed form)."""
        return self.launched[context]

    def _issued(self, context: str, group: tuple, i: int) -> bool:
        if self.modes[context] == "launch":
            return self.simulated(group[0]) and i in self.launched[context]
        return self.simulated(group[i])

    def _route(self, a: int, b: int) -> tuple[tuple[int, ...], float]:
        route = self.analysis.route(self.layout.hosts[a], self.layout.hosts[b])
        return route.links, route.latency

    def _private(self, groups, pairs, pp_pairs) -> set[str]:
        """Contexts run by one representative whose groups' links are their own: closed forms."""
        candidates = [c for c in groups if self.modes[c] == "launch" or (self.steps.get(c) == 1 and self.modes[c] == "own")]
        if not candidates:
            return set()
        owners: dict[int, set] = {}
        group_links: dict = {}
        for context, gs in groups.items():
            for index, (group, group_pairs) in enumerate(zip(gs, pairs[context], strict=True)):
                links = {link for i, j in group_pairs for link in self._route(group[i], group[j])[0]}
                group_links[(context, index)] = links
                for link in links:
                    owners.setdefault(link, set()).add((context, index))
        for a, b in pp_pairs:
            for link in self._route(a, b)[0]:
                owners.setdefault(link, set()).add(("pp", a, b))
        closed = set()
        for context in candidates:
            gs = groups[context]
            if not all(len(owners[link]) == 1 for index in range(len(gs)) for link in group_links[(context, index)]):
                continue
            if all(self._symmetric(group, group_pairs) for group, group_pairs in zip(gs, pairs[context], strict=True)):
                closed.add(context)
        return closed

    def _symmetric(self, group: tuple, pairs: list[tuple[int, int]]) -> bool:
        """Whether every transfer of a group's collective sees the same links (one equitable class).

        Then, started together, its members progress and finish together, and one
        representative can wait for the closed form (checked again on the run itself).
        """
        routes = {"all": [self._route(group[i], group[j]) for i, j in pairs]}
        return not equitable_partition(routes, self.analysis.capacity).split

    # ---------------------------------------------------------------- comms
    def _comm_for(self, context: str, ranks: list[int]) -> Communicator:
        net = self._nets.get(context)
        if net is None:
            size = len(shifts(self.layout, self.axes[context]))
            net = self._nets[context] = FamilyNet(
                self.fluid, context, self.rank_of, size, self.graph, self.counter, self._rank_bytes, self._sources
            )
        hosts = [self.layout.hosts[r] for r in ranks]
        step = self.steps.get(context)
        if step is not None and step < len(ranks):
            return CyclicCommunicator(self.env, net, hosts, step)
        return Communicator(self.env, net, hosts)

    def comm(self, context: str, ranks: Sequence[int]) -> Communicator:
        """The (family) communicator of ``ranks`` for ``context``."""
        key = (context, tuple(ranks))
        comm = self._comms.get(key)
        if comm is None:
            comm = self._comms[key] = self._comm_for(context, list(ranks))
        return comm

    def closed(self, context: str, ranks: Sequence[int], algorithm: Algorithm, options: dict, nbytes: float) -> float | None:
        """Closed-form time of a collective of ``context`` on ``ranks`` (``None`` if it runs as flows).

        Accounts its bytes and link usage for every group the call stands for.

        Raises
        ------
        AggregationRejected
            If its members do not finish together (then one representative cannot stand for them).
        """
        if context not in self.closed_contexts:
            return None
        key = (context, tuple(ranks), algorithm.name, tuple(sorted(options.items())), nbytes)
        entry = self._closed_calls.get(key)
        if entry is None:
            entry = self._closed_calls[key] = [self._prepare_closed(context, ranks, algorithm, options, nbytes), 0]
        entry[1] += 1
        return entry[0][0]

    def _prepare_closed(self, context, ranks, algorithm, options, nbytes):
        """``(time, links, bytes, busy, flows, bytes sent)`` of one call, over every group it stands for."""
        hosts = [self.layout.hosts[r] for r in ranks]
        pairs = algorithm_pairs(algorithm, len(ranks), self.graph, hosts, **options)
        signature, _ = self._closed_form.signature(hosts, pairs)
        stand_for = sorted({tuple(translate_all(self.layout, ranks, combo)) for combo in shifts(self.layout, self.outer_axes[context])})
        run = None
        links, nb, busy, flows, senders, sent = [], [], [], [], [], []
        for group in stand_for:
            sig, group_links = self._closed_form.signature([self.layout.hosts[r] for r in group], pairs)
            if sig != signature:
                raise AggregationRejected(f"{context} groups {list(ranks)} and {list(group)} differ; no closed form", [context])
            if run is None:
                run = self._closed_form.run(hosts, signature, group_links, algorithm, options, nbytes)
                if not run.symmetric:
                    raise AggregationRejected(f"the {context} collective on {list(ranks)} does not finish at once on every member", [context])
            links += group_links
            nb += run.link_bytes
            busy += run.link_busy
            flows += run.link_flows
            senders += list(group)
            sent += run.member_bytes
        arrays = (np.array(links, dtype=np.intp), np.array(nb), np.array(busy), np.array(flows, dtype=np.float64))
        return (run.time, *arrays, run.bytes_sent * len(stand_for), np.array(senders, dtype=np.intp), np.array(sent))

    # ------------------------------------------------------------- results
    def rank_bytes(self) -> np.ndarray:
        """Bytes each rank has sent so far (every member of every family, closed forms included)."""
        out = self._rank_bytes.copy()
        for entry, calls in self._closed_calls.values():
            np.add.at(out, entry[6], entry[7] * calls)
        return out

    def flow_counts(self) -> tuple[int, int]:
        """``(families simulated, member flows they stand for)`` (closed forms left out)."""
        return self.fluid.transfers, sum(net.flows for net in self._nets.values())

    def bytes_by_context(self) -> dict[str, float]:
        """Bytes sent per context, all ranks (families count every member)."""
        out = dict(self.counter)
        for (context, *_), (entry, calls) in self._closed_calls.items():
            out[context] = out.get(context, 0.0) + entry[5] * calls
        return out

    def link_stats(self) -> list[dict]:
        """Per directed link counters, every member of every family included."""
        now = self.env.now
        nb, busy, flows = self.fluid.link_bytes(), self.fluid.link_busy_time(), self.fluid.link_flows()
        n = len(self.analysis.links)
        total_bytes, total_busy, total_flows = np.zeros(n), np.zeros(n), np.zeros(n)
        for (_, links, lb, lbusy, lflows, *_), calls in self._closed_calls.values():
            np.add.at(total_bytes, links, lb * calls)
            np.add.at(total_busy, links, lbusy * calls)
            np.add.at(total_flows, links, lflows * calls)
        rep = self.partition.representative
        for link, cls in self.partition.link_class.items():
            r = rep[cls]
            total_bytes[link] += nb[r]
            total_busy[link] += busy[r]
            total_flows[link] += flows[r]
        out = []
        caps, lats = self.analysis.capacity, self.analysis.latency
        for i, (u, v) in enumerate(self.analysis.links):
            out.append(
                {
                    "src": u,
                    "dst": v,
                    "bandwidth": float(caps[i]),
                    "latency": float(lats[i]),
                    "bytes": float(total_bytes[i]),
                    "busy_time": float(total_busy[i]),
                    "flows": int(total_flows[i]),
                    "utilisation": float(total_bytes[i]) / (caps[i] * now) if now > 0 else 0.0,
                }
            )
        return out


def translate_all(layout: Layout, ranks: Sequence[int], combo) -> list[int]:
    """``ranks`` moved by every ``(axis, delta)`` of ``combo``."""
    out = []
    for rank in ranks:
        for axis, delta in combo:
            rank = translate(layout, rank, axis, delta)
        out.append(rank)
    return out


def _union_pairs(algorithms: list, size: int, graph, hosts) -> list[tuple[int, int]]:
    """Distinct member-index pairs used by any of ``algorithms`` on a group of ``size``."""
    pairs: dict = {}
    for algorithm, options in algorithms:
        pairs.update(dict.fromkeys(algorithm_pairs(algorithm, size, graph, hosts, **options)))
    return list(pairs)
