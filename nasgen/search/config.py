"""HL-Evo and its baselines (stage `hl_evo`), size budgets, DNGO's surrogate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nasgen.frozen import Frozen
from nasgen.zc.config import ZCConfig


class ConstraintConfig(Frozen):
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


class DNGOConfig(Frozen):
    """DNGO's surrogate (nasgen.search.dngo): arch2vec-BO's one hidden layer of 128 and 100 epochs per round
    (dissertation ch. 3); Adam lr and batch size are pybnn's defaults, which the authors' code runs."""

    hidden: int = Field(128, ge=1)
    hidden_layers: int = Field(1, ge=1)
    epochs: int = Field(100, ge=1)
    lr: float = Field(0.01, gt=0)
    batch_size: int = Field(10, ge=1)
    normalize_output: bool = False
