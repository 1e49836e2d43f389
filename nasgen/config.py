"""Typed configs and the three profiles (smoke / demo / paper). Every tunable number lives here.

Configs are frozen pydantic models: validated on construction, hashable into store keys, loadable from
YAML (``load_config``) and rendered as forms in the Prefect UI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nasgen.errors import ConfigError

ProfileName = Literal["tiny", "smoke", "demo", "paper"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SamplerConfig(_Frozen):
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


class SampleCellsConfig(_Frozen):
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


# Named variants (nasgen.zc.variants; README, "Zero-cost proxies"). The record's `snip_ssnr` and `tcet` columns
# hold the variant its ZCConfig names: the form z(x) uses and the objective the searches maximise.
SNIP_SSNR_FORMS: tuple[str, ...] = ("snip_ssnr_sum", "snip_ssnr_mean", "snip_ssnr_norm")
TCET_SALIENCIES: tuple[str, ...] = ("syn", "snip")
TCET_MODES: tuple[str, ...] = ("none", "log", "log1p", "norm")
TCET_VARIANTS: tuple[str, ...] = tuple(f"tcet_{s}_{m}" for s in TCET_SALIENCIES for m in TCET_MODES)
ALL_PROXIES: tuple[str, ...] = (
    "naswot", "snip", "snip_ssnr", "synflow", "tcet", "zen", "zico", "params", "flops", *SNIP_SSNR_FORMS, *TCET_VARIANTS
)  # fmt: skip
ProxyName = Literal[ALL_PROXIES]  # type: ignore[valid-type]
SnipSSNRForm = Literal[SNIP_SSNR_FORMS]  # type: ignore[valid-type]
TCETVariant = Literal[TCET_VARIANTS]  # type: ignore[valid-type]
# The record the scoring stage stores by default: the ZC vector, T-CET and its parts. Zen and ZiCo are the
# baselines of paper Table 1; they cost extra passes and are opt-in.
DEFAULT_PROXIES: tuple[str, ...] = ("naswot", "snip", "snip_ssnr", "synflow", "tcet", "params", "flops")


class ZCConfig(_Frozen):
    """How a network is scored (nasgen.zc). Every field is part of the cache key of every ZC artifact.

    The input is a fixed synthetic batch (standard normal pixels, uniform labels) drawn from ``seed``; the
    network's weights are PyTorch's default init drawn from a generator seeded by (seed, cell code), so a
    cell's record does not depend on which shard, thread or process scored it.
    """

    batch_size: int = Field(64, ge=2)
    resolution: int = Field(32, ge=4)  # input H = W of the reference macro alpha_x (paper: 32)
    in_channels: int = Field(3, ge=1)
    classes: int = Field(10, ge=2)
    seed: int = 0
    proxies: tuple[ProxyName, ...] = DEFAULT_PROXIES
    # The SNIP-SSNR of z(x): the paper-scale form that ranks NB-201 best (README, "Proxies on NAS-Bench-201").
    snip_ssnr: SnipSSNRForm = "snip_ssnr_mean"
    # The T-CET the searches maximise: best on NB-201 on alpha_x and on the NB-201 network (README); the
    # paper profile keeps the authors' tcet_snip_log1p (PAPER_TCET).
    tcet: TCETVariant = "tcet_snip_none"
    # Singular binary Gram matrices (NASWOT, lnwot; nasgen.zc.common.gram_logdet): "exact" decides doubtful ones
    # by their exact integer determinant; "rank" scores 0 below numpy's matrix_rank tolerance; "slogdet" keeps
    # slogdet's round-off values and scores 0 only for an exactly singular one (the references).
    gram_singular: Literal["exact", "rank", "slogdet"] = "exact"
    zen_mixup_gamma: float = Field(1e-2, gt=0)  # Zen-NAS's perturbation scale
    zen_repeat: int = Field(1, ge=1)
    zen_bn: Literal["running_var", "batch_var"] = "running_var"  # ZenNAS reads running_var; batch_var: the paper
    zico_splits: int = Field(2, ge=2)  # ZiCo's gradient statistics need at least two batches
    # The batch: "noise" (standard normal pixels, uniform labels; data-free) or images and labels of a local
    # dataset, resized to the input and repeated over channels when it has fewer (nasgen.train.datasets).
    data: Literal["noise", "digits", "cifar10"] = "noise"
    data_root: str | None = None  # cifar10's root directory (never downloaded)

    @field_validator("proxies")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or len(set(v)) != len(v):
            raise ValueError("proxies must be a non-empty list without repeats")
        return tuple(p for p in ALL_PROXIES if p in v)  # canonical order: same set, same cache key

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.resolution, self.resolution)


class ScoreCellsConfig(_Frozen):
    """Stage `zc`: the ZC record of the first ``n_labelled`` cells of a cells artifact (all when None).

    The cells artifact is a uniform random stream, so its first n cells are a uniform random labelled subset.
    Device and fan-out back end are run options, not config: they do not change what is computed.
    """

    n_labelled: int | None = Field(None, ge=1)
    shard_size: int = Field(2_000, ge=1)
    zc: ZCConfig = ZCConfig()


ZC_VECTOR: tuple[str, ...] = ("naswot", "snip_ssnr", "params", "flops")  # z(x) of paper Eq. 1
PAPER_TCET = "tcet_snip_log1p"  # what the authors' code (visionbasicagent/HGENNAS) ranks networks by


class ClusterConfig(_Frozen):
    """Stage `clusters`: a GMM on the transformed ZC vectors of the labelled cells (paper Section 4.1).

    K is the smallest value in [k_min, k_max] at which both BIC and AIC (with the small-sample correction,
    AICc, which equals AIC for large samples) have plateaued: the improvement still
    available beyond it is at most ``plateau_tol`` of the criterion's total improvement over the range, or at
    most ``min_delta`` (information-criterion differences below 10 are not meaningful, Burnham & Anderson).
    """

    components: tuple[str, ...] = ZC_VECTOR
    log_components: tuple[str, ...] = ("params", "flops")  # log before standardising (DESIGN section 4)
    k_min: int = Field(1, ge=1)
    k_max: int = Field(12, ge=1)
    plateau_tol: float = Field(0.05, gt=0, lt=1)
    min_delta: float = Field(10.0, ge=0)
    covariance_type: Literal["full", "diag"] = "full"
    n_init: int = Field(3, ge=1)
    max_iter: int = Field(500, ge=10)
    reg_covar: float = Field(1e-6, gt=0)
    seed: int = 0

    @field_validator("k_max")
    @classmethod
    def _range(cls, v: int, info) -> int:
        if v < info.data.get("k_min", 1):
            raise ValueError("k_max must be >= k_min")
        return v


class GVAEConfig(_Frozen):
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


class Arch2VecConfig(_Frozen):
    """arch2vec's variational graph-isomorphism autoencoder (dissertation ch. 3, Eqs. 3.1-3.5; nasgen.arch2vec)."""

    hidden: tuple[int, ...] = (128, 128, 128, 128, 16)  # the 5 GIN layers; the last one is the latent width
    latent: int = Field(16, ge=1)
    kl: bool = True  # False: the "w/o KL" row of Table 3.1 (no KL term, z = mu)
    # dropout on z before decoding, in training: the authors' code uses 0.3; here it cut held-out reconstruction
    # to 83% (43% w/o KL) after 10 epochs (README, arch2vec), so it is off
    decoder_dropout: float = Field(0.0, ge=0, lt=1)
    grad_clip: float = Field(5.0, gt=0)  # gradient-norm clip (the authors' code)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(32, ge=2)
    epochs: int = Field(10, ge=1)
    val_fraction: float = Field(0.1, gt=0, lt=1)  # held out for reconstruction accuracy
    prior_samples: int = Field(10_000, ge=1)  # rescaled prior draws for validity and uniqueness
    max_cells: int = Field(20_000, ge=2)  # GraphNet cells (stage `arch2vec_graphnet`): the first of the artifact
    seed: int = 0


