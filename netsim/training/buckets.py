"""DDP-style gradient buckets and the simulated time at which each becomes ready.

PyTorch DDP groups parameter tensors into buckets in REVERSE layer order (gradients of
the last layers are produced first by the backward pass), capping each bucket at
``bucket_size`` bytes (25 MiB by default) except the first, capped at
``first_bucket_size`` (1 MiB) so communication starts early. A tensor is never split:
one larger than the cap gets a bucket of its own. A bucket's collective may start as
soon as every gradient in it is ready.

Compute model of one step of ``T`` seconds (the "6N" rule): forward ``T/3``, backward
``2T/3`` spread over the tensors in reverse order in proportion to their sizes. The
gradient of a tensor is ready when the backward pass has gone through it.

Examples
--------
>>> plan = plan_buckets([("W", 300), ("b", 3)], itemsize=8, bucket_size=1000, first_bucket_size=100)
>>> [(b.start, b.stop) for b in plan]
[(300, 303), (0, 300)]
>>> [round(b.ready_fraction, 6) for b in plan]
[0.339934, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bucket", "plan_buckets", "FORWARD_FRACTION"]

FORWARD_FRACTION = 1.0 / 3.0
"""Share of a step's compute time spent in the forward pass (2N of 6N FLOPs)."""


@dataclass(frozen=True)
class Bucket:
    """A contiguous slice ``[start, stop)`` of the flat gradient, in elements.

    ``ready_fraction`` is the fraction of the step's compute time after which every
    gradient in the bucket is ready (1.0 for the bucket holding the first layer).
    """

    start: int
    stop: int
    ready_fraction: float

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.stop - self.start


def plan_buckets(
    tensors: Sequence[tuple[str, int]],
    itemsize: int,
    bucket_size: float | None,
    first_bucket_size: float | None = None,
) -> list[Bucket]:
    """Group tensors (forward order) into buckets in reverse order, DDP-style.

    Parameters
    ----------
    tensors : sequence of (name, elements)
        Parameter tensors in forward order, tiling the flat vector.
    itemsize : int
        Bytes per element (8 for float64).
    bucket_size : float or None
        Cap in bytes; ``None`` or ``0`` puts everything in one bucket.
    first_bucket_size : float, optional
        Cap of the first bucket in bytes (defaults to ``bucket_size``).

    Returns
    -------
    list of Bucket
        In communication order (last layers first); together they cover the vector.
    """
    offsets, start = [], 0
    for _, count in tensors:
        offsets.append((start, start + int(count)))
        start += int(count)
    total = start
    if total == 0:
        return []
    if not bucket_size:
        return [Bucket(0, total, 1.0)]
    first_cap = first_bucket_size if first_bucket_size else bucket_size
    buckets: list[Bucket] = []
    backward_done = 0  # elements the backward pass has gone through
    current: list[tuple[int, int]] = []
    current_bytes = 0.0

    def close() -> None:
        lo, hi = current[-1][0], current[0][1]
        fraction = FORWARD_FRACTION + (1 - FORWARD_FRACTION) * backward_done / total
        buckets.append(Bucket(lo, hi, fraction))

    for lo, hi in reversed(offsets):
        cap = first_cap if not buckets else bucket_size
        nbytes = (hi - lo) * itemsize
        if current and current_bytes + nbytes > cap:
            close()
            current, current_bytes = [], 0.0
        current.append((lo, hi))
        current_bytes += nbytes
        backward_done += hi - lo
    close()
    return buckets
