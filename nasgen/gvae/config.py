"""The G-VAE's sizes and training (stage `gvae`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nasgen.frozen import Frozen


class GVAEConfig(Frozen):
    """G-VAE (paper Section 4.1, Eq. 2-3; Table 6 sizes at the paper profile) and its training."""

    encoder: Literal["gcn", "gin"] = "gcn"  # gin: the arch2vec encoder, as an ablation
    layers: int = Field(4, ge=1)
    hidden: int = Field(512, ge=4)
    latent: int = Field(256, ge=2)
    beta_kl: float = Field(0.005, ge=0)
    triplet_weight: float = Field(1.0, ge=0)  # 0 with predictor_weight 0: the naive G-VAE of paper Fig. 2b
    triplet_margin: float = Field(1.0, gt=0)
    predictor_weight: float = Field(1.0, ge=0)
    validity_weight: float = Field(0.03, ge=0)  # dead-node loss on prior samples (nasgen.gvae.training)
    validity_interpolation: float = Field(0.0, ge=0, le=1)  # share of those samples between two training latents
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    batch_size: int = Field(256, ge=2)
    labelled_batch_size: int = Field(128, ge=3)
    epochs: int = Field(200, ge=1)
    patience: int = Field(20, ge=1)
    val_fraction: float = Field(0.1, ge=0, lt=1)
    seed: int = 0
    max_cells: int | None = Field(None, ge=2)  # first N cells of the stream (None: all)
    prior_samples: int = Field(10_000, ge=1)  # for the validity/uniqueness/novelty metrics
