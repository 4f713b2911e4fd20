"""ASP and SSP parameter-server SGD: exact limits, staleness hand traces, the SSP bound."""

import numpy as np
import pytest
import simpy

from netsim.collectives import Communicator, get_algorithm
from netsim.network import make_network
from netsim.topology import Router, star
from netsim.training import (
    BatchSampler,
    ComputeModel,
    ScheduledOptimizer,
    make_classification,
    make_dataset,
    make_model,
    make_optimizer,
    make_schedule,
    shard,
)
from netsim.training.asp import AsyncStepLog, start_asp, start_ssp
from netsim.training.buckets import plan_buckets
from netsim.training.job import TrainingJob
from netsim.training.sync import Exchange, start_bsp

STEPS = 20
COMPUTE = 1e-3  # s per step of a normal worker
B, L = 1.25e9, 1e-6  # star: bytes/s and seconds per link; host-to-host alpha = 2L


def make_job(p, steps=STEPS, lr=0.3, momentum=0.0, slowdown=None, optimizer=None, seed=0):
    rng = np.random.default_rng(seed)
    data = make_classification(2000, 10, 3, rng)
    model = make_model("logistic", 10, 3)
    shards = shard(len(data.y_train), p, "random", np.random.default_rng(seed + 1))
    sampler_seeds = np.random.SeedSequence(seed + 2).spawn(p)
    if optimizer is None:
        optimizer = lambda: make_optimizer("sgd", lr=lr, momentum=momentum, nesterov=momentum > 0)  # noqa: E731
    job = TrainingJob(
        model=model,
        dataset=data,
        shards=shards,
        batch_size=16,
        steps=steps,
        compute=ComputeModel(step_time=COMPUTE, slowdown=slowdown),
        make_optimizer=optimizer,
        initial_params=model.init_params(np.random.default_rng(seed + 3)),
        sampler_rngs=[np.random.default_rng(s) for s in sampler_seeds],
    )
    return job, sampler_seeds


def make_comm(ranks):
    graph = star(ranks, B, L)
    env = simpy.Environment()
    comm = Communicator(
        env, make_network("flow", env, graph, Router(graph)), graph.graph["hosts"][:ranks]
    )
    return env, comm


def ps_exchange(job):
    return Exchange(
        get_algorithm("parameter_server"), plan_buckets(job.model.tensors(), 8, None, None)
    )


def run_asp(job, ssp=None) -> tuple[AsyncStepLog, float]:
    env, comm = make_comm(job.workers + 1)
    log = start_asp(env, comm, job, ps_exchange(job), ssp=ssp)
    env.run()
    return log, env.now


def run_bsp(job):
    env, comm = make_comm(job.workers + 1)
    log = start_bsp(env, comm, job, ps_exchange(job))
    env.run()
    return log, env.now


def rows(log, worker):
    return sorted((r for r in log.worker_rows if r["worker"] == worker), key=lambda r: r["step"])


def column(log, worker, key):
    return [r[key] for r in rows(log, worker)]


# ------------------------------------------------------------------ one worker
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_one_worker_is_sequential_sgd(momentum):
    job, seeds = make_job(1, momentum=momentum)
    log, _ = run_asp(job)
    sampler = BatchSampler(job.shards[0], job.batch_size, np.random.default_rng(seeds[0]))
    params, optimizer = job.initial_params.copy(), job.make_optimizer()
    for step in range(STEPS):
        batch = sampler.next_batch()
        _, grad = job.model.loss_and_grad(
            params, job.dataset.X_train[batch], job.dataset.y_train[batch]
        )
        params = optimizer.step(params, grad)
        assert log.evals[step] == job.evaluate(params)
    np.testing.assert_array_equal(log.final_params, params)
    assert not np.allclose(params, job.initial_params)
    assert column(log, 0, "staleness") == [0] * STEPS
    assert column(log, 0, "version") == list(range(STEPS))


def test_one_worker_step_time_is_a_parameter_server_step():
    """Push then pull: ``compute + 2(α + nβ)`` like BSP's server; the last step only pushes."""
    job, _ = make_job(1)
    log, now = run_asp(job)
    bsp_log, _ = run_bsp(make_job(1)[0])
    alpha, n = 2 * L, job.model_bytes
    for mine, theirs in zip(rows(log, 0)[:-1], bsp_log.worker_rows, strict=False):
        assert mine["end_s"] - mine["start_s"] == pytest.approx(
            theirs["end_s"] - theirs["start_s"], rel=1e-12
        )
        assert mine["comm_s"] == pytest.approx(2 * (alpha + n / B), rel=1e-9)
        assert mine["bytes_sent"] == n
    last = rows(log, 0)[-1]
    assert last["comm_s"] == pytest.approx(alpha + n / B, rel=1e-9)
    assert now == pytest.approx(last["end_s"])
    assert log.server_bytes == dict.fromkeys(range(STEPS - 1), float(n))


