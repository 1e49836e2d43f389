"""Cells from the trained models: CCNF latents decoded by the G-VAE (paper Section 4.2, Fig. 3).

``synonyms(r, n)`` samples p(x | r), conditioned on r's transformed ZC vector z(r) (measured when given,
else the G-VAE predictor's q(f(r))); ``gen_cell(k, n)`` samples cluster k, conditioned on its GMM mean mu_k
(GenCell of Algorithm 1). A latent whose greedy decoding is not a valid cell is a failure: it is counted
and redrawn (at most ``max_tries`` rounds), never repaired. The two latent-space baselines of paper Table 8
(rescaled prior, neighbourhood f^-1(f(r) + eps)) live here too, so every method decodes the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from nasgen.ccnf.cnf import CCNF
from nasgen.ccnf.config import CCNFConfig
from nasgen.clusters.gmm import ClusterModel
from nasgen.errors import ConfigError, NasgenError
from nasgen.gvae import GVAE, Decoded, decode, encode
from nasgen.space.cell import Cell
from nasgen.zc.conditions import with_exact_costs
from nasgen.zc.config import ZCConfig
from nasgen.zc.transform import ZCTransform


class GenerationError(NasgenError):
    """The generative models produced no valid cell within the allowed number of tries."""


@dataclass
class CellSampler:
    gvae: GVAE
    flow: CCNF
    clusters: ClusterModel
    transform: ZCTransform
    latent_mean: torch.Tensor  # (D,) of the CCNF's training latents: the rescaled prior of the baselines
    latent_std: torch.Tensor
    cfg: CCNFConfig
    zc: ZCConfig = field(default_factory=ZCConfig)  # the scoring config: alpha_x's input and classes for costs

    @property
    def device(self) -> torch.device:
        return self.latent_mean.device

    # --- conditions -----------------------------------------------------------------------------------
    def condition_of(self, cells: Sequence[Cell], zc: np.ndarray | None = None) -> torch.Tensor:
        """Transformed ZC vectors of ``cells``: of the raw ``zc`` rows when given, else predicted by q (with
        exact params/FLOPs under ``exact_costs``, as the CCNF was trained)."""
        if zc is not None:
            zc = np.atleast_2d(np.asarray(zc, dtype=np.float64))
            if len(zc) != len(cells):
                raise ConfigError(f"got {len(zc)} ZC vectors for {len(cells)} cells")
            return torch.as_tensor(self.transform(zc), dtype=torch.float32, device=self.device)
        with torch.no_grad():
            cond = self.gvae.predictor(encode(self.gvae, cells))
        if self.cfg.exact_costs:
            exact = with_exact_costs(cond.cpu().numpy(), cells, self.transform, self.zc)
            cond = torch.as_tensor(exact, device=self.device)
        return cond

    def cluster_condition(self, cluster: int) -> torch.Tensor:
        if not 0 <= int(cluster) < self.clusters.k:
            raise ConfigError(f"cluster {cluster} does not exist: the GMM has clusters 0..{self.clusters.k - 1}")
        return torch.as_tensor(self.clusters.means[int(cluster)], dtype=torch.float32, device=self.device)

    # --- raw draws (failures included) ------------------------------------------------------------------
    def ccnf_latents(self, cond: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One CCNF latent per condition row, solved in batches of ``sample_batch``."""
        b = self.cfg.sample_batch
        t = self.cfg.temperature
        return torch.cat([self.flow.sample(cond[i : i + b], generator, t) for i in range(0, len(cond), b)])

    def draw(self, cond: torch.Tensor, generator: torch.Generator) -> list[Decoded]:
        return decode(self.gvae, self.ccnf_latents(cond, generator))

    def draw_prior(self, n: int, generator: torch.Generator) -> list[Decoded]:
        eps = torch.randn((n, len(self.latent_mean)), generator=generator).to(self.device)
        return decode(self.gvae, self.latent_mean + self.latent_std * eps)

    def draw_neighbourhood(self, cell: Cell, n: int, scale: float, generator: torch.Generator) -> list[Decoded]:
        """f^-1(f(r) + eps), eps ~ N(0, (scale * latent std)^2) per dimension."""
        f = encode(self.gvae, [cell])[0]
        eps = torch.randn((n, len(f)), generator=generator).to(self.device)
        return decode(self.gvae, f + scale * self.latent_std * eps)

    # --- valid cells --------------------------------------------------------------------------------
    def synonyms(self, cell: Cell, n: int, zc: np.ndarray | None = None, seed: int = 0) -> list[Cell]:
        """``n`` valid cells from p(x | r = cell)."""
        cond = self.condition_of([cell], None if zc is None else [zc])[0]
        return self._valid(cond, n, seed, f"synonyms of {cell.cell_id}")

    def cell_source(self) -> Callable[[int, np.random.Generator], Cell]:
        """GenCell for Algorithm 1: one valid draw of a cluster, seeded from the search's own rng."""

        def gen_cell(cluster: int, rng: np.random.Generator) -> Cell:
            return self.gen_cell(cluster, 1, seed=int(rng.integers(2**31)))[0]

        return gen_cell

    def gen_cell(self, cluster: int, n: int = 1, seed: int = 0) -> list[Cell]:
        """``n`` valid cells of GMM cluster ``cluster`` (condition = its mean)."""
        return self._valid(self.cluster_condition(cluster), n, seed, f"cells of cluster {cluster}")

    def _valid(self, cond: torch.Tensor, n: int, seed: int, what: str) -> list[Cell]:
        if n < 1:
            raise ConfigError(f"asked for {n} {what}; n must be at least 1")
        gen = torch.Generator().manual_seed(seed)
        out: list[Cell] = []
        for _ in range(self.cfg.max_tries):
            need = n - len(out)
            out += [d.cell for d in self.draw(cond.expand(need, -1), gen) if d.ok]
            if len(out) >= n:
                return out[:n]
        raise GenerationError(
            f"the CCNF + G-VAE decoder gave {len(out)} valid {what} of {n} in {self.cfg.max_tries} rounds"
        )
