"""auto: the documented size/rank table, and it runs what it chooses."""

import numpy as np
import pytest

from netsim.collectives import get_algorithm, simulate_collective
from netsim.collectives.auto import LARGE_MESSAGE, SMALL_MESSAGE, choose
from netsim.topology import star


@pytest.mark.parametrize(
    ("nbytes", "ranks", "expected"),
    [
        (1, 8, "recursive_doubling"),
        (SMALL_MESSAGE, 8, "recursive_doubling"),
        (SMALL_MESSAGE + 1, 8, "rabenseifner"),
        (LARGE_MESSAGE, 8, "rabenseifner"),
        (LARGE_MESSAGE + 1, 8, "ring_allreduce"),
        (SMALL_MESSAGE + 1, 6, "ring_allreduce"),
        (SMALL_MESSAGE, 6, "recursive_doubling"),
        (1e9, 1, "ring_allreduce"),
    ],
)
def test_table(nbytes, ranks, expected):
    assert choose(nbytes, ranks) == expected


@pytest.mark.parametrize("nbytes", [1e3, 1e6, 1e8])
def test_auto_takes_the_time_of_its_choice(nbytes):
    graph = star(8, 1.25e10, 2e-6)
    auto = simulate_collective(graph, "auto", nbytes=nbytes)
    chosen = simulate_collective(graph, choose(nbytes, 8), nbytes=nbytes)
    assert auto.time == chosen.time
    predicted = get_algorithm("auto").predict(8, nbytes, 4e-6, 1 / 1.25e10)
    assert auto.time == pytest.approx(predicted, rel=1e-9)


def test_auto_sums_exactly():
    rng = np.random.default_rng(0)
    data = [rng.standard_normal(1000) for _ in range(5)]
    run = simulate_collective(star(5, 1e9, 1e-6), "auto", data)
    for out in run.outputs:
        np.testing.assert_allclose(out, np.sum(data, axis=0), rtol=1e-12)
