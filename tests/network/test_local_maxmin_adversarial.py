"""Adversarial checks of the incremental max-min solver (netsim.network.local_maxmin).

Every run here is compared two ways:

* at every instant at which simulated time is about to advance (all events of the
  instant done, so no solve is pending), the rate of every active flow of a
  ``FlowNetwork`` using the local solver against a fresh global
  :func:`netsim.network.max_min_rates` over all active flows; and
* the finish times (and link byte counters) of the same run with the whole-component
  solve forced (``local_maxmin.START_LIMIT = -1``).

Scenarios: failed (zero-capacity) links and their repair, ``reroute_flows``,
``abort_flows``, per-flow caps (some equal to fair shares), capacities from 1e3 to
1e12 bytes/s in one network, many flows on one link, parking-lot chains where a
change propagates many hops, tiny and huge transfers, the TCP transport profile, and
collectives on stars and oversubscribed trees. Everything is seeded: no randomness
from outside ``random.Random(seed)``.

Capacities of one magnitude give the global rates to 1e-12; networks mixing 1e3 and
1e12 bytes/s links (or flows capped far below their links) are held to ``MIXED_RTOL``,
1e-12 as well (the first version's absolute slack and cancelled residual capacities
missed it by up to 1e-8; those cases stay here as regressions).

Two tests cover bugs of the transport path the review found (a TCP flow whose link
fails during its handshake, a TCP transfer started over a failed link).
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
import simpy

import netsim.network.flow as flow_module
import netsim.network.local_maxmin as local_module
from netsim.collectives import simulate_collective
from netsim.network import FlowNetwork, max_min_rates
from netsim.network.local_maxmin import local_max_min
from netsim.topology import star as star_topology
from netsim.topology import tree as tree_topology
from netsim.transport import make_transport

RATE_RTOL = 1e-12  # rates vs a fresh global solve (the level tolerance of maxmin)
TIME_RTOL = 1e-12  # finish times and link bytes, local vs forced whole-component


# --------------------------------------------------------------------------- helpers
class Flow(SimpleNamespace):
    """A flow as local_max_min sees it (hashable by identity, as the network's flows are)."""

    __hash__ = object.__hash__
    __eq__ = object.__eq__


def flows_on(routes, rates, caps, n_links):
    """``active`` lists and flow objects for flows on ``routes`` currently at ``rates``."""
    active = [{} for _ in range(n_links)]
    flows = []
    for seq, (route, rate, cap) in enumerate(zip(routes, rates, caps, strict=True)):
        flow = Flow(links=tuple(route), rate=rate, cap=cap, seq=seq, mark=0)
        flows.append(flow)
        for link in route:
            active[link][flow] = None
    return flows, active


def local_result(flows, result):
    """Every flow's rate after ``local_max_min`` returned ``result`` (others keep theirs)."""
    rates = [flow.rate for flow in flows]
    region, new = result
    for flow, rate in zip(region, new, strict=True):
        rates[flow.seq] = rate
    return rates


def rel_errors(got, expected):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    out = np.zeros(len(got))
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        if g == e:
            continue
        out[i] = abs(g - e) / e if 0 < e < math.inf else math.inf
    return out


@pytest.fixture
def large_regions(monkeypatch):
    """Let regions of up to 10,000 flows take the local path (cases built on crowded links)."""
    monkeypatch.setattr(local_module, "START_LIMIT", 10_000)
    monkeypatch.setattr(local_module, "LOCAL_LIMIT", 10_000)


@contextlib.contextmanager
def solver(force_global: bool):
    """Count the local solver's outcomes; with ``force_global`` every change solves its component."""
    stats = {"local": 0, "fallback": 0, "region": 0}
    original = flow_module.local_max_min

    def spy(seeds, active, caps, search):
        result = original(seeds, active, caps, search)
        if result is None:
            stats["fallback"] += 1
        elif result[0]:
            stats["local"] += 1
            stats["region"] += len(result[0])
        return result

    old_limit = local_module.START_LIMIT
    flow_module.local_max_min = spy
    if force_global:
        local_module.START_LIMIT = -1
    try:
        yield stats
    finally:
        flow_module.local_max_min = original
        local_module.START_LIMIT = old_limit


class CheckedEnv(simpy.Environment):
    """Calls ``hook()`` whenever the events of an instant are done (time is about to advance).

    ``schedule`` is not overridden, so FlowNetwork keeps its inlined delivery path.
    """

    hook = None

    def step(self):
        super().step()
        if self.hook is not None and self.peek() > self._now:
            self.hook()


def _host(g, name):
    g.add_node(name, kind="host")


class Router:
    """Fewest hops, avoiding the edges in ``down`` (for reroute_flows)."""

    def __init__(self, graph: nx.Graph):
        self.graph = graph
        self.down: set[frozenset] = set()

    def path(self, src, dst):
        if not self.down:
            return nx.shortest_path(self.graph, src, dst)
        view = nx.subgraph_view(
            self.graph, filter_edge=lambda u, v: frozenset((u, v)) not in self.down
        )
        return nx.shortest_path(view, src, dst)


def run(graph, transfers, actions=(), *, force_global, transport=None, check=True):
    """Run ``transfers`` ``(start, src, dst, nbytes, max_rate)`` and timed ``actions`` ``(time, fn(net, router))``.

    Returns ``(finish, worst, net, stats)``: finish times (None: aborted), the largest
    relative difference between a rate and a fresh global solve seen at any instant
    (with where it happened), the network and the solver counters.
    """
    env = CheckedEnv()
    router = Router(graph)
    net = FlowNetwork(env, graph, router, transport=transport)
    finish = [None] * len(transfers)
    worst = {"err": 0.0, "where": None, "checks": 0, "stalled": 0}

    def one(i, start, src, dst, nbytes, cap):
        yield env.timeout(start)
        yield net.transfer(src, dst, nbytes, max_rate=cap)
        finish[i] = env.now

    def act(at, fn):
        yield env.timeout(at)
        fn(net, router)

    def check_rates():
        flows = net._active_flows()
        if not flows:
            return
        worst["checks"] += 1
        worst["stalled"] += any(f.rate == 0.0 for f in flows)
        expected = max_min_rates([f.links for f in flows], net.capacity, [f.cap for f in flows])
        errors = rel_errors([f.rate for f in flows], expected)
        i = int(np.argmax(errors))
        if errors[i] > worst["err"]:
            worst["err"] = float(errors[i])
            worst["where"] = (env.now, flows[i].seq, flows[i].rate, float(expected[i]))

    for i, spec in enumerate(transfers):
        env.process(one(i, *spec))
    for at, fn in actions:
        env.process(act(at, fn))
    if check:
        env.hook = check_rates
    with solver(force_global) as stats:
        env.run()
    return finish, worst, net, stats


def assert_same_finish(local, glob):
    assert [t is None for t in local] == [t is None for t in glob]
    for i, (a, b) in enumerate(zip(local, glob, strict=True)):
        if a is not None:
            assert a == pytest.approx(b, rel=TIME_RTOL, abs=1e-300), f"transfer {i}: {a!r} vs {b!r}"


def compare(graph, transfers, actions=(), *, transport=None, min_local=1):
    """Local run checked at every instant, and its finish times/link bytes vs forced global."""
    local, worst, net, stats = run(
        graph, transfers, actions, force_global=False, transport=transport
    )
    glob, worst_g, net_g, _ = run(graph, transfers, actions, force_global=True, transport=transport)
    assert worst["err"] <= RATE_RTOL, f"local rates differ from a fresh global solve: {worst}"
    assert_same_finish(local, glob)
    assert np.allclose(net.link_bytes(), net_g.link_bytes(), rtol=TIME_RTOL, atol=0)
    assert stats["local"] >= min_local, stats  # the local path was exercised
    return local, worst, worst_g, net, stats


# ------------------------------------------------- local_max_min alone, random changes
MIXED_GRID = [1e3, 2e3, 3e3, 1e6, 1.5e6, 1e9, 2e9, 3e9, 1e12, 4e12]
NARROW_GRID = [1e9, 2e9, 3e9, 5e9]

MIXED_RTOL = 1e-12
"""Rates and times in networks of 1e3..1e12 bytes/s links, against a global solve.

The first version of the check had a slack of 1e-11 x a link's capacity, absolute, and
its residual capacities lost the low bits of big links: rates were off by up to
~1e-11 x (capacity / rate) here. Tolerances now follow the rounding of the sums and
residuals below 1e-2 of a link are recomputed with the flows behind them."""

OLD_SLACK = 1e-11
"""The first version's check slack, as a fraction of link capacity (for the regression cases)."""


def random_capacity(rng, mixed=True):
    """A link capacity: 0 (failed) now and then; else 1e3..1e12 (``mixed``) or one magnitude."""
    roll = rng.random()
    if roll < 0.08:
        return 0.0
    if not mixed:
        return rng.choice(NARROW_GRID)
    if roll < 0.55:
        return rng.choice(MIXED_GRID)  # exact ties between links and levels
    return 10 ** rng.uniform(3, 12)


def random_flow_cap(rng, wide):
    """A cap far from any capacity: 1e2..1e12 (``wide``), or 0.05..7.5e9 bytes/s."""
    return 10 ** rng.uniform(2, 12) if wide else rng.uniform(0.05, 1.5) * max(NARROW_GRID)


def random_change(rng, mixed, wide_caps=None):
    """A max-min state of a small network, then a change: flows leave and start, capacities change.

    ``mixed``: link capacities from 1e3 to 1e12 (else of one magnitude); ``wide_caps``
    (default: as ``mixed``): some flows capped anywhere in 1e2..1e12. Returns (routes,
    caps, link_caps, rates, seeds): the current flows at their old rates (0 for the new
    ones) and the seed links of the change.
    """
    wide_caps = mixed if wide_caps is None else wide_caps
    n_links = rng.randint(1, 9)
    link_caps = [random_capacity(rng, mixed) for _ in range(n_links)]
    n_flows = rng.randint(1, 36)
    routes, caps = [], []
    for _ in range(n_flows):
        route = tuple(rng.sample(range(n_links), rng.randint(1, min(4, n_links))))
        roll = rng.random()
        if roll < 0.6:
            cap = math.inf
        elif roll < 0.85:  # a fair share of one of its links: equal to its rate, or near
            cap = link_caps[route[0]] / rng.randint(1, 4) or 1.0
        else:
            cap = random_flow_cap(rng, wide_caps)
        routes.append(route)
        caps.append(cap)
    new = [rng.random() < 0.3 for _ in range(n_flows)]
    departed = [
        tuple(rng.sample(range(n_links), rng.randint(1, min(3, n_links))))
        for _ in range(rng.randint(0, 4))
    ]
    changed = [i for i in range(n_links) if rng.random() < 0.15]
    return _old_state(rng, routes, caps, link_caps, new, departed, changed, mixed)


def random_local_change(rng, mixed, wide_caps=None):
    """As random_change, in a larger network of short routes (the region is about half of it)."""
    wide_caps = mixed if wide_caps is None else wide_caps
    n_links = rng.randint(10, 80)
    link_caps = [random_capacity(rng, mixed) for _ in range(n_links)]

    def route():
        at = rng.randrange(n_links)
        return tuple(
            sorted(
                {
                    min(n_links - 1, max(0, at + rng.randint(-3, 3)))
                    for _ in range(rng.randint(1, 4))
                }
            )
        )

    def cap(route):
        roll = rng.random()
        if roll < 0.6:
            return math.inf
        if roll < 0.85:
            return link_caps[route[0]] / rng.randint(1, 6) or 1.0
        return random_flow_cap(rng, wide_caps)

    routes = [route() for _ in range(rng.randint(5, 250))]
    caps = [cap(r) for r in routes]
    new = [False] * len(routes)
    for i in rng.sample(range(len(routes)), min(rng.randint(0, 3), len(routes))):
        new[i] = True
    departed = [route() for _ in range(rng.randint(0, 3))]
    changed = [rng.randrange(n_links)] if rng.random() < 0.3 else []
    return _old_state(rng, routes, caps, link_caps, new, departed, changed, mixed)


def _old_state(rng, routes, caps, link_caps, new, departed, changed, mixed):
    old_link_caps = list(link_caps)
    for i in changed:
        old_link_caps[i] = random_capacity(rng, mixed)
    old_routes = [r for r, is_new in zip(routes, new, strict=True) if not is_new] + departed
    old_caps = [c for c, is_new in zip(caps, new, strict=True) if not is_new] + [math.inf] * len(
        departed
    )
    old = iter(max_min_rates(old_routes, old_link_caps, old_caps).tolist() if old_routes else [])
    rates = [0.0 if is_new else next(old) for is_new in new]
    seeds = [link for route, is_new in zip(routes, new, strict=True) if is_new for link in route]
    seeds += [link for route in departed for link in route] + changed
    rng.shuffle(seeds)
    return routes, caps, link_caps, rates, seeds


def worst_local_error(generate, seeds, mixed, wide_caps=None):
    """Largest relative error of local_max_min against a global solve over random changes."""
    worst = (0.0, None)
    solved = 0
    for seed in seeds:
        rng = random.Random(seed)
        routes, caps, link_caps, rates, seed_links = generate(rng, mixed, wide_caps)
        flows, active = flows_on(routes, rates, caps, len(link_caps))
        result = local_max_min(seed_links, active, link_caps, search=1)
        if result is None:
            continue
        solved += 1
        errors = rel_errors(local_result(flows, result), max_min_rates(routes, link_caps, caps))
        if errors.max() > worst[0]:
            worst = (float(errors.max()), seed)
    return worst, solved


@pytest.mark.parametrize("generate", [random_change, random_local_change])
def test_random_changes_give_the_global_max_min_rates(generate):
    # Capacities of one magnitude (and failed links); caps at or near fair shares, or of
    # the capacities' magnitude.
    n = 2000 if generate is random_change else 400
    worst, solved = worst_local_error(generate, range(n), mixed=False)
    assert worst[0] <= RATE_RTOL, worst
    assert solved > 0.95 * n


@pytest.mark.parametrize("generate", [random_change, random_local_change])
def test_random_changes_with_mixed_capacities_stay_within_the_check_slack(generate):
    n = 2000 if generate is random_change else 400
    worst, solved = worst_local_error(generate, range(n), mixed=True)
    assert worst[0] <= MIXED_RTOL, worst
    assert solved > 0.95 * n


def test_a_flow_capped_far_below_its_links_capacity_runs_at_its_cap():
    worst, _ = worst_local_error(random_local_change, [464], mixed=False, wide_caps=True)
    assert worst[0] <= RATE_RTOL, worst


# ------------------ regression: the first version's absolute slack and cancelled residuals
# Minimal case: links B (3e9 bytes/s) and S (1e3); P crosses B, Q crosses B and S, T
# crosses S. Max-min: Q = T = S / 2 and P gets the rest of B. Re-solving around S with
# nothing changed (set_link_capacity(S, same value) does that) gives Q its residual of B,
# B - P, which has lost the low bits of B (cancellation): 7.6e-12 below S / 2. Q's level
# on B is then below S's by more than LEVEL_RTOL, Q freezes there and T takes the rest
# of S; the check accepts both (on S, Q is within 1e-11 x S of T).
TIE_B, TIE_S = 3000163770.14, 1007.033


def test_a_re_solve_with_nothing_changed_keeps_the_rates():
    routes = [(0,), (0, 1), (1,)]  # P, Q, T
    link_caps = [TIE_B, TIE_S]
    old = max_min_rates(routes, link_caps).tolist()
    assert old[1] == old[2] == TIE_S / 2
    flows, active = flows_on(routes, old, [math.inf] * 3, 2)
    got = local_result(flows, local_max_min([1], active, link_caps, search=1))
    errors = rel_errors(got, old)
    assert errors.max() <= RATE_RTOL, (
        f"Q, T: {got[1]!r}, {got[2]!r}; max-min {old[1]!r} (rel {errors.max():.1e})"
    )


def test_setting_a_link_to_its_own_capacity_changes_nothing_in_a_network_run():
    g = nx.Graph()
    for name in ("hp", "hq", "hr", "hz", "ht"):
        _host(g, name)
    g.add_edge("hp", "sa", bandwidth=1e13, latency=1e-6)
    g.add_edge("hq", "sa", bandwidth=1e13, latency=1e-6)
    g.add_edge("sa", "sb", bandwidth=TIE_B, latency=1e-6)  # B
    g.add_edge("sb", "hz", bandwidth=1e13, latency=1e-6)
    g.add_edge("hr", "sb", bandwidth=1e13, latency=1e-6)
    g.add_edge("sb", "ht", bandwidth=TIE_S, latency=1e-6)  # S
    transfers = [
        (0.0, "hp", "hz", 3e9, math.inf),
        (0.0, "hq", "ht", 1000.0, math.inf),
        (0.0, "hr", "ht", 1100.0, math.inf),
    ]
    compare(g, transfers, [(0.5, set_edge("sb", "ht", TIE_S))])


def crowded_link_change(k):
    """Link S (0) and a crowded link M (1); flows R (S, M), X (M), k - 2 capped flows B (M).

    R and X share what the B flows (capped at ``y``) leave of M, at ``x`` each. A new flow
    N on S then makes S R's bottleneck at ``x - eps / 2``, which leaves ``eps / 2`` of M
    to X. ``eps / 2`` is 0.9 x 1e-11 x capacity(M): within the first version's slack
    (1e-11 x capacity), which left it unused; now it is handed out.
    """
    x, y = 1e8, 0.9e8
    c_m = 2 * x + (k - 2) * y
    eps = 1.8 * OLD_SLACK * c_m
    c_s = 2 * x - eps
    return x, y, c_m, c_s, eps


def test_spare_capacity_within_the_check_slack_is_left_unused(large_regions):
    k = 1000
    x, y, c_m, c_s, eps = crowded_link_change(k)
    routes = [(0, 1), (1,)] + [(1,)] * (k - 2) + [(0,)]  # R, X, B..., N (new)
    caps = [math.inf, math.inf] + [y] * (k - 2) + [math.inf]
    link_caps = [c_s, c_m]
    old = max_min_rates(routes[:-1], link_caps, caps[:-1])
    assert old[0] == old[1] == x
    flows, active = flows_on(routes, [*old.tolist(), 0.0], caps, 2)
    result = local_max_min([0], active, link_caps, search=1)
    assert result is not None  # (it is {R, N}: X, a neighbour, passes the check)
    got = local_result(flows, result)
    expected = max_min_rates(routes, link_caps, caps)
    assert expected[1] == pytest.approx(x + eps / 2, rel=1e-12)
    errors = rel_errors(got, expected)
    assert errors.max() <= RATE_RTOL, (
        f"X: local {got[1]!r}, global {expected[1]!r} (rel {errors[1]:.2e})"
    )


def crowded_link_graph(c_s, c_m):
    fat = 1e13
    g = nx.Graph()
    for name in ("hr", "hb", "hd", "hn"):
        _host(g, name)
    g.add_edge("hr", "sa", bandwidth=c_s, latency=1e-6)  # S (direction hr -> sa)
    g.add_edge("hb", "sa", bandwidth=fat, latency=1e-6)
    g.add_edge("sa", "sb", bandwidth=c_m, latency=1e-6)  # M
    g.add_edge("sb", "hd", bandwidth=fat, latency=1e-6)
    g.add_edge("sa", "hn", bandwidth=fat, latency=1e-6)
    return g


def test_spare_capacity_within_the_check_slack_in_a_network_run(large_regions):
    k = 600
    x, y, c_m, c_s, eps = crowded_link_change(k)
    graph = crowded_link_graph(c_s, c_m)
    transfers = [(0.0, "hr", "hd", 2e8, math.inf), (0.0, "hb", "hd", 1e8, math.inf)]  # R, X
    transfers += [(0.0, "hb", "hd", 2e8, y)] * (k - 2)  # B
    transfers += [(1e-3, "hr", "hn", 5e8, math.inf)]  # N
    compare(graph, transfers)


# -------------------------------------------------- FlowNetwork runs with random faults
def bandwidth_picker(rng, mixed):
    """Link bandwidths: 1e3 to 1e12 bytes/s (``mixed``), or a few values of one magnitude."""
    if mixed:
        return lambda: random_capacity(rng) or 1e9
    return lambda: rng.choice(NARROW_GRID)


def star_of(pick, n):
    """One switch, ``n`` hosts."""
    g = nx.Graph()
    for i in range(n):
        _host(g, f"h{i}")
        g.add_edge(f"h{i}", "s0", bandwidth=pick(), latency=1e-6)
    return g


def dumbbell_of(pick, n):
    """Two switches joined by one core link, ``n`` hosts on each."""
    g = nx.Graph()
    for i in range(2 * n):
        _host(g, f"h{i}")
        g.add_edge(f"h{i}", "s0" if i < n else "s1", bandwidth=pick(), latency=1e-6)
    g.add_edge("s0", "s1", bandwidth=pick(), latency=2e-6)
    return g


def chain_of(pick, n):
    """Parking lot: switches s0 - s1 - ... in a line, one host on each (fat host links)."""
    g = nx.Graph()
    for i in range(n):
        _host(g, f"h{i}")
        g.add_edge(f"h{i}", f"s{i}", bandwidth=1e13, latency=1e-6)
        if i:
            g.add_edge(f"s{i - 1}", f"s{i}", bandwidth=pick(), latency=1e-6)
    return g


def diamond_of(pick, n):
    """Hosts on s0 and s3, two paths s0 - s1 - s3 (preferred) and s0 - s2 - s3."""
    g = nx.Graph()
    for i in range(2 * n):
        _host(g, f"h{i}")
        g.add_edge(f"h{i}", "s0" if i < n else "s3", bandwidth=pick(), latency=1e-6)
    for u, v in (("s0", "s1"), ("s1", "s3"), ("s0", "s2"), ("s2", "s3")):
        g.add_edge(u, v, bandwidth=pick(), latency=1e-6)
    return g


SHAPES = {"star": star_of, "dumbbell": dumbbell_of, "chain": chain_of, "diamond": diamond_of}


def set_edge(u, v, bandwidth, *, down=None, reroute=False):
    """An action: both directions of edge (u, v) to ``bandwidth``; optionally mark it down/up and reroute."""

    def action(net, router):
        links = [net.link_index[(u, v)], net.link_index[(v, u)]]
        for one in links:
            net.set_link_capacity(one, bandwidth)
        if down is True:
            router.down.add(frozenset((u, v)))
        elif down is False:
            router.down.discard(frozenset((u, v)))
        if reroute:
            net.reroute_flows(links)

    return action


def reroute_edge(u, v):
    def action(net, router):
        net.reroute_flows([net.link_index[(u, v)], net.link_index[(v, u)]])

    return action


def abort(host):
    def action(net, router):
        net.abort_flows([host])

    return action


def random_scenario(seed, mixed):
    """A random topology, transfers and faults (failures, repairs, reroutes, aborts)."""
    rng = random.Random(seed)
    shape = rng.choice(sorted(SHAPES))
    pick = bandwidth_picker(rng, mixed)
    graph = SHAPES[shape](pick, rng.randint(3, 7))
    hosts = [node for node, kind in graph.nodes(data="kind") if kind == "host"]
    horizon = 1e-3
    transfers = []
    for _ in range(rng.randint(5, 45)):
        src, dst = rng.sample(hosts, 2)
        path = nx.shortest_path(graph, src, dst)
        bottleneck = min(
            graph.edges[u, v]["bandwidth"] for u, v in zip(path, path[1:], strict=False)
        )
        roll = rng.random()
        if roll < 0.05:
            nbytes = 10 ** rng.uniform(-9, -3)  # tiny: done within rounding of its start
        elif roll < 0.1:
            nbytes = bottleneck * horizon * 10 ** rng.uniform(1, 3)  # huge: outlives the rest
        else:
            nbytes = bottleneck * horizon * 10 ** rng.uniform(-2, 0.3)
        roll = rng.random()
        if roll < 0.55:
            cap = math.inf
        elif roll < 0.85:
            cap = bottleneck / rng.randint(1, 4)  # often exactly a fair share
        else:
            cap = bottleneck * rng.uniform(0.05, 1.5)
        start = 0.0 if rng.random() < 0.15 else rng.uniform(0, horizon)
        transfers.append((start, src, dst, nbytes, cap))
    actions = []
    edges = list(graph.edges)
    for _ in range(rng.randint(0, 4)):
        u, v = rng.choice(edges)
        at = rng.uniform(0, horizon)
        kind = rng.random()
        old = graph.edges[u, v]["bandwidth"]
        if shape == "diamond" and rng.random() < 0.6:  # fail the preferred path and reroute
            u, v = rng.choice([("s0", "s1"), ("s1", "s3")])
            back = at + rng.uniform(0, horizon)
            actions.append((at, set_edge(u, v, 0.0, down=True, reroute=True)))
            actions.append((back, set_edge(u, v, graph.edges[u, v]["bandwidth"], down=False)))
            if rng.random() < 0.5:  # and move the flows on the backup path back
                actions.append((back, reroute_edge("s0", "s2")))
        elif kind < 0.5:  # a failure (its flows stall at rate 0), repaired later or never
            actions.append((at, set_edge(u, v, 0.0, reroute=rng.random() < 0.3)))
            if rng.random() < 0.8:
                actions.append((at + rng.uniform(0, horizon), set_edge(u, v, old)))
        elif kind < 0.8:  # degraded or boosted by orders of magnitude
            actions.append((at, set_edge(u, v, old * 10 ** rng.uniform(-4, 2))))
        else:
            actions.append((at, abort(rng.choice(hosts))))
    return graph, transfers, actions


@pytest.mark.parametrize("block", range(5))
def test_random_runs_with_faults_match_a_global_solve_at_every_instant(block):
    # Capacities of one magnitude (1e9 to 5e9 bytes/s; degradations move some by up to
    # 1e4x), caps at or near fair shares, tiny and huge transfers, failed links and their
    # repair, reroutes (diamond), aborted hosts.
    stalled = local = 0
    for seed in range(block * 40, block * 40 + 40):
        graph, transfers, actions = random_scenario(seed, mixed=False)
        _, worst, worst_g, _, stats = compare(graph, transfers, actions, min_local=0)
        assert worst_g["err"] <= RATE_RTOL  # (the reference agrees with the whole-component path)
        stalled += worst["stalled"]
        local += stats["local"]
    assert stalled and local > 500  # flows stalled on failed links were checked; local solves ran


@pytest.mark.parametrize("block", range(3))
def test_random_runs_with_mixed_capacities_stay_within_the_check_slack(block):
    for seed in range(block * 40, block * 40 + 40):
        graph, transfers, actions = random_scenario(seed, mixed=True)
        local, worst, net, stats = run(graph, transfers, actions, force_global=False)
        glob, worst_g, net_g, _ = run(graph, transfers, actions, force_global=True, check=False)
        assert worst["err"] <= MIXED_RTOL, (seed, worst)
        assert [t is None for t in local] == [t is None for t in glob]
        for a, b in zip(local, glob, strict=True):
            assert a is None or a == pytest.approx(b, rel=MIXED_RTOL, abs=1e-300), seed
        assert np.allclose(net.link_bytes(), net_g.link_bytes(), rtol=MIXED_RTOL, atol=0)


@pytest.mark.parametrize("seed", [29, 110])
def test_random_runs_with_mixed_capacities_match_a_global_solve_at_every_instant(seed):
    graph, transfers, actions = random_scenario(seed, mixed=True)
    compare(graph, transfers, actions)


# ------------------------------------------------ changes that must travel many hops
def staircase(hops, base=1e3):
    """Chain s0 - ... - s{hops}; link i has capacity base x 2^i (1e3 .. 5e11 for 30 hops).

    Flow F_i crosses links i and i + 1 (host h_i to host g_{i+2}); with extra flows on link
    0, F_0 is bottlenecked on link 0 and F_i (i > 0) gets what F_{i-1} leaves of link i: any
    change on link 0 moves every F_i, so the region must grow hop by hop to the far end.
    """
    g = nx.Graph()
    for i in range(hops + 1):
        _host(g, f"h{i}")
        _host(g, f"g{i}")
        g.add_edge(f"h{i}", f"s{i}", bandwidth=1e13, latency=1e-6)
        g.add_edge(f"g{i}", f"s{i}", bandwidth=1e13, latency=1e-6)
        if i:
            g.add_edge(f"s{i - 1}", f"s{i}", bandwidth=base * 2 ** (i - 1), latency=1e-6)
    return g


def test_a_change_at_one_end_of_a_staircase_propagates_to_the_other():
    hops = 30
    graph = staircase(hops)
    transfers = [(0.0, f"h{i}", f"g{i + 2}", 1e3 * 2**i, math.inf) for i in range(hops - 1)]
    # Extra flows on link 0 come and go: every arrival and departure moves all F_i.
    transfers += [(1e-3 * (1 + j), "h0", "g1", 0.3e3 * (1 + j % 3), math.inf) for j in range(12)]
    local, worst, _, net, stats = compare(graph, transfers)
    assert stats["region"] / stats["local"] > hops / 2  # regions spanned the chain


def test_parking_lot_with_a_long_flow_and_failures_along_it():
    # One long flow over every link of a chain, a cross flow per link, capacities from
    # 1e9 up; cross flows come and go, a middle link fails and comes back.
    hops = 24
    g = nx.Graph()
    for i in range(hops + 1):
        _host(g, f"h{i}")
        g.add_edge(f"h{i}", f"s{i}", bandwidth=1e13, latency=1e-6)
        if i:
            g.add_edge(f"s{i - 1}", f"s{i}", bandwidth=1e9 * (1 + (i * 7) % 5), latency=1e-6)
    rng = random.Random(5)
    transfers = [(0.0, "h0", f"h{hops}", 5e6, math.inf)]
    for i in range(hops):
        for _ in range(3):
            transfers.append(
                (rng.uniform(0, 4e-3), f"h{i}", f"h{i + 1}", rng.uniform(1e5, 4e6), math.inf)
            )
    mid = hops // 2
    actions = [
        (1.1e-3, set_edge(f"s{mid - 1}", f"s{mid}", 0.0)),
        (2.3e-3, set_edge(f"s{mid - 1}", f"s{mid}", 1e9 * (1 + (mid * 7) % 5))),
        (2.9e-3, set_edge("s0", "s1", 5e8)),
    ]
    _, worst, _, _, stats = compare(graph=g, transfers=transfers, actions=actions)
    assert worst["stalled"]


# ------------------------------------------------------------ many flows on one link
def test_incast_of_hundreds_of_flows_with_caps_on_one_link():
    # 300 flows into one host, staggered: regions of up to 300 flows on one link (past
    # START_LIMIT for the last ones), a third capped at exactly the fair share of the
    # moment they start or at a share the link reaches later.
    graph = star_of(lambda: 1e9, 40)
    rng = random.Random(11)
    transfers = []
    for i in range(300):
        roll = rng.random()
        cap = math.inf if roll < 0.6 else 1e9 / rng.choice([50, 100, 150, 200, 300])
        transfers.append((i * 2e-6, f"h{1 + i % 39}", "h0", rng.uniform(1e4, 4e5), cap))
    _, worst, _, _, stats = compare(graph, transfers)
    assert stats["fallback"]  # both paths were taken


# ----------------------------------------------------------------- failed links, by hand
def test_stalled_flows_on_a_failed_core_link_and_everything_around_them():
    # Dumbbell: 8 flows cross the core, 6 stay on one side and share host links with them.
    # The core fails (the 8 stall at rate 0 and leave their host links to the others),
    # new flows start over it while it is down (alone on idle links: rate 0 too), its flows
    # are rerouted onto the same failed path (no alternative), a host with stalled flows
    # crashes, and the core comes back at another capacity.
    graph = dumbbell_of(lambda: 2e9, 4)
    graph.edges["s0", "s1"]["bandwidth"] = 1e9
    transfers = [
        (0.0, f"h{i % 4}", f"h{4 + (i * 3) % 4}", 2e6 + 1e5 * i, math.inf) for i in range(8)
    ]
    transfers += [
        (1e-4 * i, f"h{i % 4}", f"h{(i + 1) % 4}", 1.5e6, 7e8 if i % 2 else math.inf)
        for i in range(6)
    ]
    transfers += [(1.3e-3, "h1", "h6", 3e5, math.inf), (1.35e-3, "h3", "h7", 3e5, 2e8)]
    actions = [
        (1e-3, set_edge("s0", "s1", 0.0)),
        (1.2e-3, reroute_edge("s0", "s1")),
        (1.4e-3, abort("h2")),
        (2.5e-3, set_edge("s0", "s1", 3e9)),
    ]
    local, worst, _, net, _ = compare(graph, transfers, actions)
    assert worst["stalled"] > 3
    assert sum(t is None for t in local) > 0  # h2's flows were cut off
    assert net.flows_aborted > 0


def test_flows_started_on_a_link_failed_before_they_arrive():
    graph = star_of(lambda: 1e9, 4)
    transfers = [(1e-5 * i, "h0", f"h{1 + i % 3}", 1e5, math.inf) for i in range(9)]
    actions = [(0.0, set_edge("h0", "s0", 0.0)), (5e-4, set_edge("h0", "s0", 1e9))]
    local, worst, _, _, _ = compare(graph, transfers, actions)
    assert min(local) > 5e-4 and worst["stalled"]


def test_infinite_bandwidth_links_and_caps():
    # Links of bandwidth inf (allowed by the topology checks): capped flows are bounded
    # by their caps only, uncapped ones on all-inf routes finish at once (rate inf).
    rng = random.Random(3)
    for _ in range(20):
        graph = SHAPES[rng.choice(sorted(SHAPES))](
            lambda: rng.choice([math.inf, math.inf, 1e9, 2e9]), rng.randint(3, 6)
        )
        hosts = [n for n, kind in graph.nodes(data="kind") if kind == "host"]
        transfers = []
        for _ in range(rng.randint(3, 30)):
            src, dst = rng.sample(hosts, 2)
            transfers.append(
                (
                    rng.uniform(0, 1e-3),
                    src,
                    dst,
                    rng.uniform(1e4, 2e6),
                    rng.choice([math.inf, 5e8, 1e9, 7e8]),
                )
            )
        compare(graph, transfers, min_local=0)


@pytest.mark.parametrize(
    "limits",
    [
        {"START_LIMIT": 3, "LOCAL_LIMIT": 5},  # regions grow, then give up for the component
        {"SMALL_NNZ": -1},  # every region through the NumPy filling
        {"SMALL_NNZ": 10**9},  # every region through the pure-Python filling
    ],
)
def test_fallbacks_and_both_fillings_in_random_runs(limits, monkeypatch):
    for name, value in limits.items():
        monkeypatch.setattr(local_module, name, value)
    fallbacks = 0
    for seed in range(300, 340):
        graph, transfers, actions = random_scenario(seed, mixed=False)
        _, _, _, _, stats = compare(graph, transfers, actions, min_local=0)
        fallbacks += stats["fallback"]
    assert fallbacks if "LOCAL_LIMIT" in limits else True


# -------------------------------------------------------------------------- transport
def test_tcp_runs_match_a_global_solve_at_every_instant():
    # TCP: flows carry wire bytes, start after handshakes and are capped by their window.
    tcp = make_transport("tcp")
    local = 0
    for seed in range(60):
        graph, transfers, actions = random_scenario(seed, mixed=False)
        actions = [(at, fn) for at, fn in actions if fn.__qualname__.startswith("abort")]
        _, _, _, _, stats = compare(graph, transfers, actions, transport=tcp, min_local=0)
        local += stats["local"]
    assert local > 500


def test_tcp_flow_whose_link_fails_during_its_handshake_stalls():
    graph = star_of(lambda: 1e9, 2)
    transfers = [(0.0, "h0", "h1", 1e6, math.inf)]
    actions = [(1e-6, set_edge("h0", "s0", 0.0)), (1e-3, set_edge("h0", "s0", 1e9))]
    compare(graph, transfers, actions, transport=make_transport("tcp"), min_local=0)


def test_tcp_transfer_over_a_failed_link_stalls():
    graph = star_of(lambda: 1e9, 2)
    env = simpy.Environment()
    net = FlowNetwork(env, graph, Router(graph), transport=make_transport("tcp"))
    net.set_link_capacity(net.link_index[("h0", "s0")], 0.0)
    net.transfer("h0", "h1", 1e6)


# ------------------------------------------------------------------------ collectives
COLLECTIVE_GRAPHS = {
    "star": lambda: star_topology(64, "100Gbps", "2us"),
    "tree_oversubscribed": lambda: tree_topology(
        64, "100Gbps", "2us", fanout=4, oversubscription=4
    ),
    "tree_1e3_to_1e12": lambda: tree_topology(
        48, 1e12, 1e-6, fanout=3, hosts_per_leaf=4, level_bandwidth=[1e12, 1e3, 1e9]
    ),
}


@pytest.mark.parametrize(
    ("shape", "algorithm", "options"),
    [
        ("star", "double_binary_tree", {"chunks": 16}),
        ("tree_oversubscribed", "double_binary_tree", {"chunks": 16}),
        ("tree_oversubscribed", "ring", {"transport": "tcp"}),
        ("tree_oversubscribed", "pairwise_all_to_all", {}),
        ("tree_1e3_to_1e12", "double_binary_tree", {"chunks": 3, "transport": "tcp"}),
        ("tree_1e3_to_1e12", "pairwise_all_to_all", {}),
        ("tree_1e3_to_1e12", "ring", {}),
    ],
)
def test_collectives_match_the_whole_component_solve(shape, algorithm, options):
    graph = COLLECTIVE_GRAPHS[shape]()
    with solver(force_global=False) as stats:
        run_local = simulate_collective(graph, algorithm, nbytes=2**24, **options)
    with solver(force_global=True):
        whole = simulate_collective(graph, algorithm, nbytes=2**24, **options)
    assert stats["local"] > 0
    assert run_local.time == pytest.approx(whole.time, rel=TIME_RTOL)
    assert run_local.finish_times == pytest.approx(whole.finish_times, rel=TIME_RTOL)
    assert np.allclose(
        run_local.network.link_bytes(), whole.network.link_bytes(), rtol=TIME_RTOL, atol=0
    )


# -------------------------------------------------------------- rate inf: NaN residual
@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
def test_an_outside_flow_at_rate_inf_leaves_a_nan_residual(large_regions):
    # Link 0: bandwidth inf, crossed by Q (only link 0, no cap: rate inf) and by R_i, each
    # also on its own link 1 + i (capacity 1). New flows N_i join links 1 + i.
    n = 70
    routes = [(0,)] + [(0, 1 + i) for i in range(n)] + [(1 + i,) for i in range(n)]
    link_caps = [math.inf] + [1.0] * n
    caps = [math.inf] * len(routes)
    old = max_min_rates(routes[: 1 + n], link_caps, caps[: 1 + n]).tolist()
    flows, active = flows_on(routes, old + [0.0] * n, caps, 1 + n)

    def timeout(signum, frame):
        raise TimeoutError("local_max_min did not return within 0.5 s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with np.errstate(invalid="ignore"):
            result = local_max_min(list(range(1, n + 1)), active, link_caps, search=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert result is not None
    expected = max_min_rates(routes, link_caps, caps)
    assert rel_errors(local_result(flows, result), expected).max() <= RATE_RTOL
