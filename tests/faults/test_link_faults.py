"""Network faults on the flow model: rerouting, stalls, partitions, degradation, loss (hand-computed times)."""

from __future__ import annotations

import math

import pytest

from netsim.exceptions import ScenarioError, SimulationError
from tests.faults.helpers import B, L, leaf_spine, link_bytes, run_transfers, star

S = 1e6  # bytes of the transfer


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-18)


def test_no_fault_baseline_is_alpha_beta():
    (done,), _, _ = run_transfers(leaf_spine(), [], [("h0", "h1", S, 0.0)])
    assert close(done, S / B + 4 * L)


def test_link_failure_reroutes_over_the_other_spine():
    t = 4e-4
    (done,), net, injector = run_transfers(
        leaf_spine(), [{"kind": "link_down", "link": ["l0", "sa"], "time": t}], [("h0", "h1", S, 0.0)]
    )
    sent = B * t  # bytes sent at full rate before the failure
    lost = B * 4 * L  # in flight: rate x route latency
    left = S - sent
    # The rest and the lost bytes go over l0 - sb - l1 at B/2, then 4 hops of latency.
    assert close(done, t + (left + lost) / (B / 2) + 4 * L)
    # bytes conserved: what left h0 = the message + the resent in-flight bytes
    assert close(link_bytes(net, "h0", "l0"), S + lost)
    assert close(link_bytes(net, "l0", "sa"), sent)
    assert close(link_bytes(net, "l0", "sb"), left + lost)
    assert close(link_bytes(net, "l1", "h1"), S + lost)
    assert close(net.bytes_sent, S + lost)
    assert close(net.bytes_retransmitted, lost) and close(net.bytes_dropped, lost)
    (record,) = injector.log.records
    assert record.flows_moved == 1 and close(record.bytes_lost, lost) and close(record.bytes_resent, lost)
    assert record.end_s is None  # down for the rest of the run


def test_switch_down_fails_every_link_of_the_switch():
    t = 4e-4
    (done,), _, injector = run_transfers(leaf_spine(), [{"kind": "switch_down", "switch": "sa", "time": t}], [("h0", "h1", S, 0.0)])
    assert close(done, t + (S - B * t + B * 4 * L) / (B / 2) + 4 * L)
    assert injector.log.records[0].target == "sa"


def test_new_flows_avoid_a_failed_link_and_return_after_it_is_repaired():
    faults = [{"kind": "link_down", "link": ["sa", "l1"], "time": 0.0, "duration": "1ms"}]
    (during, after), _, injector = run_transfers(leaf_spine(), faults, [("h0", "h1", S, 1e-5), ("h0", "h1", S, 3e-3)])
    assert close(during, 1e-5 + S / (B / 2) + 4 * L)  # routed over sb from the start: nothing lost
    assert close(after, 3e-3 + S / B + 4 * L)  # the normal route again
    assert injector.log.records[0].bytes_lost == 0.0


@pytest.mark.parametrize("how", ["duration", "link_up"])
def test_no_alternative_path_stalls_until_the_link_returns(how):
    t1, outage = 3e-4, 5e-4
    down = {"kind": "link_down", "link": ["s0", "h1"], "time": t1}
    faults = [{**down, "duration": outage}] if how == "duration" else [down, {"kind": "link_up", "link": ["h1", "s0"], "time": t1 + outage}]
    (done,), net, injector = run_transfers(star(), faults, [("h0", "h1", S, 0.0)])
    lost = B * 2 * L
    # completion shifted by the outage and by the in-flight bytes sent again
    assert close(done, S / B + 2 * L + outage + lost / B)
    assert close(link_bytes(net, "s0", "h1"), S + lost)
    record = injector.log.records[0]
    assert close(record.end_s, t1 + outage) and record.flows_moved == 1 and record.flows_stalled == 1
    if how == "link_up":
        assert injector.log.records[1].kind == "link_up" and injector.log.records[1].effect


def test_a_transfer_started_during_an_outage_waits_for_the_repair():
    faults = [{"kind": "link_down", "link": ["s0", "h1"], "time": 0.0, "end": 2e-3}]
    (done,), _, injector = run_transfers(star(), faults, [("h0", "h1", S, 1e-3)])
    assert close(done, 2e-3 + S / B + 2 * L)
    (record,) = injector.log.records
    assert (record.flows_moved, record.flows_stalled) == (0, 1)
    assert record.detail == "0 flows crossing it re-routed or stalled; 1 flow waited for the repair"


def test_a_partition_that_never_heals_is_an_error_not_a_hang():
    faults = [{"kind": "link_down", "link": ["s0", "h1"], "time": 1e-4}]
    with pytest.raises(SimulationError, match=r"partition that never heals at t = 100 us: link .*s0.*down for good \(faults\[0\] link_down"):
        run_transfers(star(), faults, [("h0", "h1", S, 0.0)])
    # ... also for a flow that starts after the failure
    with pytest.raises(SimulationError, match="a new flow h0 → h1 has no other path"):
        run_transfers(star(), faults, [("h0", "h1", S, 5e-4)])


