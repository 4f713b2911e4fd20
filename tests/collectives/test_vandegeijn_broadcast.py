"""Scatter + ring all-gather broadcast (van de Geijn): the root's array everywhere, formula times."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.collectives.scatter_allgather_broadcast as module
from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.scatter_allgather_broadcast import predict_time
from netsim.topology import ring, star, tree

B = 1.25e9  # 10 Gbps in bytes/s
L = 3e-6  # seconds per hop
ALPHA, BETA = 2 * L, 1 / B  # a star message crosses two links
SIZES = [1e3, 1e4, 1e6, 1e8, 1e9]


def rooted(p, length, root, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(length) if r == root else None for r in range(p)]


def lg_ceil(p):
    return (p - 1).bit_length()


def vdg_time(p, n):
    return (lg_ceil(p) + p - 1) * ALPHA + 2 * (p - 1) / p * n * BETA


def check(run, data, root):
    for out in run.outputs:
        assert out.shape == data[root].shape
        np.testing.assert_allclose(out, data[root], rtol=1e-12, atol=0)


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("length", [0, 1, 3, 6, 15, 17, 1001])
def test_every_rank_gets_the_roots_array(p, length):
    for root in sorted({0, p - 1, p // 2}):
        data = rooted(p, length, root, seed=p * 1000 + length)
        run = simulate_collective(star(p, B, L), "scatter_allgather", data, root=root)
        check(run, data, root)
        assert run.comm.pending_messages() == 0


@settings(max_examples=40, deadline=None)
@given(
    p=st.integers(1, 12),
    length=st.integers(0, 40),
    root=st.integers(0, 11),
    seed=st.integers(0, 2**32 - 1),
)
def test_broadcast_property(p, length, root, seed):
    root %= p
    data = rooted(p, length, root, seed)
    check(simulate_collective(ring(p, B, L), "van_de_geijn", data, root=root), data, root)


def test_non_roots_ignore_their_data_and_nothing_is_shared():
    p, root = 5, 2
    data = [np.full(9, float(r)) for r in range(p)]
    copies = [d.copy() for d in data]
    run = simulate_collective(star(p, B, L), "scatter_allgather", data, root=root)
    for out in run.outputs:
        np.testing.assert_array_equal(out, copies[root])
    for before, after in zip(copies, data, strict=True):
        np.testing.assert_array_equal(before, after)
    for i, out in enumerate(run.outputs):
        assert not any(np.shares_memory(out, d) for d in data)
        assert not any(np.shares_memory(out, o) for j, o in enumerate(run.outputs) if j != i)


def test_size_only_returns_none():
    run = simulate_collective(star(6, B, L), "scatter_allgather", nbytes=1e6, root=3)
    assert run.outputs == [None] * 6
    assert run.comm.pending_messages() == 0


def test_bad_root_is_rejected():
    with pytest.raises(ValueError, match="root"):
        simulate_collective(star(4, B, L), "scatter_allgather", nbytes=1e6, root=4)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("n", SIZES)
def test_time_on_a_star_power_of_two(p, n):
    run = simulate_collective(star(p, B, L), "scatter_allgather", nbytes=n)
    expected = (p.bit_length() - 1 + p - 1) * ALPHA + 2 * (p - 1) / p * n * BETA  # REFERENCES §2
    assert run.time == pytest.approx(expected, rel=1e-9)
    assert predict_time(p, n, ALPHA, BETA) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("p", [3, 5, 6, 7, 9, 12, 13])
@pytest.mark.parametrize("n", [1e3, 1e6, 1e9])
@pytest.mark.parametrize("root", [0, 2])
def test_time_on_a_star_other_p(p, n, root):
    # Documented: ⌈lg p⌉ scatter levels; the root's sends end last and the send-receive
    # ring absorbs the ranks that finish their scatter early.
    run = simulate_collective(star(p, B, L), "scatter_allgather", nbytes=n, root=root)
    assert run.time == pytest.approx(vdg_time(p, n), rel=1e-9)


@pytest.mark.parametrize("n", [1e3, 1e6])
def test_three_ranks_by_hand(n):
    # Scatter (blocking sends): root -> 2 (n/3) in by α + nβ/3, root -> 1 (n/3) by
    # 2α + 2nβ/3. Rank 2 starts its ring early (its block reaches the root by
    # 2α + 2nβ/3); the root and rank 1 start at 2α + 2nβ/3 and their first sends are in
    # by 3α + nβ. Step 2 (send-receive: everyone's first send delivered) starts at
    # 3α + nβ on all ranks: 4α + (4/3)nβ = (⌈lg 3⌉ + 3 − 1)α + 2(2/3)nβ.
    run = simulate_collective(star(3, B, L), "scatter_allgather", nbytes=n)
    assert run.time == pytest.approx(4 * ALPHA + 4 / 3 * n * BETA, rel=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
def test_real_arrays_take_the_closed_form_time(p):
    length = 4096
    root = p - 1
    run = simulate_collective(
        star(p, B, L), "scatter_allgather", rooted(p, length, root), root=root
    )
    assert run.time == pytest.approx(vdg_time(p, 8 * length), rel=1e-9)


def test_bytes_sent():
    p, n = 8, 8e6
    run = simulate_collective(star(p, B, L), "scatter_allgather", nbytes=n)
    block = n / p
    # Scatter: the root sends 4 + 2 + 1 blocks, rank 4 sends 2 + 1, ranks 2 and 6 one each
    # (every block travels lg p - (levels above it) times: (p/2)·lg p = 12 in all);
    # ring: p - 1 blocks per rank.
    assert sum(run.comm.bytes_sent) == pytest.approx((12 + p * (p - 1)) * block)
    expected = {0: 7 + 7, 4: 3 + 7, 2: 1 + 7, 6: 1 + 7}
    for rank, sent in enumerate(run.comm.bytes_sent):
        assert sent == pytest.approx(expected.get(rank, 7) * block)


def test_contended_tree_is_never_faster_than_the_formula():
    graph = tree(16, B, L, fanout=4, oversubscription=8)
    n = 1e8
    run = simulate_collective(graph, "scatter_allgather", nbytes=n)
    assert run.time >= predict_time(16, n, 2 * L, 1 / B)


def test_registry_entry():
    algorithm = get_algorithm("van_de_geijn", operation="broadcast")
    assert algorithm.name == "scatter_allgather"
    assert algorithm.options == ("root",)
    assert algorithm.predict(5, 1e6, ALPHA, BETA) == pytest.approx(vdg_time(5, 1e6))


def test_doctests():
    assert doctest.testmod(module).failed == 0
