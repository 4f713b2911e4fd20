"""gpu_cluster: structure, presets, routing (intra-node traffic on NVLink), exact timings, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import simpy

import netsim
from netsim.collectives import simulate_collective
from netsim.collectives.hierarchical import hierarchical_time
from netsim.exceptions import ScenarioError, TopologyError
from netsim.network import make_network
from netsim.scenario import scenario_from_dict
from netsim.topology import FABRICS, NODE_TYPES, Router, gpu_cluster

NV = 450e9  # dgx_h100 NVLink, bytes/s per direction
PCIE = 50e9
NIC = 400e9 / 8  # ib_ndr


def roles(G, path):
    return [G.nodes[v].get("role", "gpu") for v in path]


def test_hosts_are_gpus_in_node_major_rank_order():
    G = gpu_cluster(nodes=3, gpus_per_node=4)
    assert G.graph["hosts"] == [f"h{r}" for r in range(12)]
    assert [(G.nodes[h]["node"], G.nodes[h]["gpu"]) for h in G.graph["hosts"]] == [
        (i, g) for i in range(3) for g in range(4)
    ]
    assert G.graph["gpus_per_node"] == 4 and G.graph["nodes"] == 3
    assert all(G.nodes[h]["kind"] == "host" for h in G.graph["hosts"])


def test_structure_one_nic_per_gpu():
    G = gpu_cluster(nodes=2, gpus_per_node=8)
    # 16 GPUs, 2 NVSwitches, 16 NICs, 1 leaf; no spine with a single leaf
    assert len(G) == 16 + 2 + 16 + 1
    assert G.graph["spines"] == 0 and G.graph["border"] == ["leaf0"]
    assert G.number_of_edges() == 16 + 16 + 16  # NVLink, PCIe, NIC-leaf
    assert G.edges["h9", "nvs1"] == {"bandwidth": NV, "latency": 0.5e-6, "level": 0, "link": "nvlink"}
    assert G.edges["h9", "nic1.1"]["bandwidth"] == PCIE
    assert G.edges["nic1.1", "leaf0"]["bandwidth"] == NIC
    assert G.edges["nic1.1", "leaf0"]["latency"] == 0.25e-6


def test_leaf_spine_uplinks_follow_oversubscription_and_spines():
    G = gpu_cluster(nodes=10, gpus_per_node=8, spines=4, oversubscription=2)
    assert G.graph["nodes_per_leaf"] == 4 and G.graph["leaves"] == 3  # 32 NIC ports per leaf
    expected = 4 * 8 * NIC / (2 * 4)
    assert G.graph["uplink_bandwidth"] == expected
    for leaf, spine in itertools.product(range(3), range(4)):
        assert G.edges[f"leaf{leaf}", f"spine{spine}"]["bandwidth"] == expected
        assert G.edges[f"leaf{leaf}", f"spine{spine}"]["latency"] == 0.15e-6
    assert sorted(G["nic9.0"]) == ["h72", "leaf2"]
    assert G.graph["border"] == ["spine0", "spine1", "spine2", "spine3"]


def test_presets_and_overrides():
    G = gpu_cluster(nodes=1, node_type="dgx_a100", fabric="roce_400g")
    assert G.edges["h0", "nvs0"]["bandwidth"] == 300e9
    assert G.edges["h0", "nic0.0"]["bandwidth"] == 25e9
    assert G.edges["nic0.0", "leaf0"]["bandwidth"] == 50e9
    assert G.edges["nic0.0", "leaf0"]["latency"] == 0.75e-6
    G = gpu_cluster(nodes=1, gpus_per_node=2, nvlink_bandwidth="100GB/s", nic_bandwidth=1e9, nic_latency="3us")
    assert G.edges["h1", "nvs0"]["bandwidth"] == 100e9
    assert G.edges["nic0.1", "leaf0"]["bandwidth"] == 1e9
    assert G.edges["nic0.1", "leaf0"]["latency"] == 3e-6
    assert set(NODE_TYPES) == {"dgx_a100", "dgx_h100"}
    assert {"ib_hdr", "ib_ndr", "roce_100g", "roce_200g", "roce_400g"} <= set(FABRICS)


def test_hosts_instead_of_nodes():
    assert gpu_cluster(hosts=16).graph["nodes"] == 2
    assert len(gpu_cluster(hosts=6, gpus_per_node=2, nodes=3).graph["hosts"]) == 6


@pytest.mark.parametrize("nics", [8, 4, 2, 1])
@pytest.mark.parametrize("mode", ["shortest", "ecmp"])
def test_intra_node_traffic_stays_on_nvlink(nics, mode):
    G = gpu_cluster(nodes=2, gpus_per_node=8, nics_per_node=nics, nodes_per_leaf=1, spines=2)
    for seed in range(3):
        router = Router(G, mode=mode, seed=seed)
        for node in range(2):
            for a, b in itertools.permutations(range(8), 2):
                src, dst = f"h{8 * node + a}", f"h{8 * node + b}"
                assert router.path(src, dst) == (src, f"nvs{node}", dst)


@pytest.mark.parametrize("nics", [8, 2, 1])
def test_inter_node_traffic_leaves_through_the_gpus_own_nic(nics):
    G = gpu_cluster(nodes=2, gpus_per_node=8, nics_per_node=nics)
    router = Router(G, mode="ecmp", seed=1)
    per_nic = 8 // nics
    for a, b in itertools.product(range(8), range(8, 16)):
        path = router.path(f"h{a}", f"h{b}")
        assert "nvswitch" not in roles(G, path)
        nics_on_path = [v for v in path if G.nodes[v].get("role") == "nic"]
        assert nics_on_path == [f"nic0.{a // per_nic}", f"nic1.{(b - 8) // per_nic}"]


def transfer_time(G, src, dst, nbytes):
    env = simpy.Environment()
    network = make_network("flow", env, G, Router(G))
    env.run(network.transfer(src, dst, nbytes))
    return env.now


def test_uncontended_transfers_take_the_alpha_beta_time():
    G = gpu_cluster(nodes=5, gpus_per_node=8, nodes_per_leaf=4, spines=1)
    n = 1e8
    assert transfer_time(G, "h0", "h7", n) == pytest.approx(2 * 0.5e-6 + n / NV, rel=1e-12)
    same_leaf = 2 * 0.5e-6 + 2 * 0.25e-6 + n / min(PCIE, NIC)
    assert transfer_time(G, "h0", "h8", n) == pytest.approx(same_leaf, rel=1e-12)
    via_spine = same_leaf + 2 * 0.15e-6
    assert transfer_time(G, "h0", "h39", n) == pytest.approx(via_spine, rel=1e-12)


def test_hierarchical_allreduce_per_node_is_the_2d_formula():
    # Groups = nodes (group_size = g): ring reduce-scatter on NVLink, then g concurrent
    # rings across nodes, one per GPU index, each through its own NIC (no sharing).
    g, nodes = 4, 3
    G = gpu_cluster(nodes=nodes, gpus_per_node=g)
    n_elems = 2 * g * nodes * 1000
    data = [np.full(n_elems, float(r)) for r in range(g * nodes)]
    run = simulate_collective(G, "hierarchical", data, group_size=g)
    alpha1, beta1 = 2 * 0.5e-6, 1 / NV
    alpha2, beta2 = 2 * 0.5e-6 + 2 * 0.25e-6, 1 / min(PCIE, NIC)
    expected = hierarchical_time(g, nodes, n_elems * 8, alpha1, beta1, alpha2, beta2)
    assert run.time == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(run.outputs[0], np.full(n_elems, float(sum(range(g * nodes)))))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"node_type": "dgx_h10", "nodes": 1}, "node_type: unknown preset 'dgx_h10' (did you mean 'dgx_h100'?)"),
        ({"fabric": "infiniband", "nodes": 1}, "fabric: unknown preset 'infiniband'"),
        ({}, "give nodes (servers) or hosts (GPUs)"),
        ({"hosts": 12}, "hosts = 12 is not a multiple of gpus_per_node = 8"),
        ({"hosts": 16, "nodes": 3}, "hosts = 16 but nodes × gpus_per_node"),
        ({"nodes": 1, "nics_per_node": 3}, "nics_per_node = 3 must divide gpus_per_node = 8"),
        ({"nodes": 0}, "nodes must be an integer >= 1"),
        ({"nodes": 1, "oversubscription": 0}, "oversubscription must be a positive finite number"),
        ({"nodes": 1, "nic_bandwidth": "400Gbsp"}, "nic_bandwidth: unknown unit"),
    ],
)
def test_errors_name_the_parameter(params, message):
    with pytest.raises(TopologyError) as info:
        gpu_cluster(**params)
    assert message in str(info.value)


def test_scenario_keys_build_the_cluster_and_train():
    doc = {
        "topology": {"kind": "gpu_cluster", "nodes": 2, "gpus_per_node": 2, "fabric": "roce_100g"},
        "communication": {"algorithm": "hierarchical", "group_size": 2},
        "training": {"steps": 2, "samples": 256},
    }
    result = netsim.simulate(scenario_from_dict(doc))
    assert result.summary["hosts"] == 4 and result.summary["workers"] == 4
    links = result.links.set_index(["src", "dst"])
    assert links.loc[("nic0.0", "leaf0"), "bandwidth"] == 100e9 / 8
    assert links.loc[("h0", "nvs0"), "bytes"] > 0


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        ({"kind": "gpu_cluster"}, "topology.nodes (servers) or topology.hosts (GPUs) is required"),
        ({"kind": "gpu_cluster", "nodes": 2, "bandwidth": "1Gbps"}, "topology.bandwidth does not apply to kind = 'gpu_cluster'"),
        ({"kind": "gpu_cluster", "nodes": 2, "fabric": "ib_nd"}, "topology.fabric: 'ib_nd' is not accepted (did you mean 'ib_ndr'?)"),
        ({"kind": "star", "hosts": 2, "gpus_per_node": 2}, "topology.gpus_per_node applies only to kind = 'gpu_cluster'"),
        ({"kind": "star", "hosts": 2, "oversubscription": 2}, "applies only to kind = 'tree' or 'gpu_cluster', not 'star'"),
    ],
)
def test_scenario_errors(topology, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"topology": topology})
    assert message in str(info.value)
