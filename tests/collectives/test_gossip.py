"""Gossip (D-PSGD mixing): W @ X exactly, average preserved, convergence, times on a star."""

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import OPERATIONS, Communicator, get_algorithm, simulate_collective
from netsim.collectives.gossip import gossip, mixing_matrix, spectral_gap
from netsim.network import make_network
from netsim.topology import Router, dumbbell, ring, star

B = 1.25e9
L = 3e-6
ALPHA = 2 * L  # one route through the star's switch


def vectors(p, length, seed=0):
    return np.random.default_rng(seed).standard_normal((p, length))


def birkhoff(p, seed, terms=4):
    """A random doubly-stochastic matrix: a convex combination of permutation matrices."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(terms))
    return sum(w * np.eye(p)[rng.permutation(p)] for w in weights)


def ring_mh(p):
    """Metropolis-Hastings weights of the ring, written out by hand."""
    W = np.zeros((p, p))
    if p == 1:
        return np.ones((1, 1))
    if p == 2:
        return np.full((2, 2), 0.5)
    for r in range(p):
        W[r, r] = W[r, (r - 1) % p] = W[r, (r + 1) % p] = 1 / 3
    return W


def test_gossip_is_an_operation_and_registered():
    assert "gossip" in OPERATIONS
    algo = get_algorithm("dpsgd", operation="gossip")
    assert algo.name == "gossip" and algo.options == ("mixing",)


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 8])
def test_ring_weights_are_metropolis_hastings(p):
    W = mixing_matrix(p, "ring")
    np.testing.assert_allclose(W, ring_mh(p), rtol=0, atol=1e-15)
    np.testing.assert_allclose(W.sum(axis=0), 1, rtol=1e-15)
    np.testing.assert_allclose(W.sum(axis=1), 1, rtol=1e-15)
    np.testing.assert_array_equal(W, W.T)


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 8, 13])
@pytest.mark.parametrize("mixing", ["ring", "topology", "explicit"])
def test_result_is_W_times_X(p, mixing):
    graph = star(p, B, L)
    X = vectors(p, 11, seed=p)
    option = birkhoff(p, seed=p) if mixing == "explicit" else mixing
    run = simulate_collective(graph, "gossip", list(X), mixing=option)
    W = mixing_matrix(p, option, graph=graph)
    np.testing.assert_allclose(np.array(run.outputs), W @ X, rtol=1e-12, atol=1e-12)


def test_topology_mixing_on_a_star_is_the_exact_average():
    p = 6
    X = vectors(p, 5, seed=2)
    run = simulate_collective(star(p, B, L), "gossip", list(X), mixing="topology")
    for out in run.outputs:
        np.testing.assert_allclose(out, X.mean(axis=0), rtol=1e-12, atol=1e-12)


def test_topology_mixing_on_a_ring_topology_is_the_ring():
    p = 7
    np.testing.assert_allclose(
        mixing_matrix(p, "topology", graph=ring(p, B, L)), ring_mh(p), atol=1e-15
    )


def test_topology_neighbours_share_a_switch_only():
    """On a dumbbell the hosts of one side share a switch; the two sides are not neighbours."""
    graph = dumbbell(2, 3, B, L)
    W = mixing_matrix(5, "topology", graph=graph)
    np.testing.assert_allclose(W[:2, :2], 0.5)
    np.testing.assert_allclose(W[2:, 2:], 1 / 3)
    assert not W[:2, 2:].any() and not W[2:, :2].any()
    assert spectral_gap(W) == pytest.approx(0, abs=1e-12)  # disconnected: no consensus
    X = vectors(5, 4, seed=5)
    run = simulate_collective(graph, "gossip", list(X), mixing="topology")
    np.testing.assert_allclose(np.array(run.outputs), W @ X, rtol=1e-12, atol=1e-12)


def test_ranks_sharing_a_host_are_neighbours():
    graph = ring(4, B, L)
    env = simpy.Environment()
    comm = Communicator(env, make_network("flow", env, graph, Router(graph)), ["h0", "h0", "h2"])
    W = mixing_matrix(3, "topology", graph=graph, hosts=comm.hosts)
    # h0 and h2 are not adjacent on a 4-ring (no switch): ranks 0-1 only are neighbours.
    np.testing.assert_allclose(W, [[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1]])


@pytest.mark.parametrize("p", [3, 4, 6])
def test_non_symmetric_explicit_matrix(p):
    W = birkhoff(p, seed=11, terms=2)
    X = vectors(p, 3, seed=1)
    run = simulate_collective(star(p, B, L), "gossip", list(X), mixing=W)
    np.testing.assert_allclose(np.array(run.outputs), W @ X, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(p=st.integers(1, 9), length=st.integers(0, 20), seed=st.integers(0, 2**32 - 1))
def test_average_over_ranks_is_preserved(p, length, seed):
    X = vectors(p, length, seed)
    for option in ("ring", birkhoff(p, seed)):
        run = simulate_collective(star(p, B, L), "gossip", list(X), mixing=option)
        np.testing.assert_allclose(
            np.mean(run.outputs, axis=0), X.mean(axis=0), rtol=1e-12, atol=1e-12
        )


def repeated_rounds(p, X, rounds, mixing="ring"):
    graph = star(p, B, L)
    env = simpy.Environment()
    comm = Communicator(env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"])
    outputs = [None] * p

    def rank_process(rank):
        x = X[rank]
        for _ in range(rounds):
            x = yield from gossip(comm, rank, x, mixing=mixing)
        outputs[rank] = x

    for rank in range(p):
        env.process(rank_process(rank))
    env.run()
    return np.array(outputs), env.now


@pytest.mark.parametrize("p", [3, 4, 8, 16])
def test_repeated_rounds_converge_to_the_global_mean(p):
    X = vectors(p, 6, seed=p)
    W = mixing_matrix(p, "ring")
    gap = spectral_gap(W)
    assert gap > 0
    rounds = 400
    out, now = repeated_rounds(p, X, rounds)
    np.testing.assert_allclose(out, np.linalg.matrix_power(W, rounds) @ X, rtol=1e-9, atol=1e-12)
    # Symmetric W: the disagreement shrinks at least by |lambda_2| = 1 - gap per round.
    before = np.linalg.norm(X - X.mean(axis=0))
    after = np.linalg.norm(out - X.mean(axis=0))
    assert after <= (1 - gap) ** rounds * before * (1 + 1e-9) + 1e-12
    np.testing.assert_allclose(out, np.broadcast_to(X.mean(axis=0), out.shape), atol=1e-6)
    assert now == pytest.approx(rounds * (ALPHA + 2 * 48 / B), rel=1e-9)


@pytest.mark.parametrize("p", [1, 2, 3, 4, 8, 16])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e8])
def test_ring_mixing_time_on_a_star(p, n):
    """Each uplink and downlink carries two flows of n bytes at B/2: alpha + 2 n beta (p >= 3)."""
    run = simulate_collective(star(p, B, L), "gossip", nbytes=n)
    neighbours = {1: 0, 2: 1}.get(p, 2)
    expected = 0.0 if p == 1 else ALPHA + neighbours * n / B
    assert run.time == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert get_algorithm("gossip").predict(p, n, ALPHA, 1 / B) == pytest.approx(expected, rel=1e-12)
    assert all(out is None for out in run.outputs)


@pytest.mark.parametrize("p", [2, 3, 5, 8])
def test_topology_mixing_time_on_a_star(p):
    n = 1e6
    run = simulate_collective(star(p, B, L), "gossip", nbytes=n, mixing="topology")
    assert run.time == pytest.approx(ALPHA + (p - 1) * n / B, rel=1e-9)


@pytest.mark.parametrize("p", [3, 4, 8])
def test_ring_mixing_time_on_a_ring_topology(p):
    """Direct links: the two flows of a rank leave on different links, alpha + n beta."""
    n = 1e6
    run = simulate_collective(ring(p, B, L), "gossip", nbytes=n)
    assert run.time == pytest.approx(L + n / B, rel=1e-9)


def test_bytes_sent_and_inputs_untouched():
    p, length = 5, 100
    X = vectors(p, length, seed=4)
    data = [x.copy() for x in X]
    run = simulate_collective(star(p, B, L), "gossip", data)
    for before, after in zip(X, data, strict=True):
        np.testing.assert_array_equal(before, after)
    assert run.comm.bytes_sent == [2 * 8.0 * length] * p
    assert run.comm.pending_messages() == 0


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.full((3, 3), 1 / 3)[:2], "shape"),
        (np.array([[1.5, -0.5, 0], [-0.5, 1.5, 0], [0, 0, 1.0]]), "non-negative"),
        (np.array([[0.5, 0.5, 0], [0.5, 0.5, 0], [0.5, 0, 0.5]]), "column 0 sums to"),
        (np.array([[0.5, 0.2, 0.2], [0.2, 0.5, 0.3], [0.3, 0.3, 0.5]]), "row 0 sums to"),
        (np.array([[np.nan, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5]]), "finite"),
    ],
)
def test_invalid_matrices_are_rejected(matrix, message):
    with pytest.raises(ValueError, match=message):
        simulate_collective(star(3, B, L), "gossip", nbytes=1e3, mixing=matrix)
    with pytest.raises(ValueError, match=message):
        mixing_matrix(3, matrix)


def test_unknown_mixing_name():
    with pytest.raises(ValueError, match="accepted: ring, topology"):
        simulate_collective(star(3, B, L), "gossip", nbytes=1e3, mixing="torus")
