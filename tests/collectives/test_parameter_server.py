"""Synchronous parameter server: exact sums and 2(a + p n b) on a star."""

import numpy as np
import pytest

from netsim.collectives import simulate_collective
from netsim.topology import star

B = 1.25e8  # 1 Gbps
L = 20e-6


@pytest.mark.parametrize("p", [1, 2, 3, 4, 7, 8, 16])
@pytest.mark.parametrize("length", [1, 5, 33])
def test_workers_get_the_exact_sum(p, length):
    rng = np.random.default_rng(p + 100 * length)
    data = [rng.standard_normal(length) for _ in range(p)]
    run = simulate_collective(star(p + 1, B, L), "parameter_server", data)
    expected = np.sum(data, axis=0)
    assert len(run.outputs) == p + 1
    for out in run.outputs:
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e8])
def test_time_is_two_alpha_plus_p_n_beta(p, n):
    run = simulate_collective(star(p + 1, B, L), "parameter_server", nbytes=n)
    alpha = 2 * L  # worker -> switch -> server
    assert run.time == pytest.approx(2 * (alpha + p * n / B), rel=1e-9)


def test_single_server_grows_linearly_and_ring_does_not():
    n = 1e8
    ps = [simulate_collective(star(p + 1, B, L), "ps", nbytes=n).time for p in (4, 8, 16)]
    rg = [simulate_collective(star(p, B, L), "ring", nbytes=n).time for p in (4, 8, 16)]
    assert ps[1] / ps[0] == pytest.approx(2, rel=1e-3)
    assert ps[2] / ps[0] == pytest.approx(4, rel=1e-3)
    assert rg[2] / rg[0] < 1.3


def test_reduction_happens_in_arrival_order():
    """Gradients are summed as they arrive: a far worker's push is added last."""
    p = 3
    data = [np.array([1e16]), np.array([1.0]), np.array([-1e16])]
    run = simulate_collective(star(p + 1, B, L), "parameter_server", data)
    # All pushes arrive together on a symmetric star; arrival order = rank order,
    # so ((1e16 + 1) - 1e16) == 0 in float64, unlike the exact sum 1.
    assert run.outputs[0][0] == (1e16 + 1.0) - 1e16