# ------------------------------------------------------------------ staleness
@pytest.mark.parametrize("p", [2, 3, 4, 8])
def test_equal_compute_staleness_hand_trace(p):
    """Hand trace, equal compute: all push version-0 gradients at once and they are applied
    in turn (staleness 0, 1, …, p−1); each worker's pull follows its own push, so worker in
    position j reads version j+1; next round everyone again lands together and the one in
    position j sees version p + j: staleness p − 1 for every later gradient."""
    job, _ = make_job(p)
    log, _ = run_asp(job)
    staleness = [u.staleness for u in log.updates]
    assert len(staleness) == p * STEPS
    assert staleness[:p] == list(range(p))
    assert staleness[p:] == [p - 1] * (p * (STEPS - 1))
    assert sorted(r["staleness"] for r in log.worker_rows if r["step"] == 0) == list(range(p))
    for r in log.worker_rows:
        if r["step"] > 0:
            assert r["staleness"] == p - 1
    # every row's (version + staleness) is the update's position: a permutation of all updates
    positions = sorted(r["version"] + r["staleness"] for r in log.worker_rows)
    assert positions == list(range(p * STEPS))


def test_straggler_gradients_are_the_stale_ones():
    """Worker 3 computes 4× slower. While it computes one gradient the three fast workers
    apply 3 × 4 = 12 updates (9 for its first: they started together), so ITS gradients
    are the stale ones; a fast worker's gradient sees the other two fast workers (2) plus
    the straggler's update in one step of four (3): staleness drops below the
    equal-compute p − 1 = 3. After the fast workers finish the straggler is alone (0)."""
    job, _ = make_job(4, slowdown={3: 4.0})
    log, _ = run_asp(job)
    fast_end = max(r["end_s"] for r in log.worker_rows if r["worker"] < 3)
    for w in range(3):
        later = column(log, w, "staleness")[1:]
        assert set(later) == {2, 3}
        assert np.mean(later) < 3
    slow = rows(log, 3)
    assert slow[0]["staleness"] == 9
    while_fast = [r["staleness"] for r in slow[1:] if r["applied_s"] + 2 * COMPUTE < fast_end]
    assert len(while_fast) >= 3 and set(while_fast) == {12}
    alone = [r["staleness"] for r in slow if r["start_s"] > fast_end]
    assert alone and set(alone) == {0}
    assert min(r["staleness"] for r in slow if r["applied_s"] < fast_end) > max(
        r["staleness"] for r in log.worker_rows if r["worker"] < 3
    )


# ------------------------------------------------------------------ SSP
def ssp_violations(log, p, s):
    """Rows whose gradient was computed while some other worker was more than ``s`` steps behind.

    Worker ``w`` computing its step ``k`` has clock ``k``; every other worker ``j`` must have
    clock ``>= k − s``, i.e. its update of step ``k − s − 1`` is among the ``version``
    updates the parameters contain (an update's index is ``version + staleness``).
    """
    index = {(r["worker"], r["step"]): r["version"] + r["staleness"] for r in log.worker_rows}
    bad = []
    for r in log.worker_rows:
        needed = r["step"] - s - 1
        if needed < 0:
            continue
        for j in range(p):
            if j != r["worker"] and index[(j, needed)] >= r["version"]:
                bad.append((r["worker"], r["step"], j))
    return bad


@pytest.mark.parametrize("s", [0, 1, 2, 3])
def test_ssp_bound_holds_on_every_step(s):
    p = 4
    job, _ = make_job(p, slowdown={2: 2.0, 3: 4.0})
    log, _ = run_asp(job, ssp=s)
    assert ssp_violations(log, p, s) == []
    assert len(log.worker_rows) == p * STEPS and len(log.updates) == p * STEPS
    # the bound binds: fast workers do wait, and the check itself can fail (ASP breaks it)
    assert max(r["wait_s"] for r in log.worker_rows) > 0
    asp, _ = run_asp(make_job(p, slowdown={2: 2.0, 3: 4.0})[0])
    assert len(ssp_violations(asp, p, s)) > 0
    assert all(r["wait_s"] == 0 for r in asp.worker_rows)


