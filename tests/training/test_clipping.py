"""Tests of netsim.training.clipping (torch.nn.utils.clip_grad_norm_ semantics)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from netsim.exceptions import ScenarioError
from netsim.training.clipping import CLIP_EPSILON, clip_grad_norm, clip_weights


def test_large_gradient_is_rescaled_to_max_norm():
    grad = np.array([3.0, 4.0])
    clipped, norm = clip_grad_norm(grad, 1.0)
    assert norm == 5.0
    coef = 1.0 / (5.0 + CLIP_EPSILON)
    np.testing.assert_array_equal(clipped, grad * coef)
    assert np.linalg.norm(clipped) == pytest.approx(5.0 / (5.0 + 1e-6), rel=1e-15)
    np.testing.assert_array_equal(grad, [3.0, 4.0])  # input untouched
    assert clipped is not grad


def test_small_gradient_is_unchanged():
    grad = np.array([0.3, -0.4])
    clipped, norm = clip_grad_norm(grad, 1.0)
    assert norm == pytest.approx(0.5)
    np.testing.assert_array_equal(clipped, grad)
    # at exactly max_norm the 1e-6 keeps the coefficient just below 1, as in PyTorch
    at_limit, _ = clip_grad_norm(np.array([3.0, 4.0]), 5.0)
    np.testing.assert_allclose(at_limit, [3.0, 4.0], rtol=1e-6)
    assert np.linalg.norm(at_limit) < 5.0


def test_norm_types():
    grad = np.array([1.0, -2.0, 2.0])
    clipped, norm = clip_grad_norm(grad, 1.0, norm_type=math.inf)
    assert norm == 2.0
    np.testing.assert_allclose(clipped, grad / (2.0 + 1e-6))
    _, l1 = clip_grad_norm(grad, 10.0, norm_type=1.0)
    assert l1 == 5.0
    _, l2 = clip_grad_norm(grad, 10.0)
    assert l2 == 3.0
    _, l3 = clip_grad_norm(grad, 10.0, norm_type=3.0)
    assert l3 == pytest.approx(17.0 ** (1 / 3))


def test_no_clipping_with_infinite_max_norm_and_empty_and_nan():
    grad = np.array([1e150, -1e150])
    clipped, norm = clip_grad_norm(grad, math.inf)
    np.testing.assert_array_equal(clipped, grad)
    assert norm == pytest.approx(math.sqrt(2) * 1e150)
    assert clip_grad_norm(np.array([]), 1.0)[1] == 0.0
    clipped, norm = clip_grad_norm(np.array([np.nan, 1.0]), 1.0)
    assert math.isnan(norm) and np.all(np.isnan(clipped))


@settings(max_examples=60, deadline=None)
@given(
    grad=arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e3, 1e3)),
    max_norm=st.floats(1e-3, 1e3),
)
def test_clipped_norm_never_exceeds_max_norm_and_direction_is_kept(grad, max_norm):
    clipped, norm = clip_grad_norm(grad, max_norm)
    assert norm == pytest.approx(np.linalg.norm(grad), rel=1e-12, abs=1e-300)
    assert np.linalg.norm(clipped) <= max_norm * (1 + 1e-12) or np.array_equal(clipped, grad)
    coef = min(max_norm / (norm + CLIP_EPSILON), 1.0)
    np.testing.assert_allclose(clipped, grad * coef, rtol=1e-15, atol=0)


def test_clip_is_global_not_per_slice():
    grad = np.array([3.0, 4.0, 0.0, 0.1])
    whole, _ = clip_grad_norm(grad, 1.0)
    per_slice = np.concatenate([clip_grad_norm(grad[:2], 1.0)[0], clip_grad_norm(grad[2:], 1.0)[0]])
    assert not np.allclose(whole, per_slice)  # hence: clip the full gradient before slicing


def test_clip_weights():
    params = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    out = clip_weights(params, 1.0)
    np.testing.assert_array_equal(out, [-1.0, -0.5, 0.0, 0.5, 1.0])
    assert params[0] == -3.0 and out is not params
    np.testing.assert_array_equal(clip_weights(params, 10.0), params)
    # element-wise: commutes with slicing
    np.testing.assert_array_equal(np.concatenate([clip_weights(params[:2], 1.0), clip_weights(params[2:], 1.0)]), out)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: clip_grad_norm(np.ones(2), 0.0), "training.clip_grad_norm"),
        (lambda: clip_grad_norm(np.ones(2), -1.0), "training.clip_grad_norm"),
        (lambda: clip_grad_norm(np.ones(2), float("nan")), "training.clip_grad_norm"),
        (lambda: clip_grad_norm(np.ones(2), "1"), "training.clip_grad_norm"),
        (lambda: clip_grad_norm(np.ones(2), True), "training.clip_grad_norm"),
        (lambda: clip_grad_norm(np.ones(2), 1.0, norm_type=0.0), "training.clip_norm_type"),
        (lambda: clip_weights(np.ones(2), 0.0), "training.clip_weights"),
        (lambda: clip_weights(np.ones(2), None), "training.clip_weights"),
    ],
)
def test_errors_name_the_field(call, field):
    with pytest.raises(ScenarioError, match=f"^{field}: must be a positive number"):
        call()
