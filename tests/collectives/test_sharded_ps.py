"""Sharded parameter server (BytePS-style): exact sums, closed-form times, options pass-through."""

import numpy as np
import pytest
import simpy

from netsim.collectives import Communicator, get_algorithm, simulate_collective
from netsim.collectives.sharded_ps import sharded_ps, sharded_ps_time
from netsim.network import make_network
from netsim.topology import Router, star

B = 1.25e8  # 1 Gbps
L = 20e-6
ALPHA = 2 * L  # host -> switch -> host

PS = [1, 2, 3, 4, 7, 8]
CONFIGS = [
    (p, s, colocated)
    for p in PS
    for s in sorted({1, 2, p})
    for colocated in (False, True)
    if not (colocated and s > p)
]


def graph_for(p, s, colocated):
    return star(p if colocated else p + s, B, L)


def vectors(p, length, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(length) for _ in range(p)]


@pytest.mark.parametrize(("p", "s", "colocated"), CONFIGS)
@pytest.mark.parametrize("length", [1, 3, 17, 64])
def test_workers_get_the_exact_sum(p, s, colocated, length):
    data = vectors(p, length, seed=1000 * p + 10 * s + length)
    copies = [d.copy() for d in data]
    run = simulate_collective(
        graph_for(p, s, colocated), "sharded_ps", data, servers=s, colocated=colocated
    )
    expected = np.sum(data, axis=0)
    assert run.comm.size == p + s and len(run.outputs) == p + s
    for out in run.outputs[:p]:
        assert out.shape == (length,)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    # Server j returns its shard of the sum (empty shards when length < s).
    for j, shard in enumerate(np.array_split(expected, s)):
        np.testing.assert_allclose(run.outputs[p + j], shard, rtol=1e-12, atol=1e-12)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(("p", "s", "colocated"), CONFIGS)
@pytest.mark.parametrize("n", [1e3, 1e6, 1e8])
def test_time_matches_the_closed_form(p, s, colocated, n):
    run = simulate_collective(
        graph_for(p, s, colocated), "byteps", nbytes=n, servers=s, colocated=colocated
    )
    expected = sharded_ps_time(p, n, ALPHA, 1 / B, servers=s, colocated=colocated)
    assert run.time == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert all(out is None for out in run.outputs)


@pytest.mark.parametrize("p", [2, 3, 4, 7, 8])
def test_colocated_p_servers_cost_like_ring_allreduce_bandwidth(p):
    n = 1e8
    run = simulate_collective(star(p, B, L), "sharded_ps", nbytes=n, servers=p, colocated=True)
    assert run.time == pytest.approx(2 * (ALPHA + (p - 1) / p * n / B), rel=1e-9)
    assert get_algorithm("byteps").predict(p, n, ALPHA, 1 / B) == pytest.approx(run.time, rel=1e-9)


@pytest.mark.parametrize(("p", "s", "colocated"), CONFIGS)
def test_predict_with_the_run_options(p, s, colocated):
    n = 1e6
    run = simulate_collective(
        graph_for(p, s, colocated), "sharded_ps", nbytes=n, servers=s, colocated=colocated
    )
    predicted = get_algorithm("sharded_ps").predict(
        p, n, ALPHA, 1 / B, servers=s, colocated=colocated
    )
    assert run.time == pytest.approx(predicted, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("p", "s"), [(1, 1), (2, 1), (2, 2), (4, 1), (4, 2), (8, 2), (8, 8)])
def test_dedicated_servers_time_two_alpha_plus_p_n_over_s_beta(p, s):
    """The REFERENCES form, for s <= p (server links are the bottleneck)."""
    n = 1e7
    run = simulate_collective(star(p + s, B, L), "sharded_ps", nbytes=n, servers=s)
    assert run.time == pytest.approx(2 * (ALPHA + p * (n / s) / B), rel=1e-9)


def test_real_arrays_take_the_closed_form_time():
    p, s, length = 4, 4, 4096  # shards of equal size
    data = vectors(p, length, seed=3)
    run = simulate_collective(star(p, B, L), "sharded_ps", data, servers=s, colocated=True)
    assert run.time == pytest.approx(
        sharded_ps_time(p, 8 * length, ALPHA, 1 / B, s, True), rel=1e-9
    )


