"""arch2vec-BO (dissertation ch. 3): DNGO with expected improvement over a frozen embedding table
(``table:arch2vec``). ``bo_init`` random architectures, then rounds of: DNGO refit on every answer so far
(as rewards), EI over ``ei_best`` on every unvisited row, the ``bo_top`` highest queried. With
``local_search`` it is CATE-DNGO-LS's loop (nasgen.search.cate_dngo_ls).
"""

from __future__ import annotations

import numpy as np
import torch

from nasgen.search.config import LatentSearchConfig, StrategyConfig
from nasgen.search.dngo import DNGO, expected_improvement
from nasgen.search.latent import Reward, RowOracle, nearest_unvisited, table_oracle
from nasgen.search.strategy import Objective, Space, fraction


def bo_search(oracle: RowOracle, table: np.ndarray, rng: np.random.Generator, cfg: LatentSearchConfig,
              reward: Reward = fraction, local_search: bool = False) -> None:  # fmt: skip
    table = np.asarray(table, dtype=np.float32)
    emb = torch.from_numpy(table)
    visited = np.zeros(len(table), dtype=bool)
    rows: list[int] = []
    answers: list[float] = []

    def ask(row: int) -> None:
        visited[row] = True
        rows.append(row)
        answers.append(reward(oracle.query(row)))

    for row in rng.choice(len(table), size=min(cfg.bo_init, oracle.left, len(table)), replace=False):
        ask(int(row))
    dngo = cfg.dngo.model_copy(update={"epochs": cfg.ls_epochs}) if local_search else cfg.dngo
    while oracle.left > 0 and not visited.all():
        model = DNGO(dngo, seed=int(rng.integers(2**31))).fit(table[rows], np.asarray(answers))
        free = np.flatnonzero(~visited)
        mean, std = model.predict(table[free])
        ei = expected_improvement(mean, std, cfg.ei_best)
        new = [int(free[k]) for k in np.argsort(-ei, kind="stable")[: min(cfg.bo_top, oracle.left)]]
        for row in new:
            ask(row)
        if not local_search:
            continue
        top = [rows[k] for k in np.argsort(-np.asarray(answers), kind="stable")[: cfg.bo_top]]
        for row in (r for r in top if r not in new):
            if oracle.left <= 0 or visited.all():
                break
            ask(nearest_unvisited(emb, emb[row], visited))


def arch2vec_bo(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> None:
    oracle, table, reward = table_oracle(space, objective, "arch2vec")
    bo_search(oracle, table, rng, cfg.latent, reward)
