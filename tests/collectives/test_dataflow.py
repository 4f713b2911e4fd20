"""The dataflow engine gives bit-identical results to the reference generators.

Every case runs twice, once with ``use_engine("generators")`` (the reference SPMD
generators) and once with ``use_engine("callbacks")`` (the callback state machines), and
compares *everything* observable, exactly: each rank's finish time and result (arrays
bit for bit, dtype included) in the order the ranks resumed, every flow the network
saw (start, end, source, destination, bytes, links, in start order), every rate
change, the per-link byte, busy-time and flow counters, and the communicator's bytes
and messages per rank. Cases cover uncontended stars, contended trees, rings,
dumbbells and ECMP fat trees, ranks sharing a host, ranks entering at different times
(messages that arrive before their receiver), repeated calls, odd and tiny vectors.
"""

import doctest
from pathlib import Path

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import netsim.collectives.engine as engine_module
from netsim.collectives import Communicator, get_algorithm
from netsim.collectives.engine import get_engine, prefers_dataflow, set_engine, use_engine
from netsim.network import make_network
from netsim.network.recorder import FlowRecorder
from netsim.runner import simulate
from netsim.topology import Router, dumbbell, fat_tree, ring, star, tree
from netsim.transport import make_transport

B = "10Gbps"
L = "2us"


