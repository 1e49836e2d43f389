"""How cells are sampled (stage `cells`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from nasgen.frozen import Frozen


class SamplerConfig(Frozen):
    """How random cells are drawn. Defaults favour larger cells: small op counts have few distinct cells
    (k=1: 56) and would mostly produce duplicates."""

    op_count_weights: tuple[float, ...] = (0.02, 0.05, 0.10, 0.18, 0.25, 0.40)
    edge_prob: float = Field(0.35, gt=0.0, le=1.0)
    batch_size: int = Field(65536, ge=1)
    max_batches: int = Field(10_000, ge=1)

    @field_validator("op_count_weights")
    @classmethod
    def _six_weights(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != 6 or min(v) < 0 or sum(v) <= 0:
            raise ValueError("op_count_weights needs 6 non-negative weights (op counts 1..6) with a positive sum")
        return v


NB201_CELLS = 8_764  # distinct GraphNet cells of the 15,284 NB-201 architectures with a path (nasgen.nb201.cell)


CellSpace = Literal["graphnet", "nb201"]


class SampleCellsConfig(Frozen):
    """Stage `cells`: N unique canonical cells in Parquet shards.

    ``space``: ``graphnet`` samples the GraphNet cell space (``sampler``); ``nb201`` takes NAS-Bench-201's
    distinct cells in a seeded order (``sampler`` unused), so the pipeline can be pretrained on that benchmark.
    """

    n: int = Field(20_000, ge=1)
    seed: int = 0
    shard_size: int = Field(10_000, ge=1)
    sampler: SamplerConfig = SamplerConfig()
    space: CellSpace = "graphnet"

    @model_validator(mode="after")
    def _fits_space(self) -> SampleCellsConfig:
        if self.space == "nb201" and self.n > NB201_CELLS:
            raise ValueError(f"n={self.n} exceeds the {NB201_CELLS} distinct cells of NAS-Bench-201")
        return self