class CATEConfig(_Frozen):
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


class CCNFConfig(_Frozen):
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


class ConstraintConfig(_Frozen):
    """A size budget of a searched network (None: unconstrained in that dimension)."""

    max_params: int | None = Field(None, ge=1)
    max_flops: int | None = Field(None, ge=1)  # multiply-accumulates, as nasgen.space.cost counts them

    @property
    def name(self) -> str:
        parts = [
            f"params<={self.max_params}" if self.max_params else "",
            f"flops<={self.max_flops}" if self.max_flops else "",
        ]
        return ",".join(p for p in parts if p) or "unconstrained"


class HLEvoConfig(_Frozen):
    """HL-Evo (paper Algorithm 1) and the baselines that share its scorer and budget (nasgen.search)."""

    iterations: int = Field(20_000, ge=2)  # T, split equally into exploration and exploitation
    population: int = Field(512, ge=2)  # N
    levels: tuple[ConstraintConfig, ...] = (
        ConstraintConfig(max_params=500_000),
        ConstraintConfig(max_params=1_000_000),
        ConstraintConfig(max_params=2_000_000),
        ConstraintConfig(max_params=4_000_000),
    )
    init_cluster: int | None = None  # cluster of alpha_0's cells (paper: the 5th); None: the GMM's heaviest
    init_layers: tuple[tuple[int, int], ...] = ((32, 1), (64, 2), (64, 1))  # alpha_0's (channels, stride)
    # Insert/delete a position too. Algorithm 1 lists no such mutation, yet alpha_0 has 3 positions and HL
    # sequences have up to 20 (Section 4.3, Fig. 4-5): without it every searched network keeps 3 positions.
    depth_mutations: bool = True
    # GenCell: the CCNF conditioned on the family (the paper), or the learnt distribution of stage graphpnas
    # (GraphPNAS, unconditional: the family is ignored), issue 22's comparison of the two generators.
    cell_source: Literal["ccnf", "graphpnas"] = "ccnf"
    objective: Literal["tcet", "zen", "zico"] = "tcet"  # zen / zico: the ZenNet rows of paper Table 1
    seed: int = 0
    zc: ZCConfig = ZCConfig()  # the network-level scorer: input (C, H, W), classes, batch, proxies

    @model_validator(mode="before")
    @classmethod
    def _score_the_objective(cls, data):
        """The objective is always among the scored proxies: naming it (objective=zen) is enough."""
        if not isinstance(data, dict) or "objective" not in data:
            return data
        zc = data.get("zc", ZCConfig())
        zc = zc if isinstance(zc, ZCConfig) else ZCConfig(**zc)
        if data["objective"] not in zc.proxies:
            zc = ZCConfig(**{**zc.model_dump(), "proxies": (*zc.proxies, data["objective"])})
        return {**data, "zc": zc}