def topology(kind: str, p: int):
    if kind == "star":
        return star(p, B, L)
    if kind == "tree":  # 4:1 oversubscribed uplinks: contention
        return tree(max(p, 2), B, L, fanout=2, hosts_per_leaf=2, oversubscription=4)
    if kind == "ring":  # multi-hop routes share links
        return ring(max(p, 3), B, L)
    if kind == "dumbbell":  # one shared bottleneck
        return dumbbell(max(p // 2, 1), max(p - p // 2, 1), B, L, bottleneck_bandwidth="2Gbps")
    if kind == "fat_tree":
        return fat_tree(max(p, 2), B, L, k=4)
    raise ValueError(kind)


def vectors(p, length, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(length).astype(dtype) for _ in range(p)]


def run(
    name,
    graph,
    p,
    data=None,
    nbytes=None,
    *,
    starts=None,
    calls=1,
    gap=0.0,
    hosts=None,
    model="flow",
    routing="shortest",
    transport=None,
    **options,
):
    """Run ``calls`` collectives per rank; everything observable, for exact comparison."""
    env = simpy.Environment()
    network = make_network(model, env, graph, Router(graph, mode=routing, seed=3), transport=transport)
    recorder = network.recorder = FlowRecorder()
    hosts = hosts or list(graph.graph["hosts"])[:p]
    comm = Communicator(env, network, hosts)
    names = name.split("+")  # e.g. "ring_allreduce+double_binary_tree": alternate per call
    log = []

    def rank_process(rank):
        if starts is not None:
            yield env.timeout(starts[rank])
        for call in range(calls):
            vector = None if data is None or data[rank] is None else data[rank] * (call + 1)
            algorithm = get_algorithm(names[call % len(names)])
            group, local = comm, rank
            if call % 2 and p > 2:  # every other call on the subgroup of the ranks of the same parity
                group = comm.subgroup([r for r in range(p) if r % 2 == rank % 2])
                local = group.ranks.index(rank)
            kwargs = options if algorithm.options else {}
            out = yield from algorithm.run(group, local, vector, nbytes, **kwargs)
            log.append((rank, call, env.now, out))
            if gap:
                yield env.timeout(gap * (1 + rank % 3))

    for rank in range(p):
        env.process(rank_process(rank))
    env.run()
    return {
        "log": log,
        "now": env.now,
        "flows": recorder.flows,
        "changes": recorder._changes,
        "link_bytes": network.link_bytes().tolist(),
        "link_busy": network.link_busy_time().tolist(),
        "link_flows": network.link_flows().tolist(),
        "bytes_sent": list(comm.bytes_sent),
        "messages": list(comm.messages),
        "pending": comm.pending_messages(),
    }


def assert_identical(reference, dataflow):
    assert len(reference["log"]) == len(dataflow["log"])
    for (r1, c1, t1, out1), (r2, c2, t2, out2) in zip(reference["log"], dataflow["log"], strict=True):
        assert (r1, c1, t1) == (r2, c2, t2)
        if out1 is None:
            assert out2 is None
        else:
            assert out2.dtype == out1.dtype and out2.shape == out1.shape
            assert out1.tobytes() == out2.tobytes()
    for key in ("now", "flows", "changes", "link_bytes", "link_busy", "link_flows", "bytes_sent", "messages", "pending"):
        assert reference[key] == dataflow[key], key


def compare(name, graph, p, data=None, nbytes=None, **kwargs):
    with use_engine("generators"):
        reference = run(name, graph, p, data, nbytes, **kwargs)
    with use_engine("callbacks"):
        dataflow = run(name, graph, p, data, nbytes, **kwargs)
    assert_identical(reference, dataflow)
    assert len(reference["log"]) == p * kwargs.get("calls", 1)
    assert reference["flows"] or not sum(reference["bytes_sent"])  # the comparison saw the network
    return reference


ALGORITHMS = [
    ("ring_allreduce", {}),
    ("double_binary_tree", {}),
    ("double_binary_tree", {"chunks": 1}),
    ("double_binary_tree", {"chunks": 3}),
    ("hierarchical", {"group_size": 2}),
]
IDS = ["ring", "dbt", "dbt-c1", "dbt-c3", "hierarchical"]


# ------------------------------------------------------------------- engine selection
def test_doctests():
    assert doctest.testmod(engine_module).failed == 0


def test_engine_selection_and_errors():
    assert get_engine() == "auto"
    assert prefers_dataflow(None) and not prefers_dataflow(np.ones(3))
    with use_engine("callbacks"):
        assert prefers_dataflow(np.ones(3))
        with use_engine("generators"):
            assert not prefers_dataflow(None)
        assert get_engine() == "callbacks"
    assert get_engine() == "auto"
    with pytest.raises(ValueError, match="collective engine 'fast' is not accepted; accepted: auto, callbacks, generators"):
        set_engine("fast")
    assert get_engine() == "auto"


@pytest.mark.parametrize("name", ["ring_allreduce", "double_binary_tree"])
def test_auto_engine_uses_dataflow_for_size_only_and_generators_for_arrays(name):
    graph = star(4, B, L)
    for data, reference in ((None, False), (np.ones(8), True)):
        env = simpy.Environment()
        comm = Communicator(env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"])
        rank0 = get_algorithm(name).run(comm, 0, data, 64.0)
        next(rank0)  # rank 0 enters and waits
        assert bool(comm._mailbox) is reference  # only the reference uses mailbox messages
        rank0.close()


def test_shared_state_is_made_by_the_first_rank_and_dropped_after_the_last():
    env = simpy.Environment()
    comm = Communicator(env, None, ["a", "b", "c"])
    made = []
    first = comm.shared(("x", 0), lambda: made.append(1) or object())
    assert comm.shared(("x", 0), object) is first and made == [1]
    assert comm.shared(("x", 1), object) is not first  # another call
    assert comm.shared(("x", 0), object) is first
    assert ("x", 0) not in comm._shared and ("x", 1) in comm._shared


@pytest.mark.parametrize("name", ["ring_allreduce", "double_binary_tree"])
def test_the_first_rank_decides_so_ranks_never_split_between_engines(name):
    # the engine changes while the ranks enter: all follow rank 0's engine
    graph = topology("tree", 5)
    data = vectors(5, 11, 7)

    def switching(names):
        env = simpy.Environment()
        network = make_network("flow", env, graph, Router(graph))
        network.recorder = FlowRecorder()
        comm = Communicator(env, network, graph.graph["hosts"])
        outs = []

        def rank_process(rank):
            with use_engine(names[rank]):
                gen = get_algorithm(name).run(comm, rank, data[rank])
                event = next(gen)
            try:
                while True:
                    event = gen.send((yield event))
            except StopIteration as stop:
                outs.append((rank, env.now, stop.value.tobytes()))

        for rank in range(5):
            env.process(rank_process(rank))
        env.run()
        return outs, network.recorder.flows, comm.pending_messages()

    reference = switching(["generators"] + ["callbacks"] * 4)
    dataflow = switching(["callbacks"] + ["generators"] * 4)
    assert reference[0] == switching(["generators"] * 5)[0]
    assert reference[:2] == dataflow[:2]
    assert reference[2] == dataflow[2] == 0


@pytest.mark.parametrize("name", ["generators", "callbacks", "auto"])
def test_mixing_size_only_and_arrays_is_an_error_on_both_engines(name):
    graph = star(3, B, L)
    with use_engine(name), pytest.raises(TypeError):
        run("ring_allreduce", graph, 3, [None, np.ones(6), np.ones(6)], 48.0)


# ----------------------------------------------------------------------- size-only
@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("p", [1, 2, 3, 4, 5, 7, 8, 13, 16])
@pytest.mark.parametrize("kind", ["star", "tree"])
def test_size_only_is_identical(name, options, p, kind):
    compare(name, topology(kind, p), p, None, 3e6 + 7, **options)


@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("kind", ["ring", "dumbbell", "fat_tree"])
@pytest.mark.parametrize("p", [5, 8])
def test_size_only_is_identical_on_contended_topologies(name, options, kind, p):
    routing = "ecmp" if kind == "fat_tree" else "shortest"
    compare(name, topology(kind, p), p, None, 1e6, routing=routing, **options)


@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
def test_zero_bytes_and_the_analytic_model(name, options):
    compare(name, topology("star", 6), 6, None, 0.0, **options)
    compare(name, topology("tree", 6), 6, None, 2e5, model="analytic", **options)


@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
@pytest.mark.parametrize(("model", "transport"), [("flow", "tcp"), ("flow", "rocev2"), ("packet", "ideal"), ("packet", "tcp")])
def test_other_network_models_and_transports(name, options, model, transport):
    # handshakes, per-message software latency, slow start and packet queues change every
    # time, but the two engines still make the same transfers in the same order
    p = 5
    profile = make_transport(transport)
    compare(name, topology("tree", p), p, None, 2e5, model=model, transport=profile, **options)
    compare(name, topology("star", p), p, vectors(p, 9, 5), model=model, transport=profile, calls=2, **options)


# ---------------------------------------------------------------------- real arrays
@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("p", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("length", [0, 1, 3, 17, 1001])
def test_arrays_are_identical(name, options, p, length):
    data = vectors(p, length, seed=p * 100 + length)
    reference = compare(name, topology("tree", p), p, data, **options)
    expected = np.sum(data, axis=0)
    for _, _, _, out in reference["log"]:
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
def test_arrays_with_wire_bytes_and_float32(name, options):
    p = 7
    data = vectors(p, 40, seed=1, dtype=np.float32)
    compare(name, topology("star", p), p, data, **options)  # nbytes from the arrays
    compare(name, topology("tree", p), p, data, 40 * 2.0, **options)  # fp16 on the wire


# --------------------------------------------------------------- timing and placement
@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranks_entering_at_different_times(name, options, seed):
    p = 8
    rng = np.random.default_rng(seed)
    # up to ~10 message times apart: many messages arrive before their receiver enters
    starts = (rng.random(p) * 2e-3).tolist()
    starts[int(rng.integers(p))] = 5e-3  # one straggler joins after its peers are stuck on it
    compare(name, topology("tree", p), p, None, 1e6, starts=starts, **options)
    compare(name, topology("star", p), p, vectors(p, 33, seed), starts=starts, **options)


@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
def test_repeated_calls_and_gaps(name, options):
    p = 6
    compare(name, topology("tree", p), p, None, 5e5, calls=3, gap=1e-4, **options)
    compare(name, topology("star", p), p, vectors(p, 12, 4), calls=3, **options)


@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
def test_ranks_sharing_hosts(name, options):
    graph = topology("star", 4)
    hosts = list(graph.graph["hosts"])
    shared = [hosts[0], hosts[0], hosts[1], hosts[2], hosts[2], hosts[3]]  # local copies too
    compare(name, graph, 6, None, 1e6, hosts=shared, **options)
    compare(name, graph, 6, vectors(6, 9, 2), hosts=shared, **options)


def dyadic(kind, p):
    """A star or a 4:1 oversubscribed tree of 2^30 bytes/s and 2^-20 s links (exact times)."""
    if kind == "star":
        return star(p, 2.0**30, 2.0**-20)
    return tree(p, 2.0**30, 2.0**-20, fanout=2, hosts_per_leaf=2, oversubscription=4)


@pytest.mark.parametrize(("name", "options"), ALGORITHMS, ids=IDS)
@pytest.mark.parametrize("kind", ["star", "tree"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_coinciding_events(name, options, kind, seed):
    # Powers of two everywhere: every time is exact in binary and ranks enter at multiples
    # of a route's latency, so deliveries, flow ends, entries and timeouts fall on the same
    # instants and only the order of events at an instant (urgent starts, zero-delay
    # terminations, resumptions) could tell the engines apart.
    p = 8
    starts = (np.random.default_rng(seed).integers(0, 8, p) * 2.0**-19).tolist()
    compare(name, dyadic(kind, p), p, None, 2.0**20, starts=starts, calls=3, **options)
    compare(name, dyadic(kind, p), p, None, 3 * 2.0**20, starts=starts, calls=2, gap=2.0**-13, **options)
    compare(name, dyadic(kind, p), p, vectors(p, 24, seed), 2.0**20, starts=starts, calls=2, **options)


@pytest.mark.parametrize("names", ["ring_allreduce+double_binary_tree", "double_binary_tree+ring_allreduce"])
@pytest.mark.parametrize("kind", ["star", "tree"])
@pytest.mark.parametrize("seed", [0, 1])
def test_one_collective_after_another(names, kind, seed):
    # A rank resumes after a collective and starts the next one (on a subgroup every
    # other call) in the same place of the event order with both engines.
    p = 8
    starts = (np.random.default_rng(seed).integers(0, 8, p) * 2.0**-19).tolist()
    compare(names, dyadic(kind, p), p, None, 2.0**20, starts=starts, calls=4, chunks=2)
    compare(names, dyadic(kind, p), p, vectors(p, 16, seed), 2.0**20, starts=starts, calls=4, chunks=2)


# -------------------------------------------------------------------- training runs
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize(
    ("stem", "algorithm"),
    [
        ("quickstart", None),
        ("ring_allreduce_ring", None),
        ("tree_oversubscribed", None),
        ("two_racks_file", None),
        ("noniid_sharding", None),
        ("compare_allreduce", None),
        ("compare_allreduce", "double_binary_tree"),
        ("compare_allreduce", "hierarchical"),
    ],
)
def test_training_runs_are_identical(stem, algorithm):
    # real gradients through BSP training: every step's times, losses and bytes agree
    overrides = [] if algorithm is None else [f"communication.algorithm={algorithm}"]
    results = {}
    for name in ("generators", "callbacks"):
        with use_engine(name):
            results[name] = simulate(SCENARIOS / f"{stem}.toml", overrides=overrides)
    reference, dataflow = results["generators"], results["callbacks"]
    assert reference.deterministic_summary() == dataflow.deterministic_summary()
    assert reference.steps.equals(dataflow.steps)
    assert reference.links.equals(dataflow.links)


# ------------------------------------------------------------------------ property
@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["ring_allreduce", "double_binary_tree", "hierarchical"]),
    p=st.integers(1, 12),
    length=st.one_of(st.none(), st.integers(0, 40)),
    kind=st.sampled_from(["star", "tree", "ring", "dumbbell"]),
    chunks=st.integers(1, 5),
    staggered=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_identical_for_any_case(name, p, length, kind, chunks, staggered, seed):
    options = {"chunks": chunks} if name == "double_binary_tree" else {}
    if name == "hierarchical":
        options = {"group_size": 1 + seed % 3}
    data = None if length is None else vectors(p, length, seed)
    nbytes = 1e5 + seed if length is None else None
    starts = (np.random.default_rng(seed).random(p) * 1e-4).tolist() if staggered else None
    compare(name, topology(kind, p), p, data, nbytes, starts=starts, **options)
