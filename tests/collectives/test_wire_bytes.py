"""Explicit wire bytes with real arrays, and the all-gather of objects of given sizes.

A float64 vector sent with ``nbytes = 4·len`` must take exactly the time of a size-only
fp32 run of the same length (chunks sized by their element counts), still return the
exact sum, and put exactly half the bytes of the plain float64 run on the wire.
:func:`~netsim.collectives.object_all_gather.ring_all_gather_objects` returns every
rank's object in rank order in ``(p−1)(α + s_max·β)`` on a star.
"""

import doctest

import numpy as np
import pytest
import simpy

import netsim.collectives.object_all_gather as object_all_gather
from netsim.collectives import Communicator, algorithms, simulate_collective
from netsim.collectives.chunks import element_bytes, split, wire_nbytes
from netsim.collectives.object_all_gather import ring_all_gather_objects
from netsim.network import make_network
from netsim.topology import Router, star, tree

B = 1.25e9  # 10 Gbps
L = 2e-6
LENGTH = 1680  # divisible by 1..8 and by 16 (double binary tree: 2 halves x 8 chunks)
ALLREDUCE = sorted(algorithms("allreduce"))
REDUCE_SCATTER = sorted(algorithms("reduce_scatter"))


def integer_vectors(p, length, seed=0):
    """Integer-valued float64 vectors: every summation order gives the exact sum."""
    rng = np.random.default_rng(seed)
    return [rng.integers(-1000, 1000, length).astype(np.float64) for _ in range(p)]


def graph_for(name, p):
    servers = 2 if name == "sharded_ps" else 1
    hosts = p + servers if algorithms()[name].kind == "parameter_server" else p
    return star(hosts, B, L)


def options_for(name):
    return {"servers": 2} if name == "sharded_ps" else {}


def test_split_sizes_chunks_by_their_element_counts():
    data = np.arange(7.0)
    assert split(data, None, 3)[1] == [24.0, 16.0, 16.0]
    assert split(data, 28.0, 3)[1] == [12.0, 8.0, 8.0]
    assert split(data, float(data.nbytes), 3)[1] == [float(c.nbytes) for c in np.array_split(data, 3)]
    assert split(np.zeros(0), 0.0, 2)[1] == [0.0, 0.0]
    assert element_bytes(np.zeros(0), 10.0) == 0.0
    assert wire_nbytes(np.zeros(3, dtype=np.float16), None, None) == 6.0
    with pytest.raises(ValueError, match="size-only"):
        wire_nbytes(None, None, None)


@pytest.mark.parametrize("name", ALLREDUCE)
@pytest.mark.parametrize("p", [2, 3, 4, 5, 6, 7, 8])
def test_allreduce_with_fp32_wire_bytes_times_like_a_size_only_fp32_run(name, p):
    data = integer_vectors(p, LENGTH)
    nbytes = 4.0 * LENGTH
    graph = graph_for(name, p)
    real = simulate_collective(graph, name, data, nbytes, **options_for(name))
    size_only = simulate_collective(graph, name, nbytes=nbytes, ranks=p, **options_for(name))
    assert real.time == size_only.time
    assert sum(real.comm.bytes_sent) == sum(size_only.comm.bytes_sent)
    expected = np.sum(data, axis=0)
    for out in real.outputs[:p]:
        np.testing.assert_array_equal(out, expected)


# Without nbytes, hierarchical sizes its reduce-scatter by even blocks rather than by
# elements, so only lengths its blocks divide halve exactly.
HALVING_CASES = [
    (name, p, length)
    for name in ALLREDUCE
    for p, length in [(3, LENGTH), (5, 1001), (8, 37), (6, 4)]
    if name != "hierarchical" or length % p == 0
]


@pytest.mark.parametrize(("name", "p", "length"), HALVING_CASES)
def test_fp32_wire_bytes_halve_every_message(name, p, length):
    data = integer_vectors(p, length, seed=p)
    graph = graph_for(name, p)
    plain = simulate_collective(graph, name, data, **options_for(name))
    half = simulate_collective(graph, name, data, 4.0 * length, **options_for(name))
    assert sum(half.comm.bytes_sent) == sum(plain.comm.bytes_sent) / 2
    assert half.comm.messages == plain.comm.messages
    assert half.time < plain.time
    for out, ref in zip(half.outputs[:p], plain.outputs[:p], strict=True):
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("name", ALLREDUCE)
def test_nbytes_equal_to_the_arrays_changes_nothing(name):
    p = 5
    data = integer_vectors(p, 1003)
    graph = graph_for(name, p)
    plain = simulate_collective(graph, name, data, **options_for(name))
    explicit = simulate_collective(graph, name, data, 8.0 * 1003, **options_for(name))
    assert explicit.time == plain.time
    assert explicit.comm.bytes_sent == plain.comm.bytes_sent


