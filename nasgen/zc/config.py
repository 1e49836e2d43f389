"""How networks are scored: the proxies' names and variants, the ZC config (stage `zc`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from nasgen.frozen import Frozen

# Named variants (nasgen.zc.variants; README, "Zero-cost proxies"). The record's `snip_ssnr` and `tcet` columns
# hold the variant its ZCConfig names: the form z(x) uses and the objective the searches maximise.
SNIP_SSNR_FORMS: tuple[str, ...] = ("snip_ssnr_sum", "snip_ssnr_mean", "snip_ssnr_norm")


TCET_SALIENCIES: tuple[str, ...] = ("syn", "snip")


TCET_MODES: tuple[str, ...] = ("none", "log", "log1p", "norm")


TCET_VARIANTS: tuple[str, ...] = tuple(f"tcet_{s}_{m}" for s in TCET_SALIENCIES for m in TCET_MODES)


# Proxies of the field's state of the art (each its module in nasgen.zc): MeCo and MeCo_opt, SWAP, AZ-NAS's
# expressivity, progressivity and trainability (its complexity is `flops`).
SOTA_PROXIES: tuple[str, ...] = ("meco", "meco_opt", "swap", "az_expressivity", "az_progressivity", "az_trainability")


# Every proxy nasgen had before the state of the art's: the default record of stage `nb201_proxies`, whose key
# (and cached artifacts) must not change when a proxy is added.
CLASSIC_PROXIES: tuple[str, ...] = (
    "naswot", "snip", "snip_ssnr", "synflow", "tcet", "zen", "zico", "params", "flops", *SNIP_SSNR_FORMS,
    *TCET_VARIANTS,
)  # fmt: skip


ALL_PROXIES: tuple[str, ...] = (*CLASSIC_PROXIES, *SOTA_PROXIES)


ProxyName = Literal[ALL_PROXIES]  # type: ignore[valid-type]


# What a search or `generate` may maximise: T-CET (the paper's), Zen-score and ZiCo (the ZenNet rows of paper
# Table 1), and the state of the art's per-network proxies (a rank ensemble needs a population: not one).
OBJECTIVES: tuple[str, ...] = ("tcet", "zen", "zico", *SOTA_PROXIES)


ObjectiveName = Literal[OBJECTIVES]  # type: ignore[valid-type]


SnipSSNRForm = Literal[SNIP_SSNR_FORMS]  # type: ignore[valid-type]


TCETVariant = Literal[TCET_VARIANTS]  # type: ignore[valid-type]


# The record the scoring stage stores by default: the ZC vector, T-CET and its parts. Zen and ZiCo are the
# baselines of paper Table 1; they cost extra passes and are opt-in.
DEFAULT_PROXIES: tuple[str, ...] = ("naswot", "snip", "snip_ssnr", "synflow", "tcet", "params", "flops")


class ZCConfig(Frozen):
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
    data: Literal["noise", "digits", "fashion_mnist", "cifar10"] = "noise"
    data_root: str | None = None  # cifar10's (or fashion_mnist's, default Debian's) root directory; never downloaded

    @field_validator("proxies")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or len(set(v)) != len(v):
            raise ValueError("proxies must be a non-empty list without repeats")
        return tuple(p for p in ALL_PROXIES if p in v)  # canonical order: same set, same cache key

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.resolution, self.resolution)


def with_objective_scored(data, default: str, default_proxies: tuple[str, ...]):
    """A config's raw fields with its ``objective`` (``default`` when not given) added to its ``zc.proxies``
    (naming the objective is enough). Proxies that are the class's defaults plus the default objective (a
    default config's, carried into a profile that names another objective) lose the default objective: naming
    ``objective: tcet`` scores what a T-CET config always scored."""
    if not isinstance(data, dict):
        return data
    objective = data.get("objective", default)
    zc = data.get("zc", ZCConfig())
    zc = zc if isinstance(zc, ZCConfig) else ZCConfig(**zc)
    carried = set(zc.proxies) == {*default_proxies, default} and default not in default_proxies
    proxies = tuple(p for p in zc.proxies if not (carried and p == default and objective != default))
    if objective not in proxies:
        proxies = (*proxies, objective)
    if proxies != zc.proxies:
        zc = ZCConfig(**{**zc.model_dump(), "proxies": proxies})
    return {**data, "zc": zc}


class ScoreCellsConfig(Frozen):
    """Stage `zc`: the ZC record of the first ``n_labelled`` cells of a cells artifact (all when None).

    The cells artifact is a uniform random stream, so its first n cells are a uniform random labelled subset.
    Device and fan-out back end are run options, not config: they do not change what is computed.
    """

    n_labelled: int | None = Field(None, ge=1)
    shard_size: int = Field(2_000, ge=1)
    zc: ZCConfig = ZCConfig()


ZC_VECTOR: tuple[str, ...] = ("naswot", "snip_ssnr", "params", "flops")  # z(x) of paper Eq. 1


PAPER_TCET = "tcet_snip_log1p"  # what the authors' code (visionbasicagent/HGENNAS) ranks networks by
