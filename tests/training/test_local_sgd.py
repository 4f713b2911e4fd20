"""Local SGD: H = 1 is BSP, H local steps send H× fewer bytes, replicas meet at averagings."""

import numpy as np
import pytest
import simpy

from netsim.collectives import Communicator, get_algorithm
from netsim.network import make_network
from netsim.topology import Router, star
from netsim.training import (
    ComputeModel,
    make_classification,
    make_dataset,
    make_model,
    make_optimizer,
    shard,
)
from netsim.training.buckets import plan_buckets
from netsim.training.job import TrainingJob
from netsim.training.local_sgd import ReplicaStepLog, start_local_sgd
from netsim.training.sync import Exchange, start_bsp

STEPS = 20
COMPUTE = 1e-3
B, L = 1.25e9, 1e-6


def make_job(p, steps=STEPS, optimizer=None, slowdown=None, seed=0):
    rng = np.random.default_rng(seed)
    data = make_classification(2000, 10, 3, rng)
    model = make_model("logistic", 10, 3)
    shards = shard(len(data.y_train), p, "random", np.random.default_rng(seed + 1))
    sampler_seeds = np.random.SeedSequence(seed + 2).spawn(p)
    return TrainingJob(
        model=model,
        dataset=data,
        shards=shards,
        batch_size=16,
        steps=steps,
        compute=ComputeModel(step_time=COMPUTE, slowdown=slowdown),
        make_optimizer=optimizer or (lambda: make_optimizer("sgd", lr=0.3)),
        initial_params=model.init_params(np.random.default_rng(seed + 3)),
        sampler_rngs=[np.random.default_rng(s) for s in sampler_seeds],
    )


def setup(job, algorithm, bucket_size):
    algorithm = get_algorithm(algorithm)
    ranks = job.workers + (1 if algorithm.kind == "parameter_server" else 0)
    graph = star(max(ranks, 2), B, L)
    env = simpy.Environment()
    comm = Communicator(
        env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"][:ranks]
    )
    return (
        env,
        comm,
        Exchange(algorithm, plan_buckets(job.model.tensors(), 8, bucket_size, bucket_size)),
    )


def run_local(
    job, period, algorithm="ring_allreduce", bucket_size=None
) -> tuple[ReplicaStepLog, float]:
    env, comm, exchange = setup(job, algorithm, bucket_size)
    log = start_local_sgd(env, comm, job, exchange, period=period)
    env.run()
    return log, env.now


def run_bsp(job, algorithm="ring_allreduce", bucket_size=None):
    env, comm, exchange = setup(job, algorithm, bucket_size)
    log = start_bsp(env, comm, job, exchange)
    env.run()
    return log, env.now


def by_key(log):
    return {(r["step"], r["worker"]): r for r in log.worker_rows}


@pytest.mark.parametrize("p", [1, 2, 4])
@pytest.mark.parametrize("algorithm", ["ring_allreduce", "parameter_server"])
@pytest.mark.parametrize("bucket_size", [None, 100])
def test_one_local_step_is_bsp(p, algorithm, bucket_size):
    """Momentum-free SGD: mean_i(x − lr g_i) = x − lr mean_i(g_i), and the same traffic and times."""
    log, now = run_local(make_job(p), 1, algorithm, bucket_size)
    bsp, bsp_now = run_bsp(make_job(p), algorithm, bucket_size)
    np.testing.assert_allclose(log.final_params, bsp.final_params, rtol=0, atol=1e-10)
    assert not np.allclose(log.final_params, make_job(p).initial_params)
    assert now == pytest.approx(bsp_now, rel=1e-12)
    theirs = by_key(bsp)
    for key, row in by_key(log).items():
        assert row["synced"]
        assert row["end_s"] == pytest.approx(theirs[key]["end_s"], rel=1e-12)
        assert row["bytes_sent"] == theirs[key]["bytes_sent"]
    assert log.server_bytes == bsp.server_bytes
    for step in range(STEPS):
        assert log.evals[step][0] == pytest.approx(bsp.evals[step][0], rel=1e-9)


@pytest.mark.parametrize(
    "options",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ],
)
def test_one_local_step_with_sgd_momentum_is_still_bsp(options):
    """Each worker keeps its own momentum buffer, but the SGD update is linear in
    (x, g, v) and every step starts from the same averaged x: the mean buffer follows
    BSP's buffer, so the averaged model is BSP's (up to reassociation)."""
    make = lambda: make_optimizer("sgd", lr=0.3, **options)  # noqa: E731
    log, _ = run_local(make_job(4, optimizer=make), 1)
    bsp, _ = run_bsp(make_job(4, optimizer=make))
    np.testing.assert_allclose(log.final_params, bsp.final_params, rtol=0, atol=1e-10)


def test_one_local_step_with_adam_is_not_bsp():
    """Adam is not linear in the gradient: averaging p Adam steps is not one Adam step."""
    make = lambda: make_optimizer("adam", lr=0.01)  # noqa: E731
    log, _ = run_local(make_job(4, optimizer=make), 1)
    bsp, _ = run_bsp(make_job(4, optimizer=make))
    assert np.abs(log.final_params - bsp.final_params).max() > 1e-4