def test_default_is_one_dedicated_server_like_the_plain_ps():
    p, n = 4, 1e6
    sharded = simulate_collective(star(p + 1, B, L), "sharded_ps", nbytes=n)
    plain = simulate_collective(star(p + 1, B, L), "parameter_server", nbytes=n)
    assert sharded.comm.size == p + 1
    assert sharded.time == pytest.approx(plain.time, rel=1e-12)


@pytest.mark.parametrize(("p", "s", "colocated"), [(4, 2, False), (4, 4, True), (3, 2, True)])
def test_bytes_on_the_wire(p, s, colocated):
    n = 1.2e6
    run = simulate_collective(
        graph_for(p, s, colocated), "sharded_ps", nbytes=n, servers=s, colocated=colocated
    )
    sent = run.comm.bytes_sent  # counts local copies too
    for worker in range(p):
        assert sent[worker] == pytest.approx(n)
    for j in range(s):
        assert sent[p + j] == pytest.approx(p * n / s)
    # Messages between a worker and a server on distinct hosts, both ways, n/s bytes each.
    remote = 2 * p * s - (2 * s if colocated else 0)
    assert run.network.bytes_sent == pytest.approx(remote * n / s)


def test_on_server_gets_each_shard_and_its_reply_is_returned():
    p, s, length = 3, 2, 5
    data = vectors(p, length, seed=9)
    seen = []

    def update(shard, total):
        seen.append((shard, total.copy()))
        return -total, 8.0 * total.size

    run = simulate_collective(star(p + s, B, L), "sharded_ps", data, servers=s, on_server=update)
    expected = np.sum(data, axis=0)
    assert sorted(shard for shard, _ in seen) == [0, 1]
    for shard, total in seen:
        np.testing.assert_allclose(total, np.array_split(expected, s)[shard], rtol=1e-12)
    for out in run.outputs[:p]:
        np.testing.assert_allclose(out, -expected, rtol=1e-12)


@pytest.mark.parametrize(("late", "expected"), [(2, (1e16 + 1.0) - 1e16), (1, (1e16 - 1e16) + 1.0)])
def test_each_server_reduces_in_arrival_order(late, expected):
    """The worker on a slower link arrives last at every server and is added last."""
    p = 3
    data = [np.array([1e16, 1e16]), np.array([1.0, 1.0]), np.array([-1e16, -1e16])]
    graph = star(p + 2, B, L)
    graph.edges[f"h{late}", "s0"]["latency"] = 5 * L
    run = simulate_collective(graph, "sharded_ps", data, servers=2)
    np.testing.assert_array_equal(run.outputs[0], [expected] * 2)


def test_registered_with_alias_and_options():
    algo = get_algorithm("byteps", operation="allreduce")
    assert algo.name == "sharded_ps" and algo.kind == "parameter_server"
    assert {"servers", "colocated", "on_server"} <= set(algo.options)


def test_inconsistent_server_options_are_rejected():
    with pytest.raises(ValueError, match="first server rank"):
        simulate_collective(star(6, B, L), "sharded_ps", nbytes=1e3, servers=2, server=3)


def test_servers_that_start_late_still_get_every_push():
    """Pushes delivered before a server calls in are picked up from the mailbox."""
    p, s, length = 3, 2, 6
    graph = star(p + s, B, L)
    env = simpy.Environment()
    comm = Communicator(env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"])
    data = vectors(p, length, seed=7)
    outputs = [None] * (p + s)

    def rank_process(rank, delay):
        yield env.timeout(delay)
        vector = data[rank] if rank < p else None
        outputs[rank] = yield from sharded_ps(comm, rank, vector, servers=s)

    for rank in range(p + s):
        env.process(rank_process(rank, 1.0 if rank >= p else 0.0))
    env.run()
    for out in outputs[:p]:
        np.testing.assert_allclose(out, np.sum(data, axis=0), rtol=1e-12, atol=1e-12)
    shard_bytes = 8.0 * length / s
    assert env.now == pytest.approx(1.0 + ALPHA + p * shard_bytes / B, rel=1e-12)
