"""How latency is measured and predicted: every number of the harness, the lookup table and the predictor."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from nasgen.frozen import Frozen

Runtime = Literal["eager", "onnx"]
Precision = Literal["fp32", "bf16"]


class TimingConfig(Frozen):
    """One latency measurement: ``warmup`` untimed calls, then the median (and spread) of ``repeats`` timed ones,
    at ``batch`` images, ``threads`` intra-op threads (CPU), in ``precision`` on ``runtime``."""

    batch: int = Field(1, ge=1)
    # one thread: on a shared 2-core VM a sub-millisecond network's median moves by up to 50% between runs at 2
    # threads (thread wake-ups), under 1% at 1 (measured; docs/latency.md), as nn-Meter's CPU predictor times one
    threads: int = Field(1, ge=1)
    warmup: int = Field(5, ge=0)
    repeats: int = Field(30, ge=3)
    precision: Precision = "fp32"
    runtime: Runtime = "eager"


class LatencyTableConfig(Frozen):
    """The operation-level lookup table of one device (stage ``latency_table``): every one of the 28 operations
    at every resolution a network of the input reaches, and the stem, projections and head, each at the
    ``channels`` grid (latency between grid points interpolated as a power law: log-linear in log channels)."""

    SECTION: ClassVar[str] = "latency_table"

    timing: TimingConfig = TimingConfig(repeats=10, warmup=3)
    channels: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512, 1024)

    @field_validator("channels")
    @classmethod
    def _grid(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if len(v) < 2 or list(v) != sorted(set(v)) or v[0] < 1:
            raise ValueError("channels needs >= 2 distinct positive widths in increasing order")
        return v


class LatencyModelConfig(Frozen):
    """The whole-network predictor (stage ``latency_model``): the table's sum plus a learnt linear correction,
    fitted on ``networks`` random networks of the macro space measured whole (each with its own widest width,
    log-uniform in [8, ``max_channels``], so small and large networks are both seen), of which ``holdout`` are
    kept out of the fit to validate it."""

    SECTION: ClassVar[str] = "latency_model"

    timing: TimingConfig = TimingConfig(repeats=15, warmup=3)
    networks: int = Field(240, ge=4)
    holdout: float = Field(0.5, gt=0, lt=1)
    max_layers: int = Field(12, ge=1, le=20)
    max_channels: int = Field(256, ge=8)  # random networks' widest position (the real-task budgets' range)
    seed: int = 0