@pytest.mark.parametrize("name", REDUCE_SCATTER)
@pytest.mark.parametrize("p", [2, 3, 4, 6, 8])
def test_reduce_scatter_with_fp32_wire_bytes(name, p):
    data = integer_vectors(p, LENGTH)
    nbytes = 4.0 * LENGTH
    graph = star(p, B, L)
    real = simulate_collective(graph, name, data, nbytes)
    size_only = simulate_collective(graph, name, nbytes=nbytes, ranks=p)
    assert real.time == size_only.time
    expected = np.array_split(np.sum(data, axis=0), p)
    for rank, out in enumerate(real.outputs):
        np.testing.assert_array_equal(out, expected[rank])


@pytest.mark.parametrize("p", [4, 6, 8])
def test_hierarchical_groups_on_a_tree_honour_nbytes(p):
    graph = tree(p, B, L, fanout=2)
    data = integer_vectors(p, LENGTH)
    real = simulate_collective(graph, "hierarchical", data, 2.0 * LENGTH)
    size_only = simulate_collective(graph, "hierarchical", nbytes=2.0 * LENGTH, ranks=p)
    assert real.time == size_only.time
    for out in real.outputs:
        np.testing.assert_array_equal(out, np.sum(data, axis=0))


# ------------------------------------------------------------------ object all-gather
def gather_objects(p, objects, sizes, latency=L, bandwidth=B):
    graph = star(p, bandwidth, latency)
    env = simpy.Environment()
    comm = Communicator(env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"])
    outputs, finish = [None] * p, [0.0] * p

    def rank_process(rank):
        outputs[rank] = yield from ring_all_gather_objects(comm, rank, objects[rank], sizes[rank])
        finish[rank] = env.now

    for rank in range(p):
        env.process(rank_process(rank))
    env.run()
    return outputs, max(finish), comm


def test_object_all_gather_doctest():
    result = doctest.testmod(object_all_gather)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("p", [1, 2, 3, 5, 8])
def test_object_all_gather_equal_blocks(p):
    objects = [{"rank": r, "payload": np.arange(r)} for r in range(p)]
    size = 5000.0
    outputs, time, comm = gather_objects(p, objects, [size] * p)
    for out in outputs:
        assert [o["rank"] for o in out] == list(range(p))
        assert all(a is b for a, b in zip(out, objects, strict=True))  # objects travel as they are
    assert time == pytest.approx((p - 1) * (2 * L + size / B), rel=1e-12)
    assert comm.bytes_sent == [(p - 1) * size] * p
    assert comm.pending_messages() == 0


@pytest.mark.parametrize("p", [2, 3, 4, 7])
def test_object_all_gather_unequal_blocks(p):
    rng = np.random.default_rng(p)
    sizes = [float(s) for s in rng.integers(0, 50_000, p)]
    objects = [f"payload of rank {r}" for r in range(p)]
    outputs, time, comm = gather_objects(p, objects, sizes)
    assert all(out == objects for out in outputs)
    # Each step lasts as long as its largest forwarded block: (p - 1)(alpha + s_max beta).
    assert time == pytest.approx((p - 1) * (2 * L + max(sizes) / B), rel=1e-12)
    # Rank r forwards every block but that of rank r + 1 (the last one it receives).
    for r in range(p):
        assert comm.bytes_sent[r] == pytest.approx(sum(sizes) - sizes[(r + 1) % p])


def test_object_all_gather_zero_bytes_costs_the_latency():
    outputs, time, _ = gather_objects(4, list("abcd"), [0, 0, 0, 0])
    assert outputs[2] == list("abcd")
    assert time == pytest.approx(3 * 2 * L)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_object_all_gather_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="nbytes"):
        gather_objects(2, ["a", "b"], [bad, 1.0])
    with pytest.raises(TypeError, match="nbytes"):
        gather_objects(2, ["a", "b"], ["10", 1.0])