class SGConfig(_Frozen):
    """Sequence generator: GPT-Neo over HL sequences with condition tokens (paper Section 4.3, Appendix A)."""

    condition_fields: tuple[str, ...] = ("params", "flops", "naswot", "snip_ssnr", "tcet")  # y = z(alpha(alpha_hat))
    bins: int = Field(16, ge=2)  # per condition field; quantile edges of the history
    base_model: str | None = None  # local GPT-Neo checkpoint directory (paper: GPT-Neo-125M); None: from scratch
    layers: int = Field(4, ge=1)  # of the from-scratch model (GPT-Neo-125M: 12)
    hidden: int = Field(128, ge=8)  # (GPT-Neo-125M: 768)
    heads: int = Field(4, ge=1)  # (GPT-Neo-125M: 12)
    dropout: float = Field(0.1, ge=0, lt=1)
    drop_condition: float = Field(0.5, ge=0, le=1)  # probability of dropping each condition token (Appendix A)
    lr: float = Field(1e-3, gt=0)  # the paper's
    weight_decay: float = Field(0.01, ge=0)
    batch_size: int = Field(32, ge=1)  # the paper fine-tunes with 1
    epochs: int = Field(60, ge=1)
    patience: int = Field(10, ge=1)
    val_fraction: float = Field(0.1, ge=0, lt=1)  # of the distinct HL sequences
    seed: int = 0

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> SGConfig:
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")
        return self


GENERATE_PROXIES: tuple[str, ...] = ("tcet", "params", "flops")


class GenerateConfig(_Frozen):
    """Defaults of generate-for-condition (flows/generate.py); a request overrides n, top_k and seed."""

    n: int = Field(100, ge=1)  # HL sequences sampled from the SG
    top_k: int = Field(5, ge=1)  # networks kept, by T-CET
    decoding: Literal["sample", "greedy"] = "sample"  # greedy: one sequence, n materialisations (paper Eq. 8)
    temperature: float = Field(1.0, gt=0)
    budget_fraction: float = Field(0.8, gt=0, le=1)  # the SG is asked for params/FLOPs of this share of the budget
    aim_high: str | None = "tcet"  # also condition on this field's top bin (the history's best T-CET); None: off
    # The scorer of the candidates (input and classes come from the request). Only what ranking needs: T-CET's
    # passes alone cost ~45% of the full record (README, ZC benchmark).
    zc: ZCConfig = ZCConfig(proxies=GENERATE_PROXIES)


