"""D-PSGD (gossip SGD): the replicas follow X ← W X − lr G(X), the mixing contracts disagreement."""

from dataclasses import dataclass

import numpy as np
import pytest
import simpy

from netsim.collectives import Communicator, get_algorithm
from netsim.collectives.gossip import mixing_matrix, spectral_gap
from netsim.network import make_network
from netsim.topology import Router, star
from netsim.training import (
    BatchSampler,
    ComputeModel,
    make_classification,
    make_dataset,
    make_model,
    make_optimizer,
    shard,
)
from netsim.training.buckets import plan_buckets
from netsim.training.gossip_sgd import start_gossip
from netsim.training.job import TrainingJob, WorkerState
from netsim.training.local_sgd import ReplicaStepLog
from netsim.training.sync import Exchange

STEPS = 20
COMPUTE = 1e-3
LR = 0.3
B, L = 1.25e9, 1e-6


def make_job(p, steps=STEPS, lr=LR, seed=0, compute=COMPUTE, cls=TrainingJob):
    rng = np.random.default_rng(seed)
    data = make_classification(2000, 10, 3, rng)
    model = make_model("logistic", 10, 3)
    shards = shard(len(data.y_train), p, "random", np.random.default_rng(seed + 1))
    sampler_seeds = np.random.SeedSequence(seed + 2).spawn(p)
    job = cls(
        model=model,
        dataset=data,
        shards=shards,
        batch_size=16,
        steps=steps,
        compute=ComputeModel(step_time=compute),
        make_optimizer=lambda: make_optimizer("sgd", lr=lr),
        initial_params=model.init_params(np.random.default_rng(seed + 3)),
        sampler_rngs=[np.random.default_rng(s) for s in sampler_seeds],
    )
    return job, sampler_seeds


def run_gossip(job, mixing="ring", bucket_size=None, overlap=False, algorithm="ring_allreduce"):
    p = job.workers
    graph = star(max(p, 2), B, L)
    env = simpy.Environment()
    comm = Communicator(
        env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"][:p]
    )
    buckets = plan_buckets(job.model.tensors(), 8, bucket_size, bucket_size)
    log = start_gossip(
        env, comm, job, Exchange(get_algorithm(algorithm), buckets, overlap), mixing=mixing
    )
    env.run()
    return log, env.now, comm


def reference_dpsgd(job, seeds, W, X0=None):
    """NumPy D-PSGD (Lian et al. 2017): X_{t+1} = W X_t − lr G(X_t); returns every X_t (t >= 1)."""
    p = job.workers
    samplers = [
        BatchSampler(job.shards[r], job.batch_size, np.random.default_rng(s))
        for r, s in enumerate(seeds)
    ]
    X = np.stack([job.initial_params] * p) if X0 is None else X0.copy()
    history = []
    for _ in range(job.steps):
        G = np.empty_like(X)
        for r in range(p):
            batch = samplers[r].next_batch()
            _, G[r] = job.model.loss_and_grad(
                X[r], job.dataset.X_train[batch], job.dataset.y_train[batch]
            )
        X = W @ X - LR * G
        history.append(X)
    return history


