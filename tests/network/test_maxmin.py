"""The pure max-min (progressive filling) solver, without SimPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.network.maxmin import max_min_rates, max_min_rates_coo, max_min_rates_small

INF = math.inf


def test_classic_three_flows_two_links():
    # Flow 0 crosses A and B, flow 1 only A, flow 2 only B: everyone gets half.
    rates = max_min_rates([(0, 1), (0,), (1,)], [1.0, 1.0])
    np.testing.assert_allclose(rates, [0.5, 0.5, 0.5], rtol=1e-15)


def test_unequal_capacities_give_two_levels():
    # Link A (cap 1) saturates first at 0.5; flow 2 then takes 3 - 0.5 on link B.
    rates = max_min_rates([(0, 1), (0,), (1,)], [1.0, 3.0])
    np.testing.assert_allclose(rates, [0.5, 0.5, 2.5], rtol=1e-15)


def test_three_levels_hand_solved():
    # A=1: f0, f1 -> 0.5.  B=2: f1, f2, f3 -> (2 - 0.5) / 2 = 0.75.  C=10: f3, f4 -> 10 - 0.75.
    flows = [(0,), (0, 1), (1,), (1, 2), (2,)]
    rates = max_min_rates(flows, [1.0, 2.0, 10.0])
    np.testing.assert_allclose(rates, [0.5, 0.5, 0.75, 0.75, 9.25], rtol=1e-15)


def test_flow_cap_frees_bandwidth():
    np.testing.assert_allclose(max_min_rates([(0,), (0,)], [1.0], [0.25, INF]), [0.25, 0.75])
    # A cap above the fair share changes nothing.
    np.testing.assert_allclose(max_min_rates([(0,), (0,)], [1.0], [0.9, INF]), [0.5, 0.5])
    # Caps propagate: f0 capped at 0.1 on A leaves f1 0.9 on A, then f2 gets B - 0.9.
    np.testing.assert_allclose(
        max_min_rates([(0,), (0, 1), (1,)], [1.0, 2.0], [0.1, INF, INF]), [0.1, 0.9, 1.1]
    )


def test_flow_without_links_gets_its_cap_or_inf():
    rates = max_min_rates([(), (), (0,)], [2.0], [3.0, INF, INF])
    assert rates.tolist() == [3.0, INF, 2.0]


def test_infinite_capacity_links_do_not_constrain():
    rates = max_min_rates([(0, 1), (1,)], [INF, 4.0])
    np.testing.assert_allclose(rates, [2.0, 2.0])
    assert max_min_rates([(0,)], [INF]).tolist() == [INF]


def test_zero_capacity_link_gives_zero_rate():
    assert max_min_rates([(0,), (0, 1), (1,)], [0.0, 1.0]).tolist() == [0.0, 0.0, 1.0]


def test_empty_inputs():
    assert max_min_rates([], [1.0]).shape == (0,)
    assert max_min_rates([], []).shape == (0,)


def test_coo_form_matches():
    flows = [(0, 1), (0,), (1,)]
    flow_of = np.array([0, 0, 1, 2])
    link_of = np.array([0, 1, 0, 1])
    np.testing.assert_array_equal(
        max_min_rates_coo(flow_of, link_of, 3, [1.0, 3.0]), max_min_rates(flows, [1.0, 3.0])
    )


@pytest.mark.parametrize(
    ("flows", "capacities", "caps", "message"),
    [
        ([(2,)], [1.0, 1.0], None, "out of range"),
        ([(-1,)], [1.0], None, "out of range"),
        ([(0,)], [-1.0], None, "capacities"),
        ([(0,)], [math.nan], None, "capacities"),
        ([(0,)], [1.0], [1.0, 2.0], "one entry per flow"),
        ([(0,)], [1.0], [-1.0], "caps"),
        ([(0,)], [[1.0]], None, "1-D"),
    ],
)
def test_invalid_inputs(flows, capacities, caps, message):
    with pytest.raises(ValueError, match=message):
        max_min_rates(flows, capacities, caps)


# ----------------------------------------------------------------------------- properties
@st.composite
def problems(draw):
    n_links = draw(st.integers(1, 6))
    capacities = draw(
        st.lists(st.floats(0.1, 100.0, allow_nan=False), min_size=n_links, max_size=n_links)
    )
    n_flows = draw(st.integers(0, 12))
    flows = [
        tuple(
            draw(st.lists(st.integers(0, n_links - 1), min_size=1, max_size=n_links, unique=True))
        )
        for _ in range(n_flows)
    ]
    caps = draw(
        st.lists(
            st.one_of(st.just(INF), st.floats(0.01, 50.0, allow_nan=False)),
            min_size=n_flows,
            max_size=n_flows,
        )
    )
    return flows, np.array(capacities), caps


def _check_max_min(flows, capacities, caps, rates):
    rates = np.asarray(rates)
    assert rates.shape == (len(flows),)
    load = np.zeros(len(capacities))
    for links, rate in zip(flows, rates, strict=True):
        for link in links:
            load[link] += rate
    # Feasible: no link above capacity, no flow above its cap.
    assert np.all(load <= capacities * (1 + 1e-9))
    assert np.all(rates <= np.asarray(caps) * (1 + 1e-9))
    assert np.all(rates > 0)
    # Max-min: every flow is at its cap or has a bottleneck link, saturated and on
    # which no flow has a larger rate.
    for f, (links, rate) in enumerate(zip(flows, rates, strict=True)):
        if rate >= caps[f] * (1 - 1e-9):
            continue
        bottlenecks = [
            link
            for link in links
            if load[link] >= capacities[link] * (1 - 1e-9)
            and all(rates[g] <= rate * (1 + 1e-9) for g, other in enumerate(flows) if link in other)
        ]
        assert bottlenecks, f"flow {f} (rate {rate}) has no bottleneck link"


@settings(max_examples=300, deadline=None)
@given(problems())
def test_allocation_is_feasible_and_max_min_fair(problem):
    flows, capacities, caps = problem
    _check_max_min(flows, capacities, caps, max_min_rates(flows, capacities, caps))


class _FakeFlow:
    def __init__(self, links, cap):
        self.links = links
        self.cap = cap


@settings(max_examples=300, deadline=None)
@given(problems())
def test_pure_python_solver_matches_numpy(problem):
    # The flow model solves small components in pure Python: same allocation.
    flows, capacities, caps = problem
    fake = [_FakeFlow(links, cap) for links, cap in zip(flows, caps, strict=True)]
    small = max_min_rates_small(fake, capacities.tolist())
    np.testing.assert_allclose(small, max_min_rates(flows, capacities, caps), rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_allocation_does_not_depend_on_flow_order(problem, rng):
    flows, capacities, caps = problem
    order = list(range(len(flows)))
    rng.shuffle(order)
    rates = max_min_rates(flows, capacities, caps)
    shuffled = max_min_rates([flows[i] for i in order], capacities, [caps[i] for i in order])
    np.testing.assert_allclose(shuffled, rates[order], rtol=1e-12)
