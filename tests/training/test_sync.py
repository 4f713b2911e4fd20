"""BSP data-parallel SGD equals single-process SGD on the global batch."""

import numpy as np
import pytest
import simpy

from netsim.collectives import Communicator, get_algorithm
from netsim.network import make_network
from netsim.topology import Router, star
from netsim.training import (
    BatchSampler,
    ComputeModel,
    make_classification,
    make_model,
    make_optimizer,
    shard,
)
from netsim.training.buckets import plan_buckets
from netsim.training.job import TrainingJob
from netsim.training.sync import Exchange, start_bsp

STEPS = 20


def make_job(p, seed=0, momentum=0.9):
    rng = np.random.default_rng(seed)
    data = make_classification(2000, 10, 3, rng)
    model = make_model("logistic", 10, 3)
    shards = shard(len(data.y_train), p, "random", np.random.default_rng(seed + 1))
    sampler_seeds = np.random.SeedSequence(seed + 2).spawn(p)
    job = TrainingJob(
        model=model,
        dataset=data,
        shards=shards,
        batch_size=16,
        steps=STEPS,
        compute=ComputeModel(step_time=1e-3),
        make_optimizer=lambda: make_optimizer("sgd", lr=0.3, momentum=momentum, nesterov=True),
        initial_params=model.init_params(np.random.default_rng(seed + 3)),
        sampler_rngs=[np.random.default_rng(s) for s in sampler_seeds],
    )
    return job, sampler_seeds


def run_bsp(job, algorithm_name, bucket_size=None, overlap=False, graph=None):
    algorithm = get_algorithm(algorithm_name)
    p = job.workers
    extra = 1 if algorithm.kind == "parameter_server" else 0
    graph = graph if graph is not None else star(p + extra, 1.25e9, 1e-6)
    env = simpy.Environment()
    network = make_network("flow", env, graph, Router(graph))
    comm = Communicator(env, network, graph.graph["hosts"][: p + extra])
    buckets = plan_buckets(job.model.tensors(), 8, bucket_size, bucket_size)
    log = start_bsp(env, comm, job, Exchange(algorithm, buckets, overlap))
    env.run()
    return log, env.now


def single_process_sgd(job, sampler_seeds):
    samplers = [
        BatchSampler(job.shards[r], job.batch_size, np.random.default_rng(s)) for r, s in enumerate(sampler_seeds)
    ]
    params = job.initial_params.copy()
    optimizer = job.make_optimizer()
    for _ in range(job.steps):
        batch = np.concatenate([s.next_batch() for s in samplers])
        _, grad = job.model.loss_and_grad(params, job.dataset.X_train[batch], job.dataset.y_train[batch])
        params = optimizer.step(params, grad)
    return params


@pytest.mark.parametrize("p", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("algorithm", ["ring_allreduce", "parameter_server"])
@pytest.mark.parametrize(("bucket_size", "overlap"), [(None, False), (100, False), (100, True)])
def test_bsp_equals_single_process_large_batch_sgd(p, algorithm, bucket_size, overlap):
    job, seeds = make_job(p)
    log, _ = run_bsp(job, algorithm, bucket_size, overlap)
    reference = single_process_sgd(job, seeds)
    np.testing.assert_allclose(log.final_params, reference, rtol=0, atol=1e-10)
    assert not np.allclose(reference, job.initial_params)


def test_step_records_split_compute_and_communication():
    job, _ = make_job(4)
    log, now = run_bsp(job, "ring_allreduce")
    table = log.steps_table()
    assert [row["step"] for row in table] == list(range(STEPS))
    for row in log.worker_rows:
        assert row["end_s"] - row["start_s"] == pytest.approx(row["compute_s"] + row["comm_s"], rel=1e-12)
    for row in table:
        mine = [r for r in log.worker_rows if r["step"] == row["step"]]
        assert row["compute_s"] == pytest.approx(1e-3)
        assert row["start_s"] == min(r["start_s"] for r in mine)
        assert row["end_s"] == max(r["end_s"] for r in mine)
        assert row["duration_s"] >= row["compute_s"] + row["comm_s"] - 1e-15
        assert row["bytes_sent"] == pytest.approx(4 * 2 * 3 / 4 * job.model_bytes)
    assert table[-1]["end_s"] == pytest.approx(now)
    assert len(log.worker_rows) == 4 * STEPS
    assert len(log.evals) == STEPS


def test_training_reduces_the_loss():
    job, _ = make_job(4, momentum=0.0)
    log, _ = run_bsp(job, "ring_allreduce")
    table = log.steps_table()
    assert table[-1]["test_loss"] < table[0]["test_loss"]
    assert table[-1]["test_accuracy"] > 0.5


def test_overlap_hides_all_but_the_last_bucket():
    """With a long compute, the first bucket (``b``) is reduced during the backward pass;
    the step ends one collective of the last bucket (``W``, 240 bytes) after compute."""
    p, B, L, compute = 3, 1.25e9, 1e-6, 1e-3
    job, _ = make_job(p)
    job.compute = ComputeModel(step_time=compute)
    log, _ = run_bsp(job, "ring_allreduce", bucket_size=100, overlap=True, graph=star(p, B, L))
    w_bytes = 30 * 8
    last = 2 * (p - 1) * (2 * L) + 2 * (p - 1) / p * w_bytes / B
    b_bytes = 3 * 8
    first = 2 * (p - 1) * (2 * L) + 2 * (p - 1) / p * b_bytes / B
    for row in log.worker_rows:
        assert row["end_s"] - row["start_s"] == pytest.approx(compute + last, rel=1e-12)
        assert row["comm_s"] == pytest.approx(last, rel=1e-9)
        assert row["comm_busy_s"] == pytest.approx(first + last, rel=1e-9)


def test_without_overlap_buckets_run_after_compute():
    p, B, L, compute = 3, 1.25e9, 1e-6, 1e-3
    job, _ = make_job(p)
    job.compute = ComputeModel(step_time=compute)
    log, _ = run_bsp(job, "ring_allreduce", bucket_size=100, overlap=False, graph=star(p, B, L))
    ring = [2 * (p - 1) * (2 * L) + 2 * (p - 1) / p * nbytes / B for nbytes in (24, 240)]
    for row in log.worker_rows:
        assert row["comm_s"] == pytest.approx(sum(ring), rel=1e-9)