@pytest.mark.parametrize("p", [2, 3, 4, 5, 8])
@pytest.mark.parametrize("bucket_size", [None, 100])
def test_replicas_follow_the_dpsgd_recursion(p, bucket_size):
    job, seeds = make_job(p)
    log, _, _ = run_gossip(job, bucket_size=bucket_size)
    history = reference_dpsgd(job, seeds, mixing_matrix(p, "ring"))
    X = history[-1]
    for replica, expected in zip(log.replica_params, X, strict=True):
        np.testing.assert_allclose(replica, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(log.final_params, X.mean(axis=0), rtol=0, atol=1e-10)
    assert np.abs(X - X.mean(axis=0)).max() > 1e-6  # the replicas really differ
    for step, Xt in enumerate(history):
        mean = Xt.mean(axis=0)
        assert log.evals[step][0] == pytest.approx(job.evaluate(mean)[0], rel=1e-9)
        distance = np.linalg.norm(Xt - mean, axis=1).mean()
        assert log.consensus[step] == pytest.approx(distance, rel=1e-6, abs=1e-12)


def test_average_model_follows_the_mean_gradient():
    """W doubly stochastic ⇒ x̄_{t+1} = x̄_t − lr · mean_i g_i(x_{t,i})."""
    p = 5
    job, seeds = make_job(p)
    log, _, _ = run_gossip(job)
    samplers = [
        BatchSampler(job.shards[r], job.batch_size, np.random.default_rng(s))
        for r, s in enumerate(seeds)
    ]
    history = reference_dpsgd(job, seeds, mixing_matrix(p, "ring"))
    previous = np.stack([job.initial_params] * p)
    for Xt in history:
        grads = []
        for r in range(p):
            batch = samplers[r].next_batch()
            grads.append(
                job.model.loss_and_grad(
                    previous[r], job.dataset.X_train[batch], job.dataset.y_train[batch]
                )[1]
            )
        np.testing.assert_allclose(
            Xt.mean(axis=0), previous.mean(axis=0) - LR * np.mean(grads, axis=0), atol=1e-12
        )
        previous = Xt
    np.testing.assert_allclose(log.final_params, previous.mean(axis=0), atol=1e-10)


@pytest.mark.parametrize("mixing", ["topology", "explicit"])
def test_other_mixings(mixing):
    p = 4
    job, seeds = make_job(p)
    if mixing == "explicit":
        W = np.array([[0.5, 0.5, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0.5, 0.5], [0.5, 0, 0, 0.5]])
        option = W
    else:
        W = np.full((p, p), 1 / p)  # on a star every host reaches every other: exact averaging
        option = mixing
    log, _, _ = run_gossip(job, mixing=option)
    X = reference_dpsgd(job, seeds, W)[-1]
    for replica, expected in zip(log.replica_params, X, strict=True):
        np.testing.assert_allclose(replica, expected, rtol=0, atol=1e-10)


@dataclass
class SpreadJob(TrainingJob):
    """Replicas start apart: worker r from ``initial_params + r``-dependent offsets."""

    def new_worker(self, rank: int) -> WorkerState:
        state = super().new_worker(rank)
        offset = np.random.default_rng(100 + rank).standard_normal(state.params.shape)
        state.params = state.params + offset
        return state


def frobenius_disagreement(log, step):
    return float(
        np.sqrt(sum(r["consensus_distance"] ** 2 for r in log.worker_rows if r["step"] == step))
    )


def test_consensus_distance_shrinks_at_the_spectral_rate():
    """With a negligible learning rate the disagreement ‖X − X̄‖_F contracts by at most
    |λ₂(W)| per round (and asymptotically by exactly |λ₂|), the average is preserved."""
    p, steps = 8, 40
    job, _ = make_job(p, steps=steps, lr=1e-14, cls=SpreadJob)
    X0 = np.stack([job.new_worker(r).params for r in range(p)])
    log, _, _ = run_gossip(job)
    lam2 = 1 - spectral_gap(mixing_matrix(p, "ring"))
    assert lam2 == pytest.approx(1 / 3 + 2 / 3 * np.cos(2 * np.pi / p))
    previous = float(np.linalg.norm(X0 - X0.mean(axis=0)))
    distances = []
    for step in range(steps):
        current = frobenius_disagreement(log, step)
        assert current <= lam2 * previous * (1 + 1e-9)
        distances.append(current)
        previous = current
    assert distances[-1] / distances[-2] == pytest.approx(lam2, rel=1e-3)
    assert log.consensus[steps - 1] < 1e-3 * log.consensus[0]
    np.testing.assert_allclose(log.final_params, X0.mean(axis=0), atol=1e-9)


def test_better_mixing_keeps_replicas_closer():
    p = 8
    ring, _, _ = run_gossip(make_job(p)[0])
    complete, _, _ = run_gossip(make_job(p)[0], mixing="topology")
    assert all(complete.consensus[k] < ring.consensus[k] for k in range(2, STEPS))


def test_one_worker_is_sequential_sgd():
    job, seeds = make_job(1)
    log, now, _ = run_gossip(job)
    X = reference_dpsgd(job, seeds, np.ones((1, 1)))[-1]
    np.testing.assert_array_equal(log.final_params, X[0])
    assert now == pytest.approx(STEPS * COMPUTE)
    assert all(r["bytes_sent"] == 0 for r in log.worker_rows)


@pytest.mark.parametrize("p", [3, 4, 8])
def test_step_time_and_bytes_of_a_ring_gossip_round(p):
    """Every host sends its parameters to two neighbours: ``α + 2nβ`` per round on a star."""
    job, _ = make_job(p)
    log, now, comm = run_gossip(job)
    n = job.model_bytes
    expected = 2 * L + 2 * n / B
    for row in log.worker_rows:
        assert row["comm_s"] == pytest.approx(expected, rel=1e-9)
        assert row["comm_busy_s"] == pytest.approx(expected, rel=1e-9)
        assert row["bytes_sent"] == 2 * n
        assert row["end_s"] - row["start_s"] == pytest.approx(
            row["compute_s"] + row["comm_s"], rel=1e-12
        )
    assert now == pytest.approx(STEPS * (COMPUTE + expected), rel=1e-9)
    table = log.steps_table()
    assert table[0]["bytes_sent"] == 2 * n * p
    assert sum(comm.bytes_sent) == 2 * n * p * STEPS


def test_overlap_hides_the_gossip_round_behind_compute():
    """The round mixes x_t, which the gradient does not change: it runs during compute."""
    p = 4
    job, seeds = make_job(p)
    log, now, _ = run_gossip(job, overlap=True)
    expected = 2 * L + 2 * job.model_bytes / B
    for row in log.worker_rows:
        assert row["comm_s"] == 0
        assert row["comm_busy_s"] == pytest.approx(expected, rel=1e-9)
    assert now == pytest.approx(STEPS * COMPUTE, rel=1e-12)
    X = reference_dpsgd(job, seeds, mixing_matrix(p, "ring"))[-1]
    np.testing.assert_allclose(log.final_params, X.mean(axis=0), rtol=0, atol=1e-10)
    # a round longer than the compute is exposed only by the difference
    slow_job, _ = make_job(p, compute=expected / 4)
    slow, _, _ = run_gossip(slow_job, overlap=True)
    for row in slow.worker_rows:
        assert row["comm_s"] == pytest.approx(expected - expected / 4, rel=1e-6)


def test_a_gossip_exchange_algorithm_is_used_as_given():
    job, _ = make_job(4)
    log, _, _ = run_gossip(job, algorithm="gossip")
    ref, _, _ = run_gossip(make_job(4)[0])
    np.testing.assert_array_equal(log.final_params, ref.final_params)


def test_errors():
    job, _ = make_job(3)
    graph = star(4, B, L)
    env = simpy.Environment()
    comm = Communicator(env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"])
    exchange = Exchange(
        get_algorithm("ring_allreduce"), plan_buckets(job.model.tensors(), 8, None, None)
    )
    with pytest.raises(ValueError, match="needs 3 ranks"):
        start_gossip(env, comm, job, exchange)
    with pytest.raises(ValueError, match="unknown gossip mixing"):
        run_gossip(make_job(3)[0], mixing="hypercube")


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


@pytest.mark.parametrize("mixing", ["ring", "topology"])
def test_gossip_sgd_reduces_the_held_out_loss(mixing):
    job = default_task_job()
    initial_loss, initial_accuracy = job.evaluate(job.initial_params)
    log: ReplicaStepLog
    log, _, _ = run_gossip(job, mixing=mixing)
    assert sorted(log.evals) == [4, 9, 14, 19, 24, 29]
    final_loss, final_accuracy = log.evals[29]
    assert final_loss < 0.7 * initial_loss
    assert final_accuracy > initial_accuracy