def test_a_deadlock_under_a_random_schedule_is_reported_not_run_forever():
    from types import SimpleNamespace

    import numpy as np

    from netsim.faults import build_faults, parse_faults
    from netsim.guards import TrackedEnvironment, run_guarded
    from netsim.network import FlowNetwork
    from netsim.topology import Router

    graph = star()
    env = TrackedEnvironment()
    network = FlowNetwork(env, graph, Router(graph))
    faults = parse_faults([{"kind": "link_down", "link": ["s0", "h1"], "mtbf": "1ms", "mttr": "100us"}])
    scenario = SimpleNamespace(faults=faults, network=SimpleNamespace(model="flow"), training=SimpleNamespace(checkpoint_every=None))
    injector = build_faults(scenario, env, network, graph, None, SimpleNamespace(workers=0), None, np.random.SeedSequence(0))

    def waits_forever(env):
        yield network.transfer("h0", "h1", 1e3)
        yield env.event()  # a bug: nobody triggers it

    injector.arm([env.process(waits_forever(env))])
    with pytest.raises(SimulationError, match=r"^deadlock at t = .*waits_forever.*waits for an event nobody triggers"):
        run_guarded(env)
    assert env.now < 0.1 and len(injector.log.records) <= 2


def test_link_up_of_a_link_that_is_not_down_has_no_effect():
    _, _, injector = run_transfers(star(), [{"kind": "link_up", "link": ["s0", "h1"], "time": 1e-4}], [("h0", "h1", S, 0.0)])
    (record,) = injector.log.records
    assert not record.effect and "not down" in record.detail
    assert injector.log.summary()["faults_injected"] == 0


def test_bandwidth_degradation_for_a_period():
    t1, t2 = 2e-4, 6e-4
    faults = [{"kind": "link_degrade", "link": ["h0", "s0"], "time": t1, "end": t2, "bandwidth_factor": 0.25}]
    (done,), _, _ = run_transfers(star(), faults, [("h0", "h1", S, 0.0)])
    sent = B * t1 + B / 4 * (t2 - t1)
    assert close(done, t2 + (S - sent) / B + 2 * L)


def test_absolute_bandwidth_and_latency_changes():
    faults = [{"kind": "link_degrade", "link": ["h0", "s0"], "time": 0.0, "bandwidth": "1Gbps", "latency_factor": 10}]
    (done,), net, _ = run_transfers(star(), faults, [("h0", "h1", S, 1e-5)])
    assert close(done, 1e-5 + S / 1.25e8 + 10 * L + L)  # the new latency applies to flows started after it
    assert close(float(net.capacity[net.link_index[("h0", "s0")]]), 1.25e8)


def test_loss_rate_period_costs_goodput_and_resent_bytes():
    p = 0.2
    (done,), net, injector = run_transfers(star(), [{"kind": "loss_rate", "link": ["s0", "h1"], "time": 0.0, "rate": p}], [("h0", "h1", S, 0.0)])
    assert close(done, S / ((1 - p) * B) + 2 * L)
    assert close(injector.log.records[0].bytes_resent, S * p / (1 - p))
    assert close(injector.log.summary()["bytes_resent"], S * p / (1 - p))
    assert close(net.bytes_sent, S + S * p / (1 - p))


def test_unknown_links_switches_and_models_are_scenario_errors():
    with pytest.raises(ScenarioError, match=r"faults\[0\]\.link: there is no link between 'h0' and 'h1'; 'h0' has: h0-s0"):
        run_transfers(star(), [{"kind": "link_down", "link": ["h0", "h1"], "time": 0}], [])
    with pytest.raises(ScenarioError, match=r"faults\[0\]\.links\[1\]: node 's0x' is not in the topology \(did you mean 's0'\?\)"):
        run_transfers(star(), [{"kind": "link_down", "links": [["h0", "s0"], ["s0x", "h1"]], "time": 0}], [])
    with pytest.raises(ScenarioError, match=r"faults\[0\]\.switch: 'h1' is a host; switches: s0"):
        run_transfers(star(), [{"kind": "switch_down", "switch": "h1", "time": 0}], [])


def test_mtbf_schedule_is_deterministic_per_seed():
    faults = [{"kind": "link_down", "links": [["l0", "sa"], ["sa", "l1"]], "mtbf": "300us", "mttr": "50us"}]
    transfers = [("h0", "h1", 5e6, 0.0)]

    def run(seed):
        done, _, injector = run_transfers(leaf_spine(), faults, transfers, seed=seed)
        return done, [(r.target, r.start_s, r.end_s, r.bytes_lost) for r in injector.log.records]

    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert first != other
    assert len(first[1]) >= 2 and {t for t, *_ in first[1]} == {"l0-sa", "sa-l1"}  # one schedule per link
