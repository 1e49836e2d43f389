"""CATE's transformer and its pre-training (stages `cate`, `cate_graphnet`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nasgen.frozen import Frozen


class CATEConfig(Frozen):
    """CATE (dissertation ch. 4; nasgen.cate): sizes and optimiser of its NAS-Bench-101 runs (L = 12, L_c = 24,
    8 heads, d_h = d_c = d_ff = 64, AdamW 1e-3 with weight decay 0.01 off layer norms and biases, batch 1024,
    10 epochs (the learning-rate schedule from the authors' code), 95/5 split, 20% of ops corrupted: 80% [MASK],
    20% a random op). Pairs: for each architecture,
    ``pairs_per_arch`` partners of ``pair_by`` within ``pair_delta`` (params in millions, FLOPs in millions, or
    the L2 distance of standardised ZC vectors)."""

    layers: int = Field(12, ge=1)
    cross_layers: int = Field(24, ge=1)
    heads: int = Field(8, ge=1)
    d_model: int = Field(64, ge=1)
    d_ff: int = Field(64, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    closure: bool = True  # attention over the transitive closure (the dissertation's better variant) or edges only
    # the authors' code multiplies the segment embedding by sqrt(d_model): 8x the layer-normalised node states at
    # d = 64, and the demo model then never used the partner on NB-201 (README, CATE); the dissertation names no scale
    scaled_segment: bool = False
    lr: float = Field(1e-3, gt=0)
    # linear warm-up over the first steps, then linear decay to 0 at the last (the authors' code: 100 steps of
    # get_linear_schedule_with_warmup; the dissertation names no schedule); "constant" keeps lr throughout
    lr_schedule: Literal["linear", "constant"] = "linear"
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.01, ge=0)
    batch_size: int = Field(1024, ge=2)
    epochs: int = Field(10, ge=1)
    corruption_rate: float = Field(0.2, gt=0, lt=1)
    mask_fraction: float = Field(0.8, ge=0, le=1)  # of the corrupted ops, replaced by [MASK]; the rest random
    pair_by: Literal["params", "flops", "zc"] = "params"
    pair_delta: float = Field(0.05, gt=0)  # NB-201 params span 0.07-1.53 M (NB-101's delta 2 M spans 0.2-50 M)
    pairs_per_arch: int = Field(2, ge=1)  # K (NB-101: 2)
    test_fraction: float = Field(0.05, gt=0, lt=1)
    max_cells: int = Field(20_000, ge=2)  # GraphNet: the first cells of the `cells` artifact
    seed: int = 0

    @model_validator(mode="after")
    def _heads_divide(self) -> CATEConfig:
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by heads {self.heads}")
        return self
