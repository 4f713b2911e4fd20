"""Communicator: mailboxes in either order, subgroups, byte accounting, placement."""

import numpy as np
import pytest
import simpy

from netsim.collectives import Communicator, get_algorithm, ring_allreduce
from netsim.collectives.placement import place_ranks
from netsim.exceptions import ScenarioError
from netsim.network import make_network
from netsim.topology import Router, star


def setup(p=4):
    graph = star(p, 1e9, 1e-6)
    env = simpy.Environment()
    net = make_network("flow", env, graph, Router(graph))
    return env, Communicator(env, net, graph.graph["hosts"])


def test_recv_before_send_and_send_before_recv():
    env, comm = setup(2)
    got = []

    def late_sender():
        yield env.timeout(1.0)
        comm.send(0, 1, "a", "hello", 1e3)

    def early_receiver():
        got.append((yield comm.recv(1, 0, "a")))
        comm.send(1, 0, "b", "back", 1e3)

    def late_receiver():
        yield env.timeout(5.0)
        got.append((yield comm.recv(0, 1, "b")))

    for proc in (late_sender(), early_receiver(), late_receiver()):
        env.process(proc)
    env.run()
    assert got == ["hello", "back"]
    assert comm.pending_messages() == 0
    assert comm.bytes_sent == [1e3, 1e3]


def test_subgroups_are_isolated_and_credit_global_ranks():
    env, comm = setup(4)
    data = [np.full(8, float(r + 1)) for r in range(4)]
    out = {}

    def rank(r):
        whole = yield from ring_allreduce(comm, r, data[r])
        group = comm.subgroup([1, 3] if r in (1, 3) else [0, 2])
        part = yield from ring_allreduce(group, group.ranks.index(r), data[r])
        out[r] = (whole, part)

    for r in range(4):
        env.process(rank(r))
    env.run()
    for r in range(4):
        np.testing.assert_array_equal(out[r][0], np.full(8, 10.0))
    np.testing.assert_array_equal(out[1][1], np.full(8, 6.0))
    np.testing.assert_array_equal(out[0][1], np.full(8, 4.0))
    assert comm.subgroup([1, 3]) is comm.subgroup([1, 3])
    assert comm.subgroup([1, 3]).ranks == [1, 3]
    # 64 bytes per vector: the full ring sends 2*3/4*64 per rank, a pair ring 2*1/2*64
    assert comm.bytes_sent == [pytest.approx(96 + 64)] * 4


def test_subgroup_ids_are_small_ints_that_know_their_rank_path():
    # Mailbox keys of a subgroup hash its id, not its membership (O(1) per message), and
    # deadlock reports still map a nested subgroup's rank back to the top-level rank.
    from netsim.guards import _message_source

    env, comm = setup(6)
    sub = comm.subgroup([5, 3, 1])
    nested = sub.subgroup([2, 0])
    assert isinstance(sub._gid, int) and isinstance(nested._gid, int)
    assert sub._gid != nested._gid
    assert comm.subgroup([5, 3, 1]) is sub  # the same ranks, the same subgroup and id
    assert nested._gid.path == ((5, 3, 1), (2, 0))
    event = nested.recv(1, 0, "t")
    [(key, slot)] = comm._mailbox.items()
    assert slot is event and key == (nested._gid, 0, 1, "t")
    assert _message_source(key) == (1, "t")  # local 0 of nested = rank 2 of sub = rank 1


def test_subgroup_validation():
    _, comm = setup(3)
    for bad in ([], [0, 0], [5]):
        with pytest.raises(ValueError):
            comm.subgroup(bad)


def test_place_ranks():
    hosts = ["h0", "h1", "h2", "h3"]
    ring = get_algorithm("ring")
    ps = get_algorithm("ps")
    assert place_ranks(ring, hosts, 3) == ["h0", "h1", "h2"]
    assert place_ranks(ps, hosts, 3) == ["h0", "h1", "h2", "h3"]
    assert place_ranks(ps, hosts, 4, servers=2, colocated=True) == hosts + ["h0", "h1"]
    with pytest.raises(ScenarioError, match="need 5 hosts"):
        place_ranks(ps, hosts, 4)
    with pytest.raises(ScenarioError, match="co-located"):
        place_ranks(ps, hosts, 1, servers=2, colocated=True)
