"""Showcase scenarios/multi_dc_hierarchical.toml: hierarchical vs flat ring across a 1,000 km WAN.

Every expected time below is computed by hand from alpha-beta hop times (REFERENCES §1-2):
a hop of ``c`` bytes over a route of latency ``α`` and bottleneck ``B`` takes ``α + c/B``.

Setup: 2 datacenters (stars) of ``a = 4`` workers, ``p = 8``; LAN links 100 Gbps and 1 µs
(a LAN route host-switch-host: ``α_L = 2 µs``); WAN 1,000 km = 5 ms one way, so a WAN
route host-switch-switch-host has ``α_W = 2 µs + 5 ms``. The gradient is ``n = 32,784 × 8``
bytes (float64), one bucket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import netsim

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "multi_dc_hierarchical.toml"

A, P = 4, 8
PARAMS = 32_784
N = PARAMS * 8  # bytes of the float64 gradient
B_LAN = 100e9 / 8
ALPHA_LAN = 2e-6
ALPHA_WAN = 2e-6 + 1000 * 5e-6
COMPUTE = 6 * PARAMS * 32 / 100e9  # 6 FLOPs per parameter and sample, batch 32, 100 GFLOP/s


def run(algorithm: str, wan: str, steps: int):
    return netsim.simulate(
        SCENARIO,
        overrides=[f"communication.algorithm={algorithm}", f"topology.wan_bandwidth={wan}", f"training.steps={steps}"],
    )


def hierarchical_time(b_wan: float) -> float:
    """REFERENCES §2 2-D ring with b = 2 groups; the a cross-group rings share the WAN (β₂ = a/B_W)."""
    b = P // A
    return 2 * (A - 1) * (ALPHA_LAN + N / (A * B_LAN)) + 2 * (b - 1) * (ALPHA_WAN + N * (A / b_wan) / (A * b))


def ring_hops(b_wan: float) -> list[float]:
    """Time of the ring hop r -> r+1 for every rank r: ranks 3 and 7 cross the WAN."""
    c = N / P
    lan = ALPHA_LAN + c / B_LAN
    wan = ALPHA_WAN + c / min(B_LAN, b_wan)
    return [wan if r in (A - 1, P - 1) else lan for r in range(P)]


def ring_end_times(b_wan: float, steps: int) -> list[list[float]]:
    """End of every step of every worker for the asynchronous ring (max-plus recursion).

    Rank r sends its step-0 chunk when its allreduce starts (S_r), and its step-j chunk
    once it has sent step j-1 and received step j-1 from rank r-1; a chunk arrives one hop
    time after it is sent. The allreduce ends with the arrival of step 2(p-1)-1, and the
    worker's next step starts then (compute, then the next allreduce).
    """
    hop = ring_hops(b_wan)
    ends, finish = [], [0.0] * P
    for _ in range(steps):
        sent = [finish[r] + COMPUTE for r in range(P)]
        arrived = [0.0] * P
        for j in range(2 * (P - 1)):
            if j:
                sent = [max(sent[r], arrived[r]) for r in range(P)]
            arrived = [sent[(r - 1) % P] + hop[(r - 1) % P] for r in range(P)]
        finish = arrived
        ends.append(finish)
    return ends


@pytest.mark.parametrize("wan", ["100Gbps", "1Gbps"])
def test_hierarchical_step_is_the_alpha_beta_formula(wan):
    result = run("hierarchical", wan, steps=3)
    expected = hierarchical_time(float(wan[:-4]) * 1e9 / 8)
    assert result.workers["comm_s"].to_numpy() == pytest.approx([expected] * 3 * P, rel=1e-12)
    assert result.summary["sim_time_s"] == pytest.approx(3 * (COMPUTE + expected), rel=1e-12)


def test_first_ring_step_follows_its_slowest_chain():
    # Each chunk travels 2(p-1) = 14 hops around the 8-hop ring; the chain ending at rank
    # r starts at rank r + 2 and crosses the WAN 4 times (ranks 0, 1, 4, 5) or 3 times.
    hop = ring_hops(12.5e9)
    lan, wan = hop[0], hop[A - 1]
    result = run("ring_allreduce", "100Gbps", steps=1)
    comm = result.workers.sort_values("worker")["comm_s"].to_numpy()
    four = 4 * wan + (4 * A - 6) * lan
    three = 3 * wan + (4 * A - 5) * lan
    assert comm == pytest.approx([four, four, three, three, four, four, three, three], rel=1e-12)


def test_hierarchical_beats_the_flat_ring_by_the_formula():
    hierarchical = run("hierarchical", "100Gbps", steps=1).summary
    ring = run("ring_allreduce", "100Gbps", steps=1).summary
    hop = ring_hops(12.5e9)
    saving = 4 * hop[A - 1] + (4 * A - 6) * hop[0] - hierarchical_time(12.5e9)
    assert ring["sim_time_s"] - hierarchical["sim_time_s"] == pytest.approx(saving, rel=1e-9)
    # about two WAN latencies: the hierarchy crosses the WAN twice, the ring's slowest chain 4 times
    assert saving == pytest.approx(2 * ALPHA_WAN, rel=0.01)
    assert ring["final_loss"] == pytest.approx(hierarchical["final_loss"], rel=1e-9)


def test_ring_steps_over_the_whole_run_follow_the_recursion():
    # Ranks finishing early start the next step early: the ring alternates 4- and 3-crossing
    # chains per rank, so two steps take (4 + 3) WAN hops instead of 8.
    steps = 30
    result = run("ring_allreduce", "100Gbps", steps=steps)
    simulated = result.workers.pivot(index="step", columns="worker", values="end_s").to_numpy()
    expected = ring_end_times(12.5e9, steps)
    for row, want in zip(simulated, expected, strict=True):
        assert list(row) == pytest.approx(want, rel=1e-12)
    hierarchical = run("hierarchical", "100Gbps", steps=steps).summary["sim_time_s"]
    assert hierarchical == pytest.approx(steps * (COMPUTE + hierarchical_time(12.5e9)), rel=1e-12)
    assert result.summary["sim_time_s"] / hierarchical > 1.7


def test_at_1gbps_the_ring_is_slower_than_uncontended_and_the_hierarchy_exact():
    # A chunk's WAN transmission (262 us) now outlasts a LAN hop, so a rank's successive
    # chunks share the WAN: the uncontended chain time is a lower bound (REFERENCES: with
    # contention the simulator is slower, never faster). The hierarchical time stays exact.
    b_wan = 1e9 / 8
    hop = ring_hops(b_wan)
    ring = run("ring_allreduce", "1Gbps", steps=1).summary
    hierarchical = run("hierarchical", "1Gbps", steps=1).summary
    assert ring["sim_time_s"] > COMPUTE + 4 * hop[A - 1] + (4 * A - 6) * hop[0]
    assert ring["sim_time_s"] >= COMPUTE + 2 * (P - 1) / P * N / b_wan + ALPHA_WAN  # the WAN's bytes
    assert hierarchical["sim_time_s"] == pytest.approx(COMPUTE + hierarchical_time(b_wan), rel=1e-12)
    assert ring["sim_time_s"] > 1.8 * hierarchical["sim_time_s"]
