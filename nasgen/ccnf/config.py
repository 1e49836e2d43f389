"""The conditional CNF's dynamics, solver and training (stage `ccnf`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nasgen.frozen import Frozen


class CCNFConfig(Frozen):
    """Conditional CNF over G-VAE latents (paper Section 4.2, Eq. 4, Table 6; DESIGN section 5)."""

    hidden: int = Field(512, ge=2)
    layers: int = Field(9, ge=2)  # ConcatSquashLinear layers of one block's dynamics network
    blocks: int = Field(1, ge=1)  # CNF blocks, moving batch norm before, between and after them
    divergence: Literal["hutchinson", "exact"] = "hutchinson"
    solver: Literal["dopri5", "bosh3", "adaptive_heun", "rk4", "euler"] = "dopri5"
    atol: float = Field(1e-5, gt=0)
    rtol: float = Field(1e-5, gt=0)
    fixed_steps: int = Field(16, ge=1)  # steps of the fixed-grid solvers (rk4, euler)
    adjoint: bool = False
    end_time: float = Field(0.5, gt=0)  # initial T of each block
    train_end_time: bool = True
    batch_norm: bool = True
    bn_momentum: float = Field(0.1, gt=0, le=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    batch_size: int = Field(256, ge=2)
    epochs: int = Field(100, ge=1)
    patience: int = Field(10, ge=1)
    val_fraction: float = Field(0.1, ge=0, lt=1)
    seed: int = 0
    max_cells: int | None = Field(None, ge=2)  # first N cells of the G-VAE's cells (None: all of them)
    posterior_samples: bool = False  # fit z ~ q(z|x) drawn afresh per batch instead of the means
    exact_costs: bool = True  # params/FLOPs of every condition computed analytically instead of predicted by q
    temperature: float = Field(1.0, gt=0)  # of the sampling noise (Glow); < 1: denser, less diverse samples
    sample_batch: int = Field(1024, ge=1)  # latents per batched sampling solve
    max_tries: int = Field(32, ge=1)  # sampling rounds before GenCell/synonyms give up on a failed decode
