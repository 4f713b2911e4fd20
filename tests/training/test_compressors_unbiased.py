"""Monte Carlo checks that QSGD, TernGrad (clipped gradient) and scaled random-k are unbiased.

With ``N`` independent draws of an unbiased compressor ``C`` of variance
``V = E‖C(v) − v‖²``, the sample mean ``m`` has ``E‖m − v‖² = V/N``; ``‖m − v‖²`` is a sum
of many independent terms and concentrates, so we accept ``‖m − v‖² <= 3V/N`` (with the
variance bound in place of ``V``). The same check rejects the biased variants (deterministic
rounding, unscaled random-k, TernGrad against the unclipped gradient): the tests can fail.
"""

import numpy as np
import pytest

from netsim.training.compression import QSGD, RandomK, TernGrad, count_for_ratio

N = 4000
D = 40


def _draws(compressor, v, n=N, seed=0):
    rng = np.random.default_rng(seed)
    state = compressor.init_state(v.size)
    return np.array([compressor.decode(compressor.encode(v, state, rng)) for _ in range(n)])


@pytest.fixture(scope="module")
def vector():
    return np.random.default_rng(123).standard_normal(D)


@pytest.mark.parametrize("levels", [1, 2, 8])
def test_qsgd_is_unbiased_within_its_variance_bound(vector, levels):
    bound = min(D / levels**2, np.sqrt(D) / levels) * float(vector @ vector)
    draws = _draws(QSGD(levels), vector)
    mean_error = float(np.sum((draws.mean(axis=0) - vector) ** 2))
    assert mean_error <= 3 * bound / N
    # the variance bound itself (empirical second moment of the error)
    variance = float(np.mean(np.sum((draws - vector) ** 2, axis=1)))
    assert variance <= bound
    # every draw takes values norm · level / s
    norm = np.linalg.norm(vector)
    np.testing.assert_allclose(np.round(draws * levels / norm), draws * levels / norm, atol=1e-9)


def test_biased_rounding_fails_the_same_check(vector):
    levels = 2
    bound = min(D / levels**2, np.sqrt(D) / levels) * float(vector @ vector)
    norm = np.linalg.norm(vector)
    floor = norm * np.sign(vector) * np.floor(np.abs(vector) / norm * levels) / levels
    assert float(np.sum((floor - vector) ** 2)) > 3 * bound / N


def test_terngrad_is_unbiased_for_the_clipped_gradient():
    v = np.random.default_rng(9).standard_normal(D)
    v[3] = 25.0  # an outlier far beyond 2.5 sigma
    c = TernGrad()
    clipped = c.clip_gradient(v)
    sigma = np.std(v)
    assert clipped[3] == pytest.approx(2.5 * sigma) and np.count_nonzero(clipped != v) >= 1
    scale = np.abs(clipped).max()
    variance = float(np.sum(np.abs(clipped) * (scale - np.abs(clipped))))  # Σ |g|(s − |g|)
    draws = _draws(c, v)
    assert set(np.unique(np.round(draws / scale, 12))) <= {-1.0, 0.0, 1.0}
    mean = draws.mean(axis=0)
    assert float(np.sum((mean - clipped) ** 2)) <= 3 * variance / N
    # ... and biased with respect to the raw gradient
    assert float(np.sum((mean - v) ** 2)) > 3 * variance / N


def test_terngrad_without_clipping_is_unbiased_for_the_raw_gradient():
    v = np.random.default_rng(10).standard_normal(D)
    c = TernGrad(clip=None)
    np.testing.assert_array_equal(c.clip_gradient(v), v)
    scale = np.abs(v).max()
    variance = float(np.sum(np.abs(v) * (scale - np.abs(v))))
    assert float(np.sum((_draws(c, v).mean(axis=0) - v) ** 2)) <= 3 * variance / N


def test_scaled_randomk_is_unbiased(vector):
    ratio = 0.25
    k = count_for_ratio(ratio, D)
    variance = (D / k - 1) * float(vector @ vector)  # E‖C(v) − v‖² for scaled random-k
    mean = _draws(RandomK(ratio), vector).mean(axis=0)
    assert float(np.sum((mean - vector) ** 2)) <= 3 * variance / N
    # unscaled random-k is biased: its mean is (k/d)·v
    plain = _draws(RandomK(ratio, scaled=False), vector).mean(axis=0)
    assert float(np.sum((plain - vector) ** 2)) > 3 * variance / N
    np.testing.assert_allclose(plain, k / D * vector, atol=4 * np.sqrt(variance / N))
