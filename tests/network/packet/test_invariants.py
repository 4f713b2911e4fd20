"""Invariants of every transport in the packet model, determinism, options, collectives."""

from collections import defaultdict

import numpy as np
import pytest
import simpy

from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.comm import Communicator
from netsim.exceptions import ScenarioError
from netsim.network import make_network
from netsim.topology import Router
from netsim.topology import star as star_topology
from tests.network.packet.helpers import build, incast, make_transport, star

B = 1.25e9
PROFILES = [
    ("tcp", {"min_rto": "1ms"}),
    ("grpc", {"min_rto": "1ms"}),
    ("rest", {"min_rto": "1ms", "encoding": "base64"}),
    ("udp", {}),
    ("rocev2", {}),
    ("rocev2", {"lossless": False, "min_rto": "1ms"}),
    ("ideal", {"mtu": 1500}),
]


def mixed_traffic(transport, loss_rate=0.002, seed=1, log=False):
    """Many-to-many traffic on a star with a small buffer; returns (net, end times)."""
    graph = star(6, B, 1e-6)
    env, net = build(graph, make_transport(*transport[:1], **transport[1]), buffer=48_000,
                     loss_rate=loss_rate, seed=seed)  # fmt: skip
    if log:
        net.frame_log = []
    ends = []

    def send(src, dst, nbytes, delay):
        yield env.timeout(delay)
        yield net.transfer(src, dst, nbytes)
        ends.append((src, dst, nbytes, env.now))

    for i in range(6):
        for j in range(6):
            if i != j:
                env.process(send(f"h{i}", f"h{j}", 20_000 * (1 + (i * j) % 5), 1e-6 * (i + j)))
    env.run()
    return net, ends


@pytest.mark.parametrize("transport", PROFILES, ids=lambda t: t[0] + str(sorted(t[1])))
def test_conservation(transport):
    net, ends = mixed_traffic(transport)
    assert len(ends) == 30
    assert net.in_flight_bytes == 0
    assert net.bytes_sent == net.offered_bytes + net.bytes_retransmitted
    assert net.bytes_sent == net.bytes_delivered + net.bytes_dropped
    assert net.bytes_dropped == net.dropped_bytes + net.lost_bytes + net.duplicate_bytes
    stats = net.packet_stats()
    assert stats["frames_sent"] == (
        stats["frames_delivered"] + stats["frames_dropped"] + stats["frames_lost"]
    )
    if make_transport(transport[0]).reliable:
        assert net.bytes_delivered == net.offered_bytes
    else:
        assert net.bytes_retransmitted == 0


@pytest.mark.parametrize("transport", PROFILES[:1] + PROFILES[4:5], ids=["tcp", "rocev2"])
def test_no_link_carries_two_frames_at_once(transport):
    net, _ = mixed_traffic(transport, log=True)
    spans = defaultdict(list)
    for link, start, arrival in net.frame_log:
        spans[link].append((start, arrival - net._lats[link]))
    assert sum(len(v) for v in spans.values()) == net.frame_hops
    for link, items in spans.items():
        items.sort()
        for (_, end), (start, _) in zip(items, items[1:], strict=False):
            assert start >= end - 1e-15 * max(abs(end), 1)
        busy = sum(end - start for start, end in items)
        assert busy == pytest.approx(net.link_busy_time()[link], rel=1e-9)
        assert busy <= items[-1][1] - items[0][0] + 1e-12


@pytest.mark.parametrize("transport", PROFILES[:1] + PROFILES[3:5], ids=["tcp", "udp", "roce"])
def test_deterministic_for_a_seed(transport):
    first = mixed_traffic(transport, loss_rate=0.01, seed=5)
    second = mixed_traffic(transport, loss_rate=0.01, seed=5)
    other = mixed_traffic(transport, loss_rate=0.01, seed=6)
    assert first[1] == second[1]
    assert first[0].packet_stats() == second[0].packet_stats()
    assert np.array_equal(first[0].link_losses(), second[0].link_losses())
    assert first[0].packet_stats() != other[0].packet_stats()


def test_ring_allreduce_with_real_arrays_is_exact():
    rng = np.random.default_rng(0)
    data = [rng.standard_normal(5000) for _ in range(8)]
    graph = star_topology(8, "10Gbps", "2us")
    run = simulate_collective(graph, "ring_allreduce", data, model="packet")
    flow = simulate_collective(graph, "ring_allreduce", data, model="flow")
    reference = flow.outputs[0]
    assert np.allclose(reference, np.sum(data, axis=0))
    for out in run.outputs:
        assert np.array_equal(out, reference)  # same reduction order on every model
    assert run.time > flow.time  # store and forward of whole messages


@pytest.mark.parametrize("name,options", [("tcp", {}), ("rocev2", {}), ("udp", {})])
def test_ring_allreduce_over_lossy_transports_keeps_exact_arrays(name, options):
    rng = np.random.default_rng(1)
    p = 6
    data = [rng.standard_normal(20_000) for _ in range(p)]
    graph = star_topology(p, "10Gbps", "2us")
    env = simpy.Environment()
    net = make_network("packet", env, graph, Router(graph), transport=make_transport(name),
                       loss_rate=0.001, seed=2, buffer=64 * 1024)  # fmt: skip
    comm = Communicator(env, net, list(graph.graph["hosts"]))
    algo = get_algorithm("ring_allreduce")
    outputs = [None] * p

    def rank(r):
        outputs[r] = yield from algo.run(comm, r, data[r], data[r].nbytes)

    for r in range(p):
        env.process(rank(r))
    env.run()
    expected = np.sum(data, axis=0)
    for out in outputs:
        assert np.allclose(out, expected)
    assert net.packet_stats()["frames_lost"] > 0


def test_options_are_validated():
    graph = star(2)
    with pytest.raises(ScenarioError, match=r"network.bufer: unknown option .*'buffer'"):
        build(graph, bufer=1)
    with pytest.raises(ScenarioError, match="network.loss_rate"):
        build(graph, loss_rate=1.5)
    with pytest.raises(ScenarioError, match="network.buffer"):
        build(graph, buffer="-3KB")
    with pytest.raises(ScenarioError, match="network.ecn:"):
        build(graph, ecn="yes")
    with pytest.raises(ScenarioError, match="cannot hold one 1538-byte frame"):
        build(graph, "tcp", buffer=1000)
    with pytest.raises(ScenarioError, match=r"cannot hold one .*PFC would pause on every frame"):
        build(graph, "rocev2", buffer=10)
    _, net = build(graph, buffer="64KiB", ecn=True, seed=None)
    assert net.options.buffer == 65536 and net.options.mark_threshold == 32768


def test_registered_and_built_by_name():
    graph = star(3)
    net = make_network("packet", simpy.Environment(), graph, None,
                       transport=make_transport("udp"), buffer=None, ecn=False, seed=3)  # fmt: skip
    assert net.name == "packet" and net.engine == "dgram"
    assert net.options.seed == 3


def test_small_incast_delivers_on_every_profile():
    for name, options in PROFILES:
        net, times = incast(make_transport(name, **options), senders=4, nbytes=30_000,
                            buffer=16 * 1024)  # fmt: skip
        assert all(t is not None for t in times), name
