"""Asynchronous parameter server: sequential equivalence, hand-traced staleness, SSP waits, times and bytes."""

import numpy as np
import pytest
import simpy

from netsim.collectives import Communicator
from netsim.collectives.async_ps import AsyncParameterServer
from netsim.network import make_network
from netsim.topology import Router, star

B = 1.25e9
L = 1e-6
ALPHA = 2 * L  # worker -> switch -> server
FAST, SLOW = 1.0, 2.3  # compute seconds per step (>> communication times)


def setup(workers):
    """Workers on h0..h{p-1}, the server on the last host of a star."""
    graph = star(workers + 1, B, L)
    env = simpy.Environment()
    comm = Communicator(env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"])
    return env, comm


def sgd_server(comm, server, params, lr=0.1, **kw):
    ps = AsyncParameterServer(
        comm, server, params, lambda worker, grad: ps.params - lr * grad, **kw
    )
    return ps


def run_workers(computes, steps, ssp=None, length=4):
    """Each worker: pull, compute (simulated seconds), push a constant gradient; then leave."""
    p = len(computes)
    env, comm = setup(p)
    ps = sgd_server(comm, p, np.zeros(length), ssp=ssp)

    def worker(rank):
        for _ in range(steps[rank]):
            yield from ps.pull(rank)
            yield env.timeout(computes[rank])
            yield from ps.push(rank, np.full(length, rank + 1.0))
        ps.leave(rank)

    for rank in range(p):
        env.process(worker(rank))
    env.run()
    return ps, env, comm


def test_one_worker_async_equals_sequential_sgd():
    env, comm = setup(1)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    A = A @ A.T / 6 + np.eye(6)
    b = rng.standard_normal(6)
    x0 = rng.standard_normal(6)
    lr, k = 0.05, 25
    ps = sgd_server(comm, 1, x0, lr=lr)
    versions = []

    def worker():
        for _ in range(k):
            params, version = yield from ps.pull(0)
            versions.append(version)
            yield env.timeout(0.01)
            yield from ps.push(0, A @ params - b)

    env.process(worker())
    env.run()
    x = x0.copy()
    for _ in range(k):
        x = x - lr * (A @ x - b)
    np.testing.assert_array_equal(ps.params, x)  # same operations in the same order
    assert ps.version == k and versions == list(range(k))
    assert ps.staleness == [0] * k


def test_asp_staleness_matches_the_hand_trace():
    """fast: 1.0 s/step, 5 steps; slow: 2.3 s/step, 2 steps (comm times are microseconds).

    Pushes arrive at ~1 (F), 2 (F), 2.3 (S), 3 (F), 4 (F), 4.6 (S), 5 (F). Versions before
    each update are 0..6; F pulled 0, 1, 2, 4, 5 and S pulled 0, 3 (S's second pull is
    after its own push at 2.3, when F's two updates and its own had been applied).
    """
    ps, _, _ = run_workers([FAST, SLOW], [5, 2])
    assert [u.worker for u in ps.updates] == [0, 0, 1, 0, 0, 1, 0]
    assert [u.version for u in ps.updates] == list(range(7))
    assert [u.pulled_version for u in ps.updates] == [0, 1, 0, 2, 4, 3, 5]
    assert ps.staleness == [0, 0, 2, 1, 0, 2, 1]
    assert all(q.answered == q.requested for q in ps.pulls)  # ASP never waits


def test_ssp_zero_makes_the_fast_worker_wait_for_the_slow_one():
    ps, _, _ = run_workers([FAST, SLOW], [3, 3], ssp=0)
    assert [u.worker for u in ps.updates] == [0, 1, 0, 1, 0, 1]
    assert ps.staleness == [0, 1, 0, 1, 0, 1]
    fast_pulls = [q for q in ps.pulls if q.worker == 0]
    # F's pulls after its 1st and 2nd push wait for S's push (~1.0 -> ~2.3, ~3.3 -> ~4.6).
    waits = [q.answered - q.requested for q in fast_pulls]
    assert waits[0] == 0
    assert waits[1] == pytest.approx(SLOW - FAST, abs=1e-3)
    assert waits[2] == pytest.approx(SLOW - FAST, abs=1e-3)
    assert [q.version for q in fast_pulls] == [0, 2, 4]


def test_ssp_one_hand_trace():
    """s = 1: F may be one push ahead of S; F leaves after 4 steps, so S never waits on it."""
    ps, _, _ = run_workers([FAST, SLOW], [4, 4], ssp=1)
    assert [u.worker for u in ps.updates] == [0, 0, 1, 0, 1, 0, 1, 1]
    assert ps.staleness == [0, 0, 2, 0, 1, 0, 1, 0]
    assert ps.clocks == {0: 4, 1: 4}


def test_staleness_bound_holds_at_every_answered_pull():
    bound = 2
    checks = []
    env, comm = setup(3)
    ps = sgd_server(comm, 3, np.zeros(2), ssp=bound)

    def worker(rank, compute):
        for _ in range(6):
            yield from ps.pull(rank)
            checks.append(ps.clocks[rank] - min(ps.clocks.values()))
            yield env.timeout(compute)
            yield from ps.push(rank, np.ones(2))
        ps.leave(rank)

    for rank, compute in enumerate([0.3, 1.0, 1.7]):
        env.process(worker(rank, compute))
    env.run()
    assert ps.version == 18
    assert max(checks) <= bound


def test_steps_total_stops_the_server_and_drops_late_pushes():
    env, comm = setup(2)
    ps = sgd_server(comm, 2, np.zeros(3), steps_total=5)
    finished_at = {}

    def worker(rank, compute):
        while True:
            _, version = yield from ps.pull(rank)
            if ps.finished:
                finished_at[rank] = version
                return
            yield env.timeout(compute)
            yield from ps.push(rank, np.ones(3))

    def coordinator():
        final = yield from ps.serve()
        np.testing.assert_array_equal(final, np.full(3, -0.5))

    env.process(worker(0, FAST))
    env.process(worker(1, SLOW))
    env.process(coordinator())
    env.run()
    # Updates at ~1 F, 2 F, 2.3 S, 3 F, 4 F (the 5th); S's push at ~4.6 is dropped.
    assert [u.worker for u in ps.updates] == [0, 0, 1, 0, 0]
    assert ps.version == 5 and ps.dropped == 1
    assert finished_at == {0: 5, 1: 5}
    assert comm.pending_messages() == 2  # the server's posted receives for further requests


def test_one_worker_times_and_bytes_on_a_star():
    """Per step: pull request (0 B) alpha, reply alpha + n beta, compute c, push alpha + n beta."""
    k, length, c = 4, 1000, 0.01
    n = 8.0 * length
    env, comm = setup(1)
    ps = sgd_server(comm, 1, np.zeros(length))
    ends = []

    def worker():
        for _ in range(k):
            params, _ = yield from ps.pull(0)
            yield env.timeout(c)
            yield from ps.push(0, np.ones(length))
            ends.append(env.now)

    env.process(worker())
    env.run()
    step = 3 * ALPHA + 2 * n / B + c
    np.testing.assert_allclose(ends, step * np.arange(1, k + 1), rtol=1e-12)
    assert comm.bytes_sent == [k * n, k * n]
    assert comm.messages == [2 * k, k]


def test_two_symmetric_workers_share_the_server_link():
    """Two replies share the server's uplink, two pushes its downlink: 3 alpha + 4 n beta + c."""
    k, n, c = 3, 1e6, 0.002
    env, comm = setup(2)
    ps = AsyncParameterServer(comm, 2, None, lambda worker, grad: None, params_nbytes=n)
    ends = {0: [], 1: []}

    def worker(rank):
        for _ in range(k):
            params, _ = yield from ps.pull(rank)
            assert params is None
            yield env.timeout(c)
            yield from ps.push(rank, None, n)
            ends[rank].append(env.now)

    for rank in (0, 1):
        env.process(worker(rank))
    env.run()
    step = 3 * ALPHA + 4 * n / B + c
    for rank in (0, 1):
        np.testing.assert_allclose(ends[rank], step * np.arange(1, k + 1), rtol=1e-12)
    assert comm.bytes_sent == [k * n, k * n, 2 * k * n]
    assert ps.version == 2 * k


def test_push_without_waiting_pipelines_the_next_pull():
    """wait=False: the pull request travels behind the push; the reply leaves when the push is applied."""
    k, length, c = 3, 1000, 0.01
    n = 8.0 * length
    env, comm = setup(1)
    ps = sgd_server(comm, 1, np.zeros(length))
    pulled = []

    def worker():
        params, version = yield from ps.pull(0)
        for _ in range(k):
            yield env.timeout(c)
            yield from ps.push(0, np.ones(length), wait=False)
            params, version = yield from ps.pull(0)
            pulled.append((env.now, version))

    env.process(worker())
    env.run()
    first = 2 * ALPHA + n / B
    step = c + 2 * (ALPHA + n / B)
    np.testing.assert_allclose(
        [t for t, _ in pulled], first + step * np.arange(1, k + 1), rtol=1e-12
    )
    assert [v for _, v in pulled] == [1, 2, 3]  # every pull sees the push sent just before it
    np.testing.assert_allclose(ps.params, np.full(length, -0.1 * k), rtol=1e-12)


def test_pulled_parameters_are_read_only_snapshots():
    env, comm = setup(1)
    x0 = np.zeros(3)
    ps = sgd_server(comm, 1, x0)
    got = []

    def worker():
        params, _ = yield from ps.pull(0)
        got.append(params)
        yield from ps.push(0, np.ones(3))
        params, _ = yield from ps.pull(0)
        got.append(params)

    env.process(worker())
    env.run()
    np.testing.assert_array_equal(got[0], 0.0)  # unchanged by the later update
    np.testing.assert_array_equal(got[1], -0.1)
    assert not got[0].flags.writeable
    with pytest.raises(ValueError):
        got[1] += 1
    x0[:] = 7  # the caller's array is not the server's
    np.testing.assert_array_equal(ps.params, -0.1)


def test_gate_hook_and_recheck_let_a_coordinator_hold_a_worker():
    env, comm = setup(1)
    released = {"open": False}
    ps = sgd_server(comm, 1, np.zeros(2), gate=lambda server, worker: released["open"])
    answered = []

    def worker():
        _, version = yield from ps.pull(0)
        answered.append((env.now, version))

    def coordinator():
        yield env.timeout(5.0)
        released["open"] = True
        ps.recheck()

    env.process(worker())
    env.process(coordinator())
    env.run()
    assert answered == [(pytest.approx(5.0 + ALPHA + 16 / B, rel=1e-12), 0)]
    assert ps.pulls[0].requested == pytest.approx(ALPHA) and ps.pulls[0].answered == 5.0


def test_invalid_arguments():
    env, comm = setup(2)
    with pytest.raises(ValueError, match="server rank"):
        AsyncParameterServer(comm, 3, np.zeros(1), lambda w, g: g)
    with pytest.raises(ValueError, match="ssp"):
        AsyncParameterServer(comm, 2, np.zeros(1), lambda w, g: g, ssp=-1)
    with pytest.raises(ValueError, match="nbytes"):
        AsyncParameterServer(comm, 2, None, lambda w, g: g)
    ps = AsyncParameterServer(comm, 2, np.zeros(1), lambda w, g: g, workers=[0])
    with pytest.raises(ValueError, match="not a worker"):
        next(ps.pull(1))
