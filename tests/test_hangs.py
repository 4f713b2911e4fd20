"""No hang, ever: deadlocks, stalls and the [run] guards end with a SimulationError."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest

import netsim.guards
import netsim.runner
from netsim import guards
from netsim.cli import main
from netsim.collectives import Communicator, algorithm_names, get_algorithm
from netsim.exceptions import ScenarioError, SimulationError
from netsim.guards import TrackedEnvironment, run_guarded, steps_done
from netsim.network import make_network
from netsim.runner import simulate
from netsim.scenario import scenario_from_dict
from netsim.topology import Router, star

DOC = {
    "seed": 3,
    "topology": {"kind": "star", "hosts": 4, "bandwidth": "10Gbps", "latency": "2us"},
    "training": {"steps": 20, "samples": 512, "features": 4, "classes": 2, "batch_size": 8},
    "compute": {"step_time": "1ms"},
}


def _doc(**tables) -> dict:
    doc = {key: dict(value) if isinstance(value, dict) else value for key, value in DOC.items()}
    for table, values in tables.items():
        doc[table] = {**doc.get(table, {}), **values}
    return doc


def _world(hosts: int = 4):
    graph = star(hosts, "10Gbps", "1us")
    env = TrackedEnvironment()
    network = make_network("flow", env, graph, Router(graph))
    return env, Communicator(env, network, list(graph.graph["hosts"]))


def test_doctests():
    assert doctest.testmod(netsim.guards, optionflags=doctest.ELLIPSIS).failed == 0


# --- deadlocks ---------------------------------------------------------------------------


def test_collective_missing_a_rank_is_a_deadlock_naming_who_waits_for_whom():
    env, comm = _world()
    ring = get_algorithm("ring_allreduce", "allreduce")

    def worker(rank):
        for step in range(3):
            yield env.timeout(1e-3)
            if rank == 2 and step == 1:
                continue  # rank 2 never calls the second allreduce
            yield from ring.run(comm, rank, np.ones(64))

    for rank in range(4):
        env.process(worker(rank))
    with pytest.raises(SimulationError) as info:
        run_guarded(env, comm=comm)
    message = str(info.value)
    assert message.startswith("deadlock at t = ")
    assert "\n" not in message
    assert "rank 3 (in ring_reduce_scatter_chunks) waits for a message from rank 2 (tag " in message
    assert "not waiting (finished or never started): rank 2" in message
    assert comm.pending_messages() > 0


@pytest.mark.parametrize("name", ["ring_allreduce", "recursive_doubling", "rabenseifner", "binomial_tree", "double_binary_tree", "hierarchical"])
def test_every_collective_deadlock_is_reported(name):
    env, comm = _world()
    algorithm = get_algorithm(name, "allreduce")
    options = {"group_size": 2} if name == "hierarchical" else {}

    def worker(rank):
        if rank == 1:
            return  # never joins
        yield from algorithm.run(comm, rank, np.ones(10), **options)

    for rank in range(4):
        env.process(worker(rank))
    with pytest.raises(SimulationError, match=r"^deadlock at t = .*waits for .*rank 1"):
        run_guarded(env, comm=comm)


def test_deadlock_inside_simulate_names_workers_hosts_and_step(monkeypatch):
    ring = get_algorithm("ring_allreduce", "allreduce")
    calls = [0] * 4

    def skipping(comm, rank, data=None, nbytes=None, **options):
        calls[rank] += 1
        if rank == 2 and calls[rank] == 2:  # worker 2 skips its second allreduce
            return data
        return (yield from ring.run(comm, rank, data, nbytes, **options))

    broken = dataclasses.replace(ring, run=skipping)
    monkeypatch.setattr(netsim.runner, "get_algorithm", lambda name, operation: broken)
    with pytest.raises(SimulationError) as info:
        simulate(scenario_from_dict(_doc(training={"steps": 5})))
    message = str(info.value)
    assert message.startswith("deadlock at t = ")
    assert "after 4 of 5 steps" in message
    assert "worker 0 on h0" in message and "waits for a message from worker" in message
    assert "not waiting (finished or never started): worker 2 on h2" in message


def test_a_process_waiting_for_an_event_nobody_triggers_is_a_permanent_stall():
    env, comm = _world()

    def stuck(rank):
        yield env.timeout(0.5)
        yield env.event()

    env.process(stuck(1))
    with pytest.raises(SimulationError, match=r"deadlock at t = 500 ms: .*rank 1 \(in stuck\) waits for an event nobody triggers \(Event\)"):
        run_guarded(env, comm=comm)


def test_waiting_on_a_stuck_subprocess_names_the_chain():
    env, _comm = _world()

    def inner(rank):
        yield env.event()

    def outer(rank):
        yield env.process(inner(rank))

    env.process(outer(3))
    with pytest.raises(SimulationError, match=r"rank 3 \(in inner\) waits for an event nobody triggers"):
        run_guarded(env)


def test_zero_time_loop_is_a_stall():
    env = TrackedEnvironment()

    def spin():
        while True:
            yield env.timeout(0)

    env.process(spin())
    with pytest.raises(SimulationError, match=r"stalled at t = 0 s: \d+ events without simulated time advancing"):
        run_guarded(env, stall_events=5_000)


@pytest.mark.parametrize("limit", [None, 10.0])
def test_simulated_time_overflowing_to_infinity_is_an_error(limit):
    env = TrackedEnvironment()

    def forever():
        yield env.timeout(1)
        yield env.timeout(float("inf"))  # e.g. bytes / a bandwidth of 5e-324 bytes/s
        yield env.timeout(1)

    env.process(forever())
    with pytest.raises(SimulationError, match=r"^simulated time became inf: a duration overflowed; check extreme values"):
        run_guarded(env, max_sim_time=limit)


def test_a_driver_that_stops_early_is_reported():
    env = TrackedEnvironment()

    def short():
        yield env.timeout(1)

    env.process(short())
    with pytest.raises(SimulationError, match="ended at t = 1 s after 1 of 3 steps, although no process waits"):
        run_guarded(env, progress=lambda: (1, 3))


def test_steps_done_counts_steps_every_worker_finished():
    rows = [{"worker": w, "step": s} for s in range(3) for w in range(2)] + [{"worker": 0, "step": 3}]
    assert steps_done(rows, 2) == 3
    assert steps_done([], 2) == 0


def test_finished_processes_are_pruned():
    env = TrackedEnvironment()

    def brief():
        yield env.timeout(1)

    for _ in range(5000):
        env.process(brief())
        env.run()
    assert len(env.processes) < 2100
    assert env.alive() == []


# --- limits -------------------------------------------------------------------------------


def test_max_sim_time_stops_before_the_first_later_event():
    with pytest.raises(SimulationError) as info:
        simulate(scenario_from_dict(_doc(run={"max_sim_time": "5ms"})))
    message = str(info.value)
    assert message.startswith("run.max_sim_time = 5 ms reached after ")
    assert "of 20 steps" in message and "raise run.max_sim_time" in message


def test_max_sim_time_on_a_process_that_never_ends():
    env = TrackedEnvironment()

    def heartbeat():
        while True:
            yield env.timeout(1)

    env.process(heartbeat())
    with pytest.raises(SimulationError, match=r"run.max_sim_time = 10 s reached \(the next event is at t = 11 s\)"):
        run_guarded(env, max_sim_time=10)
    assert env.now == 10


def test_max_wall_time_stops_a_run_that_never_ends(monkeypatch):
    # A fake clock that advances 0.25 s (exact in binary) per reading: deterministic,
    # and no wall time is read.
    readings = []

    def fake_clock():
        readings.append(None)
        return 0.25 * len(readings)

    monkeypatch.setattr(guards.time, "perf_counter", fake_clock)
    env = TrackedEnvironment()

    def heartbeat():
        while True:
            yield env.timeout(1)

    env.process(heartbeat())
    with pytest.raises(SimulationError, match=r"run.max_wall_time = 200 ms reached \(simulated time .*\); raise run.max_wall_time"):
        run_guarded(env, max_wall_time=0.2)
    # the start reading (0.25 s), then the check after the first batch of CHECK_EVERY
    # events reads 0.5 s > 0.25 + 0.2: the run stops there, after the process start and
    # CHECK_EVERY - 1 heartbeats
    assert len(readings) == 2
    assert env.now == guards.CHECK_EVERY - 1


def test_max_wall_time_in_simulate():
    with pytest.raises(SimulationError, match=r"^run.max_wall_time = 1 ns reached after \d+ of 20 steps"):
        simulate(scenario_from_dict(_doc(run={"max_wall_time": "1ns"})))


def test_limits_that_are_not_reached_change_nothing():
    plain = simulate(scenario_from_dict(_doc()))
    limited = simulate(scenario_from_dict(_doc(run={"max_sim_time": "1h", "max_wall_time": 600})))
    a, b = plain.deterministic_summary(), limited.deterministic_summary()
    assert a == b
    assert limited.scenario["run"] == {"max_sim_time": 3600.0, "max_wall_time": 600.0}


def test_max_sim_time_exactly_at_the_end_is_not_an_error():
    end = simulate(scenario_from_dict(_doc())).summary["sim_time_s"]
    again = simulate(scenario_from_dict(_doc(run={"max_sim_time": end})))
    assert again.summary["sim_time_s"] == end


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (-1, r"^run.max_sim_time: .*must not be negative"),
        (0, r"^run.max_sim_time: must be positive"),
        ("10 parsecs", r"^run.max_sim_time: unknown unit 'parsecs'"),
        ([1], r"^run.max_sim_time: "),
        (float("nan"), r"^run.max_sim_time: .*finite"),
    ],
)
def test_bad_limits_name_the_field(value, match):
    with pytest.raises(ScenarioError, match=match):
        scenario_from_dict(_doc(run={"max_sim_time": value}))


def test_unknown_run_key_gets_a_hint():
    with pytest.raises(ScenarioError, match=r"unknown key 'run.max_time' \(did you mean 'max_sim_time'\?\)|unknown key 'run.max_time'.*max_sim_time"):
        scenario_from_dict(_doc(run={"max_time": 1}))


def test_cli_reports_a_limit_in_one_line(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(
        '[topology]\nhosts = 4\n[training]\nsteps = 20\nsamples = 512\nfeatures = 4\nclasses = 2\nbatch_size = 8\n'
        '[compute]\nstep_time = "1ms"\n'
    )
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "--out", str(tmp_path / "out"), "--set", "run.max_sim_time=3ms"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run.max_sim_time = 3 ms reached after ")
    assert err.count("\n") == 1
    assert not (tmp_path / "out" / "summary.json").exists()


# --- no false alarms ------------------------------------------------------------------------


ALLREDUCE = algorithm_names("allreduce")


@pytest.mark.parametrize("name", ALLREDUCE)
def test_every_allreduce_algorithm_finishes_without_a_false_deadlock(name):
    hosts = 5 if get_algorithm(name, "allreduce").kind == "parameter_server" else 4
    doc = _doc(topology={"hosts": hosts}, communication={"algorithm": name}, training={"steps": 3})
    result = simulate(scenario_from_dict(doc))
    assert result.summary["steps"] == 3


@pytest.mark.parametrize("sync", ["bsp", "asp", "ssp", "local_sgd", "gossip"])
def test_every_sync_scheme_finishes_without_a_false_deadlock(sync):
    hosts = 5 if sync in ("asp", "ssp") else 4
    doc = _doc(topology={"hosts": hosts}, training={"steps": 3, "sync": sync})
    assert simulate(scenario_from_dict(doc)).summary["steps"] == 3
