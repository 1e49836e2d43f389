"""GraphPNAS's generator and its search on GraphNet cells (stage `graphpnas`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from nasgen.frozen import Frozen
from nasgen.zc.config import ZCConfig


class GraphPNASConfig(Frozen):
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


class GraphPNASCellsConfig(Frozen):
    """Stage `graphpnas` and `bench generators`: GraphPNAS on GraphNet cells (nasgen.search.graphpnas).

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
