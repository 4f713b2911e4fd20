"""Small GPU clusters for the workload tests (the gpu_cluster builder's contract, built by hand).

Hosts are GPUs in rank order, node by node (``G.graph["hosts"]``), with node attributes
``node`` and ``gpu``; each GPU links to its node's NVSwitch (NVLink) and, through its own
NIC, to its node's leaf switch; leaves link to every spine.
"""

import networkx as nx

NVLINK = 300e9  # bytes/s per direction per GPU
NIC = 50e9  # 400 Gbps
LAT = 1e-6


def cluster(nodes=2, gpus=4, nvlink=NVLINK, nic=NIC, nodes_per_leaf=None, spines=1, latency=LAT, uplink=None):
    """``nodes`` servers of ``gpus`` GPUs; ``nodes_per_leaf`` servers under each leaf (default all)."""
    per_leaf = nodes_per_leaf or nodes
    leaves = -(-nodes // per_leaf)
    hosts = [f"h{i}" for i in range(nodes * gpus)]
    G = nx.Graph(name="test_cluster", hosts=hosts, gpus_per_node=gpus)
    for i, h in enumerate(hosts):
        G.add_node(h, kind="host", node=i // gpus, gpu=i % gpus)
    for n in range(nodes):
        G.add_node(f"nv{n}", kind="switch")
    for leaf in range(leaves):
        G.add_node(f"leaf{leaf}", kind="switch")
    for s in range(spines if leaves > 1 else 0):
        G.add_node(f"spine{s}", kind="switch")
    for i, h in enumerate(hosts):
        n = i // gpus
        G.add_edge(h, f"nv{n}", bandwidth=nvlink, latency=latency)
        G.add_edge(h, f"leaf{n // per_leaf}", bandwidth=nic, latency=latency)
    if leaves > 1:
        up = uplink if uplink is not None else nic * gpus * per_leaf / spines
        for leaf in range(leaves):
            for s in range(spines):
                G.add_edge(f"leaf{leaf}", f"spine{s}", bandwidth=up, latency=latency)
    return G


def options(zero=0, schedule="1f1b", overlap=True, tp="ring_allreduce", dp="ring_allreduce", ep="pairwise"):
    """StepOptions with the given algorithms (bf16 parameters and gradients)."""
    from netsim.collectives import get_algorithm
    from netsim.workload.step import StepOptions

    names = {"tp": tp, "dp": dp, "ep": ep, "reduce_scatter": "ring_reduce_scatter", "all_gather": "ring_all_gather"}
    return StepOptions(schedule, zero, {k: (get_algorithm(v), {}) for k, v in names.items()}, overlap)


def plan(graph, model, dp=None, pp=1, tp=1, ep=1, m=1, order=("tp", "pp", "dp"), placement=None, device="A100", **kw):
    """A JobPlan of ``model`` on ``graph``'s hosts."""
    from netsim.workload import DEVICES, make_layout, plan_job

    layout = make_layout(graph.graph["hosts"], dp, pp, tp, ep, order, placement)
    return plan_job(model, DEVICES[device] if isinstance(device, str) else device, layout, m, **kw)


def run(graph, job, opts, level=None, steps=1):
    """Simulate ``job``; returns (JobRun, summary, steps, workers, links)."""
    from netsim.topology import Router
    from netsim.workload.report import report
    from netsim.workload.run import run_job

    result = run_job(graph, Router(graph), job, opts, steps, level)
    return (result, *report(result))


def best(graph, job, opts, steps=1):
    """The coarsest accepted aggregation level and its run (as :func:`run`)."""
    from netsim.workload.run import find_level

    layout = job.layout
    found = find_level(layout.dp, layout.tp, lambda level: run(graph, job, opts, level, steps))
    assert found is not None, "no aggregation level accepted"
    return found
