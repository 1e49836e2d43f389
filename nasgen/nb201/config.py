"""NAS-Bench-201: the proxy stage, the hierarchical method on it, the search protocols."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from nasgen.frozen import Frozen
from nasgen.graphpnas.config import GraphPNASConfig
from nasgen.search.config import LatentSearchConfig, REAConfig, REINFORCEConfig, StrategyConfig
from nasgen.space.config import NB201_CELLS
from nasgen.zc.config import CLASSIC_PROXIES, ProxyName, ZCConfig


class NB201ProxiesConfig(Frozen):
    """Stage `nb201_proxies`: every proxy of a seeded sample of NAS-Bench-201 architectures on one network.
    A config-only stage's config: ``SECTION`` makes it the profile's section of that name (nasgen.config)."""

    SECTION: ClassVar[str] = "nb201_proxies"

    n: int | None = Field(1000, ge=3)  # architectures drawn without replacement (None: all 15,625)
    seed: int = 0
    network: Literal["alpha_x", "nb201"] = "alpha_x"  # the pipeline's reference macro, or NB-201's own network
    zc: ZCConfig = ZCConfig(batch_size=16, resolution=16, proxies=CLASSIC_PROXIES)  # `bench nb201` asks for all


HierarchyCondition = Literal["family", "best_cell"]


class NB201HierarchyConfig(Frozen):
    """The hierarchical method on NB-201 (nasgen.stages.nb201_hierarchy): the profile's clusters / G-VAE / CCNF
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


class NB201SearchConfig(Frozen):
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
    rea: REAConfig = REAConfig()  # NB201's R_EA
    reinforce: REINFORCEConfig = REINFORCEConfig()  # NATS-Bench's REINFORCE
    hierarchy: NB201HierarchyConfig = NB201HierarchyConfig()
    graphpnas: GraphPNASConfig = GraphPNASConfig()  # its NB-201 settings (paper Appendix A)
    graphpnas_runs: int = Field(10, ge=1)  # the paper's 10
    arch2vec_rl_runs: int = Field(500, ge=1)  # the dissertation's 500; about 0.13 s each
    arch2vec_bo_runs: int = Field(30, ge=1)  # each refits DNGO 27 times (150 queries, 16 + 5 per round): ~26 s
    cate_dngo_ls_runs: int = Field(30, ge=1)  # CATE-DNGO-LS (30 epochs per refit, 5-10 queries per round)
    # HM-NAS (one-shot: the profile's `supernet` and `hm_nas` on its dataset, one lookup of the derived cell); a
    # run is a supernet training (stages cached): 0 leaves the row out
    hm_nas_runs: int = Field(3, ge=0)
    seed: int = 0

    def runs(self, strategy: str) -> int:
        """Runs of a strategy under the oracle protocol: its ``<name>_runs`` field, else ``oracle_runs``."""
        return getattr(self, f"{strategy}_runs", self.oracle_runs)

    def strategies(self, latent: LatentSearchConfig) -> StrategyConfig:
        """The strategies' numbers on NB-201 (the profile's ``latent_search`` for the latent-space searches)."""
        return StrategyConfig(rea=self.rea, reinforce=self.reinforce, graphpnas=self.graphpnas, latent=latent)