def test_ssp_zero_paces_like_a_barrier():
    p, slow = 4, 4.0
    job, _ = make_job(p, slowdown={3: slow})
    log, now = run_asp(job, ssp=0)
    applied = {(r["worker"], r["step"]): r["applied_s"] for r in log.worker_rows}
    for step in range(STEPS):
        starts = [r["start_s"] for r in log.worker_rows if r["step"] == step]
        assert max(starts) - min(starts) < 1e-12
        if step:
            assert min(starts) >= max(applied[(w, step - 1)] for w in range(p))
        # a round's gradients all read the same parameters and land fast workers first
        assert sorted(r["staleness"] for r in log.worker_rows if r["step"] == step) == list(
            range(p)
        )
        assert rows(log, 3)[step]["staleness"] == p - 1
    # the pace is the straggler's, as with BSP (which differs only by the server's replies)
    bsp, bsp_now = run_bsp(make_job(p, slowdown={3: slow})[0])
    assert now == pytest.approx(bsp_now, rel=1e-2)
    asp, _ = run_asp(make_job(p, slowdown={3: slow})[0])
    assert max(r["end_s"] for r in asp.worker_rows if r["worker"] < 3) < now / 3


@pytest.mark.parametrize("schedule", [None, "step"])
def test_ssp_zero_sgd_is_bsp_with_p_times_the_learning_rate(schedule):
    """A round of SSP(0) applies p gradients computed on the same parameters, one after
    another: ``x − lr Σ g_i`` = one BSP step with learning rate ``p · lr`` (momentum-free);
    a learning-rate schedule is indexed by the round, i.e. BSP's step."""
    p, lr = 4, 0.1

    def optimizer(scale):
        def make():
            sgd = make_optimizer("sgd", lr=scale * lr)
            if schedule is None:
                return sgd
            return ScheduledOptimizer(
                sgd, make_schedule("step", scale * lr, decay_every=5, decay_factor=0.5)
            )

        return make

    job, _ = make_job(p, optimizer=optimizer(1))
    log, _ = run_asp(job, ssp=0)
    bsp, _ = run_bsp(make_job(p, optimizer=optimizer(p))[0])
    np.testing.assert_allclose(log.final_params, bsp.final_params, rtol=0, atol=1e-10)
    for step in range(STEPS):
        assert log.evals[step][0] == pytest.approx(bsp.evals[step][0], rel=1e-9)
    assert not np.allclose(log.final_params, job.initial_params)


def test_start_ssp_defaults_to_bound_zero():
    job, _ = make_job(4, slowdown={3: 4.0})
    env, comm = make_comm(5)
    log = start_ssp(env, comm, job)
    env.run()
    reference, _ = run_asp(make_job(4, slowdown={3: 4.0})[0], ssp=0)
    np.testing.assert_array_equal(log.final_params, reference.final_params)


# ------------------------------------------------------------------ logs and errors
def test_rows_evaluations_and_bytes():
    p = 4
    job, _ = make_job(p)
    log, now = run_asp(job)
    assert len(log.worker_rows) == p * STEPS
    for r in log.worker_rows:
        assert r["end_s"] - r["start_s"] == pytest.approx(r["compute_s"] + r["comm_s"], rel=1e-12)
        assert r["comm_busy_s"] == pytest.approx(r["comm_s"]) and r["wait_s"] == 0
        assert r["start_s"] + r["compute_s"] < r["applied_s"] <= r["end_s"]
        assert r["bytes_sent"] == job.model_bytes
    assert sorted(log.evals) == list(range(STEPS)) == sorted(log.eval_times)
    # evals[k] is taken when update (k + 1)·p is applied
    for k, t in log.eval_times.items():
        assert t == log.updates[(k + 1) * p - 1].time
    table = log.steps_table()
    assert [row["step"] for row in table] == list(range(STEPS))
    assert table[0]["bytes_sent"] == pytest.approx(2 * p * job.model_bytes)
    assert max(r["end_s"] for r in log.worker_rows) == pytest.approx(now)


def test_errors():
    job, _ = make_job(2)
    env, comm = make_comm(2)
    with pytest.raises(ValueError, match="needs 3 ranks"):
        start_asp(env, comm, job, ps_exchange(job))
    env, comm = make_comm(3)
    with pytest.raises(ValueError, match="ssp"):
        start_asp(env, comm, job, ps_exchange(job), ssp=-1)


# ------------------------------------------------------------------ convergence
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


@pytest.mark.parametrize("ssp", [None, 0, 2])
def test_asp_and_ssp_reduce_the_held_out_loss(ssp):
    job = default_task_job()
    initial_loss, initial_accuracy = job.evaluate(job.initial_params)
    log, _ = run_asp(job, ssp=ssp)
    assert sorted(log.evals) == [4, 9, 14, 19, 24, 29]
    final_loss, final_accuracy = log.evals[29]
    assert final_loss < 0.7 * initial_loss
    assert final_accuracy > initial_accuracy
    assert log.evals[29] == job.evaluate(log.final_params)