def test_more_local_steps_diverge_from_bsp():
    log, _ = run_local(make_job(4), 2)
    bsp, _ = run_bsp(make_job(4))
    assert np.abs(log.final_params - bsp.final_params).max() > 1e-6


@pytest.mark.parametrize("period", [2, 4, 5])
@pytest.mark.parametrize("algorithm", ["ring_allreduce", "parameter_server"])
def test_period_h_sends_h_times_fewer_bytes(period, algorithm):
    every, _ = run_local(make_job(4), 1, algorithm)
    log, _ = run_local(make_job(4), period, algorithm)
    per_sync = sum(r["bytes_sent"] for r in every.worker_rows) / STEPS
    assert per_sync > 0
    synced_steps = [k for k in range(STEPS) if (k + 1) % period == 0]
    for (step, _), row in by_key(log).items():
        assert row["synced"] == (step in synced_steps)
        if not row["synced"]:
            assert row["bytes_sent"] == 0
            assert row["comm_s"] == 0 and row["comm_busy_s"] == 0
            assert row["end_s"] - row["start_s"] == pytest.approx(COMPUTE, rel=1e-12)
    table, reference = log.steps_table(), every.steps_table()
    total = sum(row["bytes_sent"] for row in table)
    assert total == pytest.approx(sum(row["bytes_sent"] for row in reference) / period, rel=1e-12)
    assert np.mean([row["bytes_sent"] for row in table]) == pytest.approx(
        np.mean([row["bytes_sent"] for row in reference]) / period, rel=1e-12
    )
    # and time: H - 1 of every H steps have no communication
    assert table[-1]["end_s"] < reference[-1]["end_s"]


def test_replicas_drift_between_averagings_and_meet_at_them():
    period = 4
    log, _ = run_local(make_job(4), period)
    assert len(log.replica_params) == 4
    for replica in log.replica_params:
        np.testing.assert_allclose(replica, log.final_params, rtol=0, atol=1e-12)
    for row in log.worker_rows:
        assert row["consensus_distance"] > 0  # measured after the local step, before averaging
    assert set(log.consensus) == set(range(STEPS))
    # drift restarts after each averaging: the first step of a period is the closest
    for start in range(0, STEPS, period):
        assert log.consensus[start] < log.consensus[start + period - 1]
    # the evaluated model after an averaging step is the averaged model
    assert log.evals[STEPS - 1][0] == pytest.approx(
        make_job(4).evaluate(log.final_params)[0], rel=1e-12
    )


def test_last_step_always_averages():
    log, _ = run_local(make_job(4, steps=10), 4)
    synced = sorted({r["step"] for r in log.worker_rows if r["synced"]})
    assert synced == [3, 7, 9]
    for replica in log.replica_params:
        np.testing.assert_allclose(replica, log.final_params, rtol=0, atol=1e-12)


def test_straggler_is_waited_for_only_at_averagings():
    period = 4
    log, now = run_local(make_job(4, slowdown={3: 4.0}), period)
    rows = by_key(log)
    for step in range(STEPS):
        fast = rows[(step, 0)]
        if not fast["synced"]:
            assert fast["comm_s"] == 0
    # an averaging ends when the straggler's H steps are done: steps of 4 ms
    sync_ends = sorted({round(r["end_s"], 9) for r in log.worker_rows if r["synced"]})
    assert sync_ends[0] > period * 4 * COMPUTE
    assert now == pytest.approx(STEPS * 4 * COMPUTE, rel=1e-2)


def test_errors():
    job = make_job(2)
    env, comm, exchange = setup(job, "ring_allreduce", None)
    for period in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="period"):
            start_local_sgd(env, comm, job, exchange, period=period)
    env, comm, exchange = setup(make_job(2), "parameter_server", None)
    with pytest.raises(ValueError, match="cannot run"):
        start_local_sgd(env, comm, make_job(3), exchange, period=2)


def default_task_job(p=4, steps=30):
    """The default scenario's task: classification 4096 × 16, 4 classes, logistic, batch 32, SGD lr 0.1."""
    root = np.random.SeedSequence(0).spawn(4)
    data = make_dataset("classification", 4096, 16, 4, np.random.default_rng(root[0]))
    model = make_model("logistic", 16, data.n_classes)
    shards = shard(len(data.y_train), p, "contiguous", np.random.default_rng(root[1]))
    return TrainingJob(
        model=model,
        dataset=data,
        shards=shards,
        batch_size=32,
        steps=steps,
        compute=ComputeModel(flops_per_second=1e12),
        make_optimizer=lambda: make_optimizer("sgd", lr=0.1),
        initial_params=model.init_params(np.random.default_rng(root[2])),
        sampler_rngs=[np.random.default_rng(s) for s in root[3].spawn(p)],
        eval_every=5,
    )


@pytest.mark.parametrize("period", [1, 4, 8])
def test_local_sgd_reduces_the_held_out_loss(period):
    job = default_task_job()
    initial_loss, initial_accuracy = job.evaluate(job.initial_params)
    log, _ = run_local(job, period)
    assert sorted(log.evals) == [4, 9, 14, 19, 24, 29]
    final_loss, final_accuracy = log.evals[29]
    assert final_loss < 0.7 * initial_loss
    assert final_accuracy > initial_accuracy
