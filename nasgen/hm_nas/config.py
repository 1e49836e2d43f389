"""HM-NAS's numbers (dissertation ch. 2): the supernet and its bi-level training (profile section ``supernet``),
hierarchical masking and fine-tuning (section ``hm_nas``). The chapter's CIFAR-10 values are noted beside the
CPU-sized defaults (Fashion-MNIST, 2 cores)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from nasgen.errors import InvalidCellError
from nasgen.frozen import Frozen
from nasgen.nb201.arch import OPS as NB201_OPS
from nasgen.space.canonical import MAX_OPS
from nasgen.space.macro import CHANNELS, STRIDES
from nasgen.space.ops import op_by_name
from nasgen.train.config import DatasetConfig

SupernetSpace = Literal["nb201", "graphnet"]
# multi: alpha per op and beta per edge (HM-NAS's multi-level encoding, Eq. 2.2); single: alpha only (DARTS)
Encoding = Literal["multi", "single"]
GRAPHNET_CANDIDATES = ("skip", "avg_pool_3", "conv_3", "sep_conv_3", "sep_conv_5", "dil_conv_3", "mbconv_e3_3",
                       "bconv_r0.5_3")  # fmt: skip


class SupernetConfig(Frozen):
    """The supernet and its bi-level training: w by SGD (cosine) on ``train_fraction`` of the search images,
    alpha and beta by Adam on the rest, after ``warmup_epochs`` of w alone, each step with probability
    sigma(t) = max(0, 1 - t / T_arch) (non-increasing, sigma(0) = 1; T_arch: the arch steps after the warm-up).

    ``space``: NB-201's (the NB-201 network with ``nb201_cells_per_stage`` cells per stage; 5 ops on each of 6
    edges) or a GraphNet sub-space (``nodes`` op nodes, every forward edge present, each node a mixed op over
    ``candidates``; the cell shared by the positions ``layers`` = (channels, stride)). ``dataset``: the task
    (its validation split reports every decision; the search images are the rest of its training split)."""

    SECTION: ClassVar[str] = "supernet"

    dataset: DatasetConfig = DatasetConfig(name="fashion_mnist", val_fraction=1 / 6, split_seed=0)  # the real task's
    space: SupernetSpace = "graphnet"
    encoding: Encoding = "multi"
    nb201_channels: int = Field(16, ge=1)  # NB-201: 16
    nb201_cells_per_stage: int = Field(1, ge=1)  # NB-201: 5 (five times the CPU time)
    nodes: int = Field(4, ge=1, le=MAX_OPS)
    candidates: tuple[str, ...] = GRAPHNET_CANDIDATES
    layers: tuple[tuple[int, int], ...] = ((16, 1), (32, 2), (64, 2))
    subset: int | None = Field(10_000, ge=10)  # search images of the training split (None: all of it)
    train_fraction: float = Field(0.8, gt=0, lt=1)  # w's share; alpha and beta learn on the rest (the chapter's)
    batch_size: int = Field(64, ge=2)  # 128
    epochs: int = Field(10, ge=1)  # 100
    warmup_epochs: int = Field(2, ge=0)  # 10 of 100: w alone first
    lr: float = Field(0.05, gt=0)  # 0.1, cosine to 0
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(3e-4, ge=0)
    grad_clip: float = Field(5.0, gt=0)  # DARTS's
    arch_lr: float = Field(3e-4, gt=0)
    arch_weight_decay: float = Field(1e-3, ge=0)
    arch_init_scale: float = Field(1e-3, gt=0)  # alpha, beta ~ N(0, 1) * 1e-3
    seed: int = 0

    @field_validator("candidates")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or len(set(v)) != len(v):
            raise ValueError(f"candidates must name distinct GraphNet operations, got {list(v)}")
        for name in v:
            try:
                op_by_name(name)
            except InvalidCellError as e:
                raise ValueError(str(e)) from None
        return v

    @field_validator("layers")
    @classmethod
    def _skeleton(cls, v: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        bad = [p for p, (c, s) in enumerate(v) if c not in CHANNELS or s not in STRIDES]
        if not v or bad:
            raise ValueError(f"layers are (channels in 8..1024 step 8, stride 1 or 2) pairs; position {bad[:1]} is not")
        return v

    @model_validator(mode="after")
    def _warmup_before_end(self) -> SupernetConfig:
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"supernet warmup_epochs {self.warmup_epochs} leaves no epoch of the {self.epochs} "
                             "to learn alpha and beta in")  # fmt: skip
        return self

    @property
    def op_names(self) -> tuple[str, ...]:
        """The candidate operations of every mixed op, in alpha's column order."""
        return NB201_OPS if self.space == "nb201" else self.candidates


class HMNASConfig(Frozen):
    """Hierarchical masking and fine-tuning (Algorithm 1, lines 9-17): real-valued masks over alpha, beta and
        every conv/linear weight, initialised at ``mask_init``, binarised at ``threshold`` (straight-through
        gradients, BinaryConnect's), trained by Adam for ``mask_epochs`` on all search images with the learning
        rates divided by ``mask_lr_decay`` after half of them; then the masked network fine-tuned from the
        supernet's weights (SGD, cosine) for ``finetune_epochs``. The ablation's DARTS heuristic keeps the most
    likely op of each mixed op and the ``heuristic_edges`` most confident input edges of each node (Table 2.5)."""

    SECTION: ClassVar[str] = "hm_nas"

    heuristic_edges: int = Field(2, ge=1)  # DARTS: the top-2 input edges from distinct nodes
    mask_epochs: int = Field(4, ge=1)  # 20
    mask_init: float = 1e-2
    threshold: float = 5e-3  # tau; the chapter: robust in [0, 1e-2]
    # the chapter's 1e-4 (M_w) and 1e-5 (M_alpha, M_beta) over its ~7,800 Adam steps, times 10 for the ~600 steps
    # here (10,000 images, batch 64, 4 epochs): the same total movement of a mask relative to mask_init - tau
    mask_lr_weights: float = Field(1e-3, gt=0)
    mask_lr_arch: float = Field(1e-4, gt=0)
    mask_lr_decay: float = Field(10.0, ge=1)  # after half of the mask epochs (the chapter: 10 of 20)
    mask_weights: bool = True  # M_w too (False: operations and edges only)
    finetune_epochs: int = Field(4, ge=0)  # 200 with cutout
    finetune_lr: float = Field(0.01, gt=0)
    finetune_weight_decay: float = Field(3e-4, ge=0)
