"""Parameter sweeps: grid/zip expansion over dotted keys, parallel runs, a resumable store.

>>> from netsim.sweep import expand
>>> runs = expand("scenarios/quickstart.toml", grid=["topology.bandwidth=1Gbps,10Gbps"],
...               zip=["topology.hosts=4,8", "training.workers=4,8"], repeat=2)  # doctest: +SKIP
>>> table = run_sweep("scenarios/quickstart.toml", grid=["topology.bandwidth=1Gbps,10Gbps"],
...                   jobs=2, out="runs/sweeps/demo")  # doctest: +SKIP

- :mod:`netsim.sweep.axes`: the ``key=v1,v2`` and ``START:STOP:STEP`` syntax.
- :mod:`netsim.sweep.spec`: :class:`Sweep` (a base scenario and its axes, from the
  command line or a ``[sweep]`` table), :func:`expand` into validated runs, :func:`run_id`.
- :mod:`netsim.sweep.execute`: :func:`run_sweep` in process, on a process pool or on Dask.
- :mod:`netsim.sweep.store`: run directories and the results table.
"""

from netsim.sweep.axes import parse_axis, parse_range, parse_values
from netsim.sweep.execute import SweepError, default_out_dir, run_sweep
from netsim.sweep.spec import Sweep, SweepRun, expand, load_sweep, run_id, sweep_from_dict
from netsim.sweep.store import read_summary, results_table

__all__ = [
    "Sweep",
    "SweepRun",
    "SweepError",
    "expand",
    "load_sweep",
    "sweep_from_dict",
    "run_sweep",
    "run_id",
    "default_out_dir",
    "parse_axis",
    "parse_values",
    "parse_range",
    "read_summary",
    "results_table",
]
