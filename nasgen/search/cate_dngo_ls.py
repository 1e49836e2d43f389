"""CATE-DNGO-LS (dissertation ch. 4) over CATE's encodings (``table:cate``): arch2vec-BO's loop with DNGO
refit for ``ls_epochs``, and after each round's ``bo_top`` proposals, for every top-``bo_top`` architecture of
the pool (by answer) that is not one of them, its nearest unvisited embedding is queried too (5 to 10 new
architectures per round). The authors' code also restarts from new random architectures after 20 rounds
without improvement; not here.
"""

from __future__ import annotations

import numpy as np

from nasgen.search.arch2vec_bo import bo_search
from nasgen.search.config import LatentSearchConfig, StrategyConfig
from nasgen.search.latent import Reward, RowOracle, table_oracle
from nasgen.search.strategy import Objective, Space, fraction


def dngo_ls_search(oracle: RowOracle, table: np.ndarray, rng: np.random.Generator, cfg: LatentSearchConfig,
                   reward: Reward = fraction) -> None:  # fmt: skip
    bo_search(oracle, table, rng, cfg, reward, local_search=True)


def cate_dngo_ls(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> None:
    oracle, table, reward = table_oracle(space, objective, "cate")
    dngo_ls_search(oracle, table, rng, cfg.latent, reward)
