"""The search strategies' numbers (nasgen.search.strategies): HL-Evo and raw Evo (stage `hl_evo`), REA,
REINFORCE, the latent-space searches with DNGO's surrogate, and size budgets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from nasgen.device import device_name
from nasgen.frozen import Frozen
from nasgen.graphpnas.config import GraphPNASConfig
from nasgen.zc.config import ObjectiveName, ZCConfig, with_objective_scored


class ConstraintConfig(Frozen):
    """A size budget of a searched network (None: unconstrained in that dimension). ``max_latency_ms``: the
    latency predicted by the search's latency model (``hl_evo.latency_device``); a search without one refuses it."""

    max_params: int | None = Field(None, ge=1)
    max_flops: int | None = Field(None, ge=1)  # multiply-accumulates, as nasgen.space.cost counts them
    max_latency_ms: float | None = Field(None, gt=0)

    @property
    def name(self) -> str:
        parts = [
            f"params<={self.max_params}" if self.max_params else "",
            f"flops<={self.max_flops}" if self.max_flops else "",
            f"latency<={self.max_latency_ms}ms" if self.max_latency_ms else "",
        ]
        return ",".join(p for p in parts if p) or "unconstrained"


class HLEvoConfig(Frozen):
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
    # What HL-Evo and every search maximise (nasgen.zc.config.OBJECTIVES): MeCo_opt, chosen on Fashion-MNIST
    # over three seeds of paper Table 1's rows (docs: the state of the art's proxies); tcet: the paper's (the
    # paper profile's); zen / zico: the ZenNet rows of paper Table 1.
    objective: ObjectiveName = "meco_opt"
    # What stage `hl_evo` runs: Algorithm 1, or random HL sequences with the same GenCell and as many admitted
    # networks as iterations (nasgen.search.hl_random: the history of the "SG on random search" ablation).
    # Left out of the stage's key at its default, so earlier artifacts keep theirs.
    strategy: Literal["hl_evo", "hl_random"] = "hl_evo"
    # hl_random: GenCell draws per family made once, each position then picks one of its family's uniformly;
    # a fresh GenCell solve per position would cost one per draw, and ~99.8% of draws break a 100k budget.
    random_pool: int = Field(32, ge=1)
    seed: int = 0
    zc: ZCConfig = ZCConfig()  # the network-level scorer: input (C, H, W), classes, batch, proxies
    # Record every history network's predicted latency on this device (cpu | cuda | cuda:N; the pretrain builds
    # its latency model for the scorer's input), a `latency_ms` column an SG can condition on. None: no latency
    # (left out of the stage's key then, so earlier artifacts keep theirs).
    latency_device: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _score_the_objective(cls, data):
        """The objective is always among the scored proxies: naming it (objective=zen) is enough."""
        fields = cls.model_fields
        return with_objective_scored(data, fields["objective"].default, fields["zc"].default.proxies)

    @field_validator("latency_device")
    @classmethod
    def _device(cls, v: str | None) -> str | None:
        return None if v is None else device_name(v)


class DNGOConfig(Frozen):
    """DNGO's surrogate (nasgen.search.dngo): arch2vec-BO's one hidden layer of 128 and 100 epochs per round
    (dissertation ch. 3); Adam lr and batch size are pybnn's defaults, which the authors' code runs."""

    hidden: int = Field(128, ge=1)
    hidden_layers: int = Field(1, ge=1)
    epochs: int = Field(100, ge=1)
    lr: float = Field(0.01, gt=0)
    batch_size: int = Field(10, ge=1)
    normalize_output: bool = False


class LatentSearchConfig(Frozen):
    """Searches over a frozen embedding table (nasgen.search.arch2vec_rl, .arch2vec_bo, .cate_dngo_ls),
    dissertation ch. 3 on NB-201 CIFAR-10.

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


class REAConfig(Frozen):
    """Regularised evolution (Real et al. 2019) as NB201 runs it (R_EA): population 10, tournament sample 3."""

    population: int = Field(10, ge=2)
    sample: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _tournament_fits(self) -> REAConfig:
        if self.sample > self.population:
            raise ValueError(f"rea sample {self.sample} exceeds rea population {self.population}")
        return self


class REINFORCEConfig(Frozen):
    """REINFORCE on independent categorical logits per decision (NATS-Bench's: Adam lr 0.01, 6 x 5 logits)."""

    lr: float = Field(0.01, gt=0)
    baseline_momentum: float = Field(0.9, ge=0, lt=1)  # exponential moving average of the reward


class StrategyConfig(Frozen):
    """Every strategy's numbers, one section each: what a benchmark hands to ``nasgen.search.strategies.run``.
    ``evo`` gives T and N (HL-Evo, raw Evo); ``graphpnas_max_refused`` stops a GraphPNAS run on GraphNet cells
    after that many draws over the budget (the stage `graphpnas` setting)."""

    evo: HLEvoConfig = HLEvoConfig()
    rea: REAConfig = REAConfig()
    reinforce: REINFORCEConfig = REINFORCEConfig()
    latent: LatentSearchConfig = LatentSearchConfig()
    graphpnas: GraphPNASConfig = GraphPNASConfig()
    graphpnas_max_refused: int = Field(5_000, ge=1)
