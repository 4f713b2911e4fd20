"""Accelerator presets: peak FLOP/s and the fraction of it transformer kernels reach.

A device computes ``FLOPs / (peak_flops × efficiency)`` seconds. ``efficiency`` is the
compute-only model-FLOPs utilisation of the kernels (matrix multiplies, attention); the
MFU a simulated step reports is lower, by the exposed communication and the pipeline
bubble. MFU follows Chowdhery et al. (2022, PaLM): model FLOPs per step (no
recomputation) over step time × devices × peak.

Examples
--------
>>> a100 = DEVICES["A100"]
>>> a100.rate == 312e12 * a100.efficiency
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Device", "DEVICES"]


@dataclass(frozen=True)
class Device:
    """A GPU model for size-only compute.

    Attributes
    ----------
    name : str
        Preset name.
    peak_flops : float
        Dense bf16/fp16 tensor-core peak, FLOP/s.
    efficiency : float
        Fraction of the peak the model's kernels sustain (0 < efficiency <= 1).
    """

    name: str
    peak_flops: float
    efficiency: float

    @property
    def rate(self) -> float:
        """Sustained FLOP/s: ``peak_flops × efficiency``."""
        return self.peak_flops * self.efficiency

    def seconds(self, flops: float) -> float:
        """Time to compute ``flops`` FLOPs, seconds."""
        return flops / self.rate


DEVICES: dict[str, Device] = {
    # A100 SXM: 312 TFLOP/s dense bf16 (NVIDIA A100 datasheet). Large transformer GEMMs
    # sustain ~70 % of it; Megatron-LM reaches 52 % end to end on GPT-3 175B with its
    # communication and bubble included (Narayanan et al., 2021).
    "A100": Device("A100", 312e12, 0.7),
    # H100 SXM: 989 TFLOP/s dense bf16 (NVIDIA H100 datasheet); kernels sustain ~60 % of it
    # (published H100 LLM training runs report 40-50 % MFU end to end).
    "H100": Device("H100", 989e12, 0.6),
}
"""Device presets by name (``workload.device``)."""
