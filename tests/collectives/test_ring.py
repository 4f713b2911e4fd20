"""Ring allreduce: exact reduced arrays and the closed-form time (REFERENCES §2)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.collectives import simulate_collective
from netsim.topology import ring, star
from tests.collectives.helpers import vectors

B = 1.25e9  # 10 Gbps in bytes/s
L = 3e-6  # seconds per hop


def ring_time(p, n, alpha, beta):
    return 2 * (p - 1) * alpha + 2 * ((p - 1) / p) * n * beta



@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("length", [0, 1, 3, 15, 17, 1001])
def test_every_rank_gets_the_exact_sum(p, length):
    data = vectors(p, length, seed=p * 1000 + length)
    run = simulate_collective(star(p, B, L), "ring_allreduce", data)
    expected = np.sum(data, axis=0)
    for out in run.outputs:
        assert out.shape == (length,)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_inputs_are_not_modified():
    data = vectors(4, 10)
    copies = [d.copy() for d in data]
    simulate_collective(star(4, B, L), "ring", data)
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)


@settings(max_examples=40, deadline=None)
@given(p=st.integers(1, 9), length=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_sum_property(p, length, seed):
    data = vectors(p, length, seed)
    run = simulate_collective(ring(p, B, L), "ring_allreduce", data)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(data, axis=0), rtol=1e-12, atol=1e-12)


SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]


@pytest.mark.parametrize("p", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_ring_topology(p, n):
    run = simulate_collective(ring(p, B, L), "ring_allreduce", nbytes=n)
    assert run.time == pytest.approx(ring_time(p, n, L, 1 / B), rel=1e-9)


@pytest.mark.parametrize("p", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star_two_hops_per_message(p, n):
    run = simulate_collective(star(p, B, L), "ring_allreduce", nbytes=n)
    assert run.time == pytest.approx(ring_time(p, n, 2 * L, 1 / B), rel=1e-9)


@pytest.mark.parametrize("model", ["flow", "analytic"])
def test_real_arrays_take_the_closed_form_time(model):
    p, length = 4, 4096
    data = vectors(p, length)
    run = simulate_collective(star(p, B, L), "ring_allreduce", data, model=model)
    assert run.time == pytest.approx(ring_time(p, length * 8, 2 * L, 1 / B), rel=1e-9)


def test_bytes_sent_per_rank():
    p, n = 8, 8e6
    run = simulate_collective(star(p, B, L), "ring_allreduce", nbytes=n)
    for sent in run.comm.bytes_sent:
        assert sent == pytest.approx(2 * (p - 1) / p * n, rel=1e-12)
    assert run.network.bytes_sent == pytest.approx(p * 2 * (p - 1) / p * n, rel=1e-12)
    assert run.comm.pending_messages() == 0


def test_single_rank_costs_nothing():
    run = simulate_collective(star(1, B, L), "ring_allreduce", nbytes=1e9)
    assert run.time == 0.0
