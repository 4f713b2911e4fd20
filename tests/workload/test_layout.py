"""Rank layout and placement: TP inside a node first, then PP, then DP."""

import pytest

from netsim.exceptions import ScenarioError
from netsim.workload import Layout, make_layout

HOSTS = [f"h{i}" for i in range(16)]


def test_default_order_fills_nodes_with_tensor_parallel_groups():
    layout = make_layout(HOSTS, None, 2, 4)
    assert layout.dp == 2
    assert [layout.hosts[r] for r in layout.tp_group(0, 0)] == ["h0", "h1", "h2", "h3"]
    assert [layout.hosts[r] for r in layout.tp_group(0, 1)] == ["h4", "h5", "h6", "h7"]
    assert layout.dp_group(1, 2) == [6, 14]
    for rank in range(layout.world):
        assert layout.rank(*layout.coords(rank)) == rank


def test_other_orders_and_explicit_placement():
    layout = make_layout(HOSTS, None, 2, 4, order=("dp", "tp", "pp"))
    assert layout.rank(1, 0, 0) == 1 and layout.rank(0, 0, 1) == 2 and layout.rank(0, 1, 0) == 8
    placed = make_layout(HOSTS, 2, 1, 2, placement=[3, 2, 1, 0])
    assert placed.hosts == ("h3", "h2", "h1", "h0")


def test_expert_groups_split_the_data_parallel_axis():
    layout = Layout(dp=4, pp=1, tp=2, ep=2, hosts=tuple(HOSTS[:8]))
    assert layout.ep_group(1, 0, 1) == [layout.rank(2, 0, 1), layout.rank(3, 0, 1)]
    assert layout.expert_dp_group(1, 0, 0) == [layout.rank(1, 0, 0), layout.rank(3, 0, 0)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((HOSTS, None, 3, 2), "parallel.dp: 16 hosts are not a multiple of pp × tp = 3 × 2"),
        ((HOSTS, 4, 2, 4), "32 ranks need more hosts than the topology's 16"),
        ((HOSTS, 6, 1, 1, 4), "parallel.ep = 4 must divide parallel.dp = 6"),
        ((HOSTS, 2, 1, 1, 1, ("tp", "pp")), "parallel.order"),
    ],
)
def test_errors_name_the_field(args, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        make_layout(*args)


@pytest.mark.parametrize(
    ("placement", "message"),
    [([0, 1, 2], "expected 4 host indices"), ([0, 1, 2, 16], "out of range"), ([0, 1, 1, 2], "distinct")],
)
def test_placement_errors(placement, message):
    with pytest.raises(ScenarioError, match=f"parallel.placement: .*{message}"):
        make_layout(HOSTS, 4, 1, 1, placement=placement)