class TrainRecipe(_Frozen):
    """Training of a chosen network (ZenNAS-style SGD: Nesterov, linear warm-up then cosine, label smoothing)."""

    epochs: int = Field(200, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(0.1, gt=0)  # peak, reached after the warm-up
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = True
    weight_decay: float = Field(5e-4, ge=0)
    warmup_epochs: float = Field(5, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    crop_padding: int = Field(0, ge=0)  # random crop of the zero-padded image (CIFAR: 4)
    hflip: bool = False  # random horizontal flip (not for digits: a flipped digit is another symbol)
    amp: bool = True  # bfloat16 autocast, CUDA only
    channels_last: bool = True  # CUDA only
    eval_batch_size: int = Field(512, ge=1)
    num_workers: int = Field(0, ge=0)
    seed: int = 0


class DatasetConfig(_Frozen):
    """Which dataset a network is trained on (nasgen.train.datasets): local only, never downloaded."""

    name: Literal["digits", "synthetic", "cifar10", "cifar100", "imagenet"] = "digits"
    root: str | None = None  # directory holding the data (cifar10/100, imagenet)
    size: int | None = Field(None, ge=4)  # image side for digits (default 16) and imagenet (default 224)
    val_fraction: float = Field(0.0, ge=0, lt=1)  # of the training split held out for model selection


class SelectionConfig(_Frozen):
    """Final model selection among generated networks (paper Section 5, Appendix F.1)."""

    strategy: Literal["tcet", "reduced"] = "tcet"  # reduced: train the top-N briefly, keep the best on validation
    top_n: int = Field(3, ge=1)
    reduced_fraction: float = Field(0.1, gt=0, le=1)  # of the recipe's epochs, for the short runs
    val_fraction: float = Field(0.1, gt=0, lt=1)  # held out of the training split for the short runs


RECIPES: dict[str, TrainRecipe] = {
    "cifar10": TrainRecipe(epochs=600, batch_size=256, lr=0.2, crop_padding=4, hflip=True),
    "cifar100": TrainRecipe(epochs=600, batch_size=256, lr=0.2, crop_padding=4, hflip=True),
    "imagenet": TrainRecipe(epochs=240, batch_size=512, lr=0.2, weight_decay=4e-5, hflip=True),
    "digits": TrainRecipe(epochs=20, batch_size=64, lr=0.05, warmup_epochs=1, label_smoothing=0.0),
    "synthetic": TrainRecipe(epochs=30, batch_size=32, lr=0.05, warmup_epochs=0, label_smoothing=0.0),
}


class NB201ProxiesConfig(_Frozen):
    """Stage `nb201_proxies`: every proxy of a seeded sample of NAS-Bench-201 architectures on one network."""

    n: int | None = Field(1000, ge=3)  # architectures drawn without replacement (None: all 15,625)
    seed: int = 0
    network: Literal["alpha_x", "nb201"] = "alpha_x"  # the pipeline's reference macro, or NB-201's own network
    zc: ZCConfig = ZCConfig(batch_size=16, resolution=16, proxies=ALL_PROXIES)


HierarchyCondition = Literal["family", "best_cell"]


class NB201HierarchyConfig(_Frozen):
    """The hierarchical method on NB-201 (nasgen.nb201.hierarchy): the profile's clusters / G-VAE / CCNF
    pretrained on ``cells`` NB-201 cells (None: all 8,764), ``labelled`` of them scored for z(x) (the predictor
    q conditions the rest), then per run CCNF samples conditioned on each of ``conditions`` (the family whose
    labelled cells have the highest median ``proxy``; the NB-201 best cell's z(x), paper Table 8's setting)
    until ``budget`` distinct NB-201 cells, each one ZC evaluation, the pick the highest ``proxy``.
    """

    cells: int | None = Field(None, ge=2, le=NB201_CELLS)
    labelled: int = Field(1000, ge=2)
    ccnf_max_cells: int | None = Field(None, ge=2)  # None: the CCNF trains on every cell too
    conditions: tuple[HierarchyCondition, ...] = ("family", "best_cell")
    proxy: ProxyName = "tcet"
    budget: int = Field(100, ge=1)  # ZC evaluations per run
    runs: int = Field(10, ge=1)
    draw_batch: int = Field(200, ge=1)  # CCNF latents decoded at a time
    max_draws: int = Field(10_000, ge=1)  # latents per run before it settles for fewer than ``budget`` cells

    @model_validator(mode="after")
    def _labelled_fits(self) -> NB201HierarchyConfig:
        if self.labelled > (self.cells or NB201_CELLS):
            raise ValueError(f"labelled={self.labelled} exceeds the {self.cells or NB201_CELLS} cells")
        return self


class DNGOConfig(_Frozen):
    """DNGO's surrogate (nasgen.search.dngo): arch2vec-BO's one hidden layer of 128 and 100 epochs per round
    (dissertation ch. 3); Adam lr and batch size are pybnn's defaults, which the authors' code runs."""

    hidden: int = Field(128, ge=1)
    hidden_layers: int = Field(1, ge=1)
    epochs: int = Field(100, ge=1)
    lr: float = Field(0.01, gt=0)
    batch_size: int = Field(10, ge=1)
    normalize_output: bool = False


class LatentSearchConfig(_Frozen):
    """Searches over a frozen embedding table (nasgen.arch2vec.search), dissertation ch. 3 on NB-201 CIFAR-10.

    RL: an LSTM controller (``controller_hidden``) gives the mean of a Gaussian with covariance
    ``policy_std``² I; the nearest unvisited embedding (L2) is the next architecture; REINFORCE with Adam
    ``rl_lr`` after every ``episode`` architectures, returns discounted by ``discount`` within the episode, minus
    the constant ``baseline`` (rewards are accuracy / 100). BO: ``bo_init`` random architectures, then per round
    DNGO refit on every observation and the ``bo_top`` unvisited architectures of highest expected improvement
    over ``ei_best``. CATE-DNGO-LS: the same with ``ls_epochs`` per refit plus the nearest unvisited neighbours
    of the pool's other top architectures.
    """

    episode: int = Field(16, ge=1)
    discount: float = Field(0.4, ge=0, le=1)
    baseline: float = 0.4
    rl_lr: float = Field(1e-2, gt=0)
    controller_hidden: int = Field(128, ge=1)
    policy_std: float = Field(1.0, gt=0)
    bo_init: int = Field(16, ge=1)
    bo_top: int = Field(5, ge=1)
    ei_best: float = 0.95
    dngo: DNGOConfig = DNGOConfig()
    ls_epochs: int = Field(30, ge=1)  # CATE-DNGO-LS refits DNGO for 30 epochs per round (dissertation ch. 4)
    # GraphNet: the searches choose among alpha_x of the first ``pool`` cells of the `cells` artifact, the same
    # cells for every frozen encoder (arch2vec's table rows, CATE's encodings of them)
    pool: int = Field(20_000, ge=1)


class GraphPNASConfig(_Frozen):
    """GraphPNAS's generator (nasgen.graphpnas, GraphPNAS Section 3 / 4): K = 10 Bernoulli mixtures, S = 7
    message-passing steps per generation step, hidden 128 for node states and messages."""

    hidden: int = Field(128, ge=1)
    steps: int = Field(7, ge=1)
    mixtures: int = Field(10, ge=1)
    # The search loop (nasgen.graphpnas.search). NB-201 settings of the paper's Appendix A: the random explorer
    # for the first ``random_steps`` steps, then epsilon0 * epsilon_decay^(steps since // epsilon_every); the
    # top ``buffer_keep`` architectures in the replay buffer; one sample per step. Adam lr 1e-4, clip 1.0 and
    # beta 0.05 are Table 10 / Section 4.1's. Table 10 fits the buffer for 2,000 epochs per step; ``fit_epochs``
    # is ours to size (2,000 x 150 steps is hours on 2 CPU cores).
    samples_per_step: int = Field(1, ge=1)
    random_steps: int = Field(10, ge=0)
    epsilon0: float = Field(0.0, ge=0, le=1)
    epsilon_decay: float = Field(0.2, ge=0, le=1)
    epsilon_every: int = Field(10, ge=1)
    buffer_keep: int = Field(15, ge=2)
    beta: float = Field(0.05, ge=0)
    lr: float = Field(1e-4, gt=0)
    grad_clip: float = Field(1.0, gt=0)
    fit_epochs: int = Field(20, ge=1)
    max_tries: int = Field(50, ge=1)  # draws per sample before a duplicate is accepted from the explorer
    # The random explorer of a free space (GraphNet; nasgen.graphpnas.explorer): Erdos-Renyi or Watts-Strogatz
    # with the hyperparameter ranges of Section 4.1; "uniform" is a space's own uniform draw (NB-201's ops).
    explorer: Literal["uniform", "er", "ws"] = "uniform"
    er_p: tuple[float, float] = (0.1, 0.5)
    ws_k: tuple[int, int] = (2, 6)  # even degrees
    ws_p: tuple[float, float] = (0.2, 0.8)
    # RandWire's shrinking buffer: the top share of all evaluated graphs, from 30% to 10% over the budget;
    # None keeps the top ``buffer_keep`` (NB-201).
    buffer_share: tuple[float, float] | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _ranges(self) -> GraphPNASConfig:
        for name in ("er_p", "ws_p", "buffer_share"):
            lo_hi = getattr(self, name)
            if lo_hi is not None and not (0 <= min(lo_hi) and max(lo_hi) <= 1):
                raise ValueError(f"{name} must lie in [0, 1], got {lo_hi}")
        if self.er_p[0] > self.er_p[1] or self.ws_p[0] > self.ws_p[1]:
            raise ValueError("er_p and ws_p are (low, high) ranges")
        if not (2 <= self.ws_k[0] <= self.ws_k[1] and self.ws_k[0] % 2 == 0):
            raise ValueError(f"ws_k is a (low, high) range of even degrees from 2, got {self.ws_k}")
        return self


class GraphPNASCellsConfig(_Frozen):
    """Stage `graphpnas` and `bench generators`: GraphPNAS on GraphNet cells (nasgen.graphpnas.cells).

    The reward is log10 of ``objective`` (HL-Evo's scorer: set ``zc`` as the profile's hl_evo.zc) of alpha_x,
    the reference macro of the cell; a cell whose alpha_x breaks ``max_params`` is refused before any
    evaluation (not buffered, not drawn again). ``evaluations`` ZC evaluations per run. Search settings: the
    paper's RandWire ones (Section 4.1): a Watts-Strogatz explorer, epsilon 0.6 decayed by 0.2 every 10 steps,
    8 samples per step, the buffer shrinking from the top 30% to the top 10% of what was evaluated.
    """

    evaluations: int = Field(150, ge=2)
    max_params: int | None = Field(1_000_000, ge=1)
    max_refused: int = Field(5_000, ge=1)  # refused draws (over max_params) before a run stops short
    diversity_samples: int = Field(1_000, ge=1)  # draws from the learnt distribution for its diversity
    objective: Literal["tcet", "zen", "zico"] = "tcet"
    zc: ZCConfig = ZCConfig()
    seed: int = 0
    graphpnas: GraphPNASConfig = GraphPNASConfig(
        explorer="ws", random_steps=0, epsilon0=0.6, samples_per_step=8, buffer_share=(0.3, 0.1)
    )

    @model_validator(mode="after")
    def _scored(self) -> GraphPNASCellsConfig:
        if self.objective not in self.zc.proxies:
            raise ValueError(f"objective {self.objective} is not among the scored proxies {self.zc.proxies}")
        if self.graphpnas.explorer == "uniform":
            raise ValueError("GraphNet cells need a random-graph explorer: er or ws")
        return self


class NB201SearchConfig(_Frozen):
    """`bench nb201-search`: search strategies on NAS-Bench-201 under the seed papers' protocols.

    Oracle protocol: ``queries`` validation-accuracy queries per run (GraphPNAS's CIFAR-10 budget: 20,000 s of
    NB201 training, about 150 queries), ``oracle_runs`` runs (dissertation Table 3.3: 500). Zero-cost protocol:
    no oracle query; ``zc_budgets`` proxy evaluations (NASWOT's N), picks by each of ``zc_proxies`` over the
    scored sample of ``nb201_proxies`` (``zc_runs`` runs); Evo on the proxy with ``evo_budget`` evaluations,
    scored on demand (``evo_runs`` runs); the hierarchical method (``hierarchy``).
    """

    queries: int = Field(150, ge=2)
    oracle_runs: int = Field(500, ge=1)
    zc_budgets: tuple[int, ...] = (10, 100, 1000)
    zc_proxies: tuple[ProxyName, ...] = ("naswot", "tcet")
    zc_runs: int = Field(500, ge=1)  # of the picks (lookups in the scored sample; NASWOT's 500)
    evo_runs: int = Field(10, ge=1)  # of Evo on the proxy (each scores its evaluations on demand)
    evo_budget: int = Field(100, ge=2)
    evo_proxy: ProxyName = "tcet"
    rea_population: int = Field(10, ge=2)  # NB201's R_EA: population 10, tournament sample 3
    rea_sample: int = Field(3, ge=1)
    reinforce_lr: float = Field(0.01, gt=0)  # NATS-Bench's REINFORCE: Adam lr 0.01 on a 6 x 5 logit table
    reinforce_baseline_momentum: float = Field(0.9, ge=0, lt=1)  # exponential moving average of the reward
    hierarchy: NB201HierarchyConfig = NB201HierarchyConfig()
    graphpnas: GraphPNASConfig = GraphPNASConfig()  # its NB-201 settings (paper Appendix A)
    graphpnas_runs: int = Field(10, ge=1)  # the paper's 10
    arch2vec_rl_runs: int = Field(500, ge=1)  # the dissertation's 500; about 0.13 s each
    arch2vec_bo_runs: int = Field(30, ge=1)  # each refits DNGO 27 times (150 queries, 16 + 5 per round): ~26 s
    cate_runs: int = Field(30, ge=1)  # CATE-DNGO-LS (30 epochs per refit, 5-10 queries per round)
    seed: int = 0

    @model_validator(mode="after")
    def _tournament_fits(self) -> NB201SearchConfig:
        if self.rea_sample > self.rea_population:
            raise ValueError(f"rea_sample {self.rea_sample} exceeds rea_population {self.rea_population}")
        return self


class RehearseConfig(_Frozen):
    """The slice of data `nasgen rehearse` runs a profile's stages on (benchmarks/rehearse.py). Model sizes and
    numeric settings stay the profile's; only data sizes and loop lengths shrink, and the measured time per
    unit of work is extrapolated to the profile's full sizes."""

    cells: int = Field(2_000, ge=20)  # sampled (cells.n), all trained on by the G-VAE and the CCNF
    labelled: int = Field(64, ge=8)  # ZC-scored (zc.n_labelled)
    gvae_epochs: int = Field(25, ge=1)  # ~200 optimiser steps at batch 256 on 1,800 training cells
    ccnf_epochs: int = Field(5, ge=1)
    hl_evo_iterations: int = Field(20, ge=2)  # per constraint level
    sg_epochs: int = Field(1, ge=1)
    generate_n: int = Field(10, ge=1)
    memory_poll_s: float = Field(0.05, gt=0)  # how often the peak-RSS sampler reads /proc


class GPUBenchConfig(_Frozen):
    """`nasgen bench gpu` (benchmarks/gpu.py): sized to fit ten minutes on one GPU at the paper profile."""

    zc_cells: int = Field(64, ge=1)  # timed cells per ZC worker process, after one warm-up cell
    workers: tuple[int, ...] = (1, 2, 4)  # ZC worker processes sharing the device
    train_steps: int = Field(50, ge=1)  # timed optimiser steps of the G-VAE, the CCNF and the SG (after warm-up)
    sg_positions: int = Field(20, ge=1)  # HL positions of the SG's training sequences (paper Section 4.3: <= 20)
    network_params: int = Field(1_000_000, ge=1_000)  # size of the trained network (a random macro below it)
    images: int = Field(5_120, ge=8)  # synthetic CIFAR-shaped training images per epoch
    image_epochs: int = Field(2, ge=2)  # the first one is the warm-up
    # alpha_x forward+backward at these batches: launch-bound when about equal (batch norm needs two samples)
    launch_batches: tuple[int, int] = (2, 64)
    launch_repeats: int = Field(10, ge=1)
    launch_bound_ratio: float = Field(2.0, gt=1)  # below it, the larger batch barely costs more: launch-bound
    seed: int = 0


class OrchestrationConfig(_Frozen):
    """Retries and backoff of every stage task (tasks/stage.py)."""

    retries: int = Field(3, ge=0)
    retry_backoff_factor: float = Field(2.0, ge=0)
    retry_jitter_factor: float = Field(0.2, ge=0)
    # The zc fan-out's task runner when none is asked for. "auto": spawned processes of one torch thread each
    # on CPU (a 2-thread OpenMP team slowed 2.64x next to a 1-thread job, 2 processes 1.27x: README, issue 20),
    # threads on a GPU (one CUDA context; a second thread overlaps Python with kernels).
    zc_runner: Literal["auto", "threads", "processes"] = "auto"


class Profile(_Frozen):
    name: ProfileName
    cells: SampleCellsConfig
    zc: ScoreCellsConfig = ScoreCellsConfig()
    clusters: ClusterConfig = ClusterConfig()
    gvae: GVAEConfig = GVAEConfig()
    ccnf: CCNFConfig = CCNFConfig()
    hl_evo: HLEvoConfig = HLEvoConfig()
    sg: SGConfig = SGConfig()
    generate: GenerateConfig = GenerateConfig()
    nb201_proxies: NB201ProxiesConfig = NB201ProxiesConfig()
    nb201_search: NB201SearchConfig = NB201SearchConfig()
    arch2vec: Arch2VecConfig = Arch2VecConfig()
    latent_search: LatentSearchConfig = LatentSearchConfig()  # arch2vec-RL and -BO (NB-201 and GraphNet)
    cate: CATEConfig = CATEConfig()
    graphpnas: GraphPNASCellsConfig = GraphPNASCellsConfig()  # GraphPNAS on GraphNet cells (stage graphpnas)
    orchestration: OrchestrationConfig = OrchestrationConfig()
    rehearse: RehearseConfig = RehearseConfig()
    bench_gpu: GPUBenchConfig = GPUBenchConfig()
    describe_examples: int = Field(3, ge=0)
    demo_budget: int = Field(1_000_000, ge=1)  # params budget `make demo` generates for


SMOKE_SEARCH_ZC = ZCConfig(batch_size=4, resolution=8, proxies=("naswot", "snip_ssnr", "tcet", "params", "flops"))

# GraphPNAS on GraphNet cells in seconds: a small generator, 6 evaluations, 2 cells per step.
SMOKE_GRAPHPNAS = GraphPNASCellsConfig(
    evaluations=6,
    max_refused=200,
    diversity_samples=20,
    zc=SMOKE_SEARCH_ZC,
    graphpnas=GraphPNASConfig(
        hidden=32, steps=2, mixtures=3, explorer="ws", random_steps=0, epsilon0=0.6, samples_per_step=2,
        buffer_share=(0.3, 0.1), fit_epochs=2,
    ),
)  # fmt: skip

PROFILES: dict[str, Profile] = {
    # The unit tests' pipeline: 40 cells, 16 scored at 4x4, models of a few hundred parameters (seconds).
    "tiny": Profile(
        name="tiny",
        cells=SampleCellsConfig(n=40, shard_size=40, sampler=SamplerConfig(batch_size=512)),
        zc=ScoreCellsConfig(
            n_labelled=16,
            shard_size=16,
            zc=ZCConfig(batch_size=4, resolution=4, proxies=("naswot", "snip_ssnr", "params", "flops")),
        ),
        clusters=ClusterConfig(k_max=2, n_init=1),
        gvae=GVAEConfig(
            layers=2,
            hidden=16,
            latent=4,
            epochs=200,
            patience=1000,
            validity_weight=0.5,
            batch_size=16,
            labelled_batch_size=8,
            prior_samples=50,
            val_fraction=0.25,
        ),  # ~30% of its samples decode
        ccnf=CCNFConfig(hidden=16, layers=2, atol=1e-4, rtol=1e-4, epochs=3, batch_size=16, val_fraction=0.25),
        hl_evo=HLEvoConfig(
            iterations=8,
            population=4,
            levels=(ConstraintConfig(max_params=1_000_000),),
            zc=ZCConfig(batch_size=4, resolution=8, proxies=("naswot", "snip_ssnr", "tcet", "params", "flops")),
        ),
        sg=SGConfig(layers=1, hidden=32, heads=2, bins=4, epochs=80, patience=80, batch_size=8, dropout=0.0, lr=3e-3),
        generate=GenerateConfig(n=8, top_k=2, zc=ZCConfig(batch_size=4, resolution=8, proxies=GENERATE_PROXIES)),
        nb201_proxies=NB201ProxiesConfig(n=12, zc=ZCConfig(batch_size=4, resolution=8)),
        nb201_search=NB201SearchConfig(
            queries=12,
            oracle_runs=4,
            zc_budgets=(3, 12),
            zc_runs=2,
            evo_runs=2,
            evo_budget=6,
            rea_population=4,
            rea_sample=2,
            hierarchy=NB201HierarchyConfig(
                cells=40, labelled=16, proxy="naswot", budget=4, runs=2, draw_batch=16, max_draws=64
            ),
            arch2vec_rl_runs=2,
            graphpnas=GraphPNASConfig(hidden=32, steps=2, mixtures=3, random_steps=4, buffer_keep=4, fit_epochs=2),
            graphpnas_runs=2,
            arch2vec_bo_runs=2,
            cate_runs=2,
        ),
        arch2vec=Arch2VecConfig(hidden=(16, 8), latent=8, epochs=1, prior_samples=100),
        latent_search=LatentSearchConfig(episode=4, bo_init=4, bo_top=2, dngo=DNGOConfig(hidden=8, epochs=2)),
        cate=CATEConfig(layers=1, cross_layers=1, heads=2, d_model=8, d_ff=8, batch_size=256, epochs=1),
        graphpnas=SMOKE_GRAPHPNAS,
        orchestration=OrchestrationConfig(retries=0, zc_runner="threads"),  # one shard: a spawn would cost more
        rehearse=RehearseConfig(
            cells=40, labelled=16, gvae_epochs=200, ccnf_epochs=3, hl_evo_iterations=4, generate_n=2
        ),  # the tiny models need their own epochs to decode valid cells
        bench_gpu=GPUBenchConfig(
            zc_cells=2, workers=(1, 2), train_steps=2, sg_positions=4, images=64, launch_repeats=2
        ),
    ),  # fmt: skip
    "smoke": Profile(
        name="smoke",
        cells=SampleCellsConfig(n=500, shard_size=200, sampler=SamplerConfig(batch_size=1024)),
        zc=ScoreCellsConfig(n_labelled=24, shard_size=8, zc=ZCConfig(batch_size=8, resolution=8)),
        clusters=ClusterConfig(k_max=4, n_init=1),
        gvae=GVAEConfig(
            layers=2,
            hidden=32,
            latent=8,
            epochs=60,
            patience=60,
            validity_weight=0.5,  # a tiny model still decodes some valid cells, so GenCell and HL-Evo can run
            batch_size=64,
            labelled_batch_size=16,
            max_cells=200,
            prior_samples=200,
        ),
        ccnf=CCNFConfig(hidden=16, layers=2, atol=1e-3, rtol=1e-3, epochs=2, batch_size=64, patience=2, max_cells=200),
        hl_evo=HLEvoConfig(
            iterations=8,
            population=4,
            levels=(ConstraintConfig(max_params=1_000_000),),
            zc=SMOKE_SEARCH_ZC,
        ),
        sg=SGConfig(layers=1, hidden=32, heads=2, bins=4, epochs=80, patience=80, batch_size=8, dropout=0.0, lr=3e-3),
        generate=GenerateConfig(n=8, top_k=2, zc=SMOKE_SEARCH_ZC),
        graphpnas=SMOKE_GRAPHPNAS,
        orchestration=OrchestrationConfig(retries=1, retry_backoff_factor=0.1, zc_runner="threads"),
        rehearse=RehearseConfig(
            cells=200, labelled=16, gvae_epochs=60, ccnf_epochs=2, hl_evo_iterations=4, generate_n=2
        ),
        cate=CATEConfig(layers=2, cross_layers=2, heads=4, d_model=32, d_ff=32, batch_size=256, epochs=2),
    ),
    "demo": Profile(
        name="demo",
        cells=SampleCellsConfig(n=20_000, shard_size=5_000),
        zc=ScoreCellsConfig(n_labelled=200, shard_size=50, zc=ZCConfig(batch_size=16, resolution=16)),
        clusters=ClusterConfig(k_max=10),
        # Issue 20 (README, demo speed): hidden 64 is 1.9x faster per step than 128; on 10,000 cells it left a
        # held-out gap (0.987-0.991), which twice the cells over the same steps close; the dead-node weight 0.15
        # keeps validity above 0.90 on 3 seeds.
        gvae=GVAEConfig(
            hidden=64,
            latent=32,
            beta_kl=0.01,
            lr=2e-3,
            batch_size=64,
            labelled_batch_size=64,
            epochs=60,
            patience=30,
            validity_weight=0.15,  # 0.05, then 0.1 on the mean-form SNIP-SSNR z(x), 0.15 at 4 x 64 (README, G-VAE)
            validity_interpolation=0.5,
            max_cells=20_000,
        ),
        ccnf=CCNFConfig(
            hidden=256,
            layers=4,
            solver="rk4",  # 4 fixed steps: 16 NFE per solve against dopri5's 34 at 1e-4 (issue 20)
            fixed_steps=4,
            atol=1e-4,
            rtol=1e-4,
            epochs=60,
            patience=15,
            max_cells=5_000,
            # 0.2 missed success 0.99 in 1 of 7 CCNFs (0.987); 0.15 held on all 7 (0.996-1.000 at 1,000 draws per
            # family) at about 0.7x the distinct cells (README, demo speed)
            temperature=0.15,
        ),
        hl_evo=HLEvoConfig(
            iterations=200,
            population=32,
            levels=(ConstraintConfig(max_params=500_000), ConstraintConfig(max_params=1_000_000)),
            zc=ZCConfig(batch_size=16),
        ),
        generate=GenerateConfig(zc=ZCConfig(batch_size=16, proxies=GENERATE_PROXIES)),
        graphpnas=GraphPNASCellsConfig(zc=ZCConfig(batch_size=16)),  # hl_evo's scorer
        # A third of the dissertation's depth (L = 12, L_c = 24). Batch 128, not 1,024: NB-201's 15,625 cells give 29
        # steps of 1,024 pairs an epoch (NB-101's 423k gave 800); 10 epochs of 232 steps reach held-out masked
        # accuracy 0.488 (README, CATE). 5,000 GraphNet cells keep its pre-training short.
        cate=CATEConfig(layers=4, cross_layers=8, batch_size=128, max_cells=5_000),
    ),
    "paper": Profile(
        name="paper",
        cells=SampleCellsConfig(n=400_000, shard_size=10_000),
        zc=ScoreCellsConfig(
            n_labelled=50_000, shard_size=2_000, zc=ZCConfig(batch_size=64, resolution=32, tcet=PAPER_TCET)
        ),
        clusters=ClusterConfig(k_max=40),
        hl_evo=HLEvoConfig(zc=ZCConfig(tcet=PAPER_TCET)),
        generate=GenerateConfig(zc=ZCConfig(proxies=GENERATE_PROXIES, tcet=PAPER_TCET)),
        graphpnas=GraphPNASCellsConfig(zc=ZCConfig(tcet=PAPER_TCET)),  # hl_evo's scorer
        sg=SGConfig(layers=12, hidden=768, heads=12, batch_size=1, epochs=3),  # GPT-Neo-125M sizes (Table 6)
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None


def resolve_profile(profile: str | Profile, config_file: str | Path | None = None,
                    overrides: Mapping[str, Any] | None = None) -> Profile:  # fmt: skip
    """The one place a run's configuration is settled: a profile (by name or as given), then the sections of a
    YAML file (``load_config``), then dotted overrides ``{"gvae.epochs": 50, "zc.zc.tcet": "tcet_syn_none"}``;
    validated once, with the error naming the file or the field."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    if config_file is not None:
        prof = load_config(config_file, Profile, base=prof)
    if overrides:
        data = prof.model_dump(mode="json")
        for path, value in overrides.items():
            _set_dotted(data, path, value)
        try:
            prof = Profile.model_validate(data)
        except ValidationError as e:
            raise ConfigError(f"invalid overrides {dict(overrides)}: {_first_error(e)}") from None
    return prof


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["gvae.epochs=50", "hl_evo.levels=[{max_params: 500000}]"]`` -> dotted paths and YAML-parsed values."""
    out: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ConfigError(f"--set expects SECTION.FIELD=VALUE, got {item!r}")
        try:
            out[path.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {item!r}: the value does not parse: {e}") from None
    return out


def _set_dotted(data: dict, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for i, name in enumerate(parents):
        if not isinstance(node.get(name), dict):
            raise ConfigError(f"unknown config section {'.'.join(parents[: i + 1])!r} in override {path!r}; "
                              f"sections: {', '.join(k for k, v in data.items() if isinstance(v, dict))}")  # fmt: skip
        node = node[name]
    if leaf not in node:
        raise ConfigError(f"unknown config field {path!r}; {'.'.join(parents) or 'the profile'} has "
                          f"{', '.join(node)}")  # fmt: skip
    node[leaf] = value


def _merge(base: dict, update: Mapping[str, Any]) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"


def with_overrides(cfg: _Frozen, what: str, **overrides) -> _Frozen:
    """``cfg`` with the non-None ``overrides`` applied and validated (flow and CLI parameters)."""
    data = cfg.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return type(cfg)(**data)
    except ValueError as e:
        raise ConfigError(f"invalid {what} parameters: {e}") from None


def load_config(path: str | Path, model: type[BaseModel], base: BaseModel | None = None) -> BaseModel:
    """Read a YAML file into a config model (over ``base``'s values when given), the error naming the file
    and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"invalid config {path}: expected a mapping of fields, got {type(data).__name__}")
        if base is not None:
            data = _merge(base.model_dump(mode="json"), data)
        return model.model_validate(data)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid config {path}: {e}") from None
    except ValidationError as e:
        raise ConfigError(f"invalid config {path}: {_first_error(e)}") from None
