"""arch2vec-RL, arch2vec-BO and CATE-DNGO-LS over GraphNet cells: the rows of a frozen encoder's embedding table
(stage `arch2vec_graphnet`'s, or CATE's encodings of the same cells) are the candidates, a row's answer is the
search objective (T-CET by default) of alpha_x, the reference macro of that cell (paper Eq. 1), scored by the
same ``ZCObjective`` — cache, constraint and evaluation count — as HL-Evo, raw Evo and random search, so all are
compared at equal ZC evaluations.

Cells whose alpha_x breaks the constraint are dropped from the table before the search (their cost is
analytic, no evaluation spent). The searches are the NB-201 ones unchanged; T-CET values (about 1e8 at the demo
ZC config) become rewards as log10(T-CET) / 10, about 0.7-0.85, the scale of the accuracy fractions the
dissertation's baseline (0.4) and EI target (0.95) were set for. A failed score is reward 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nasgen.arch2vec.config import LatentSearchConfig
from nasgen.arch2vec.search import bo_search, dngo_ls_search, rl_search
from nasgen.errors import ConfigError
from nasgen.search.alpha_x import AlphaXOracle, alpha_x_satisfies
from nasgen.search.config import ConstraintConfig
from nasgen.search.evolution import SearchResult
from nasgen.search.objective import ZCObjective
from nasgen.space.cell import Cell

SEARCHES = {"arch2vec_rl": rl_search, "arch2vec_bo": bo_search, "cate_dngo_ls": dngo_ls_search}


def log_reward(value: float) -> float:
    return math.log10(value) / 10 if math.isfinite(value) and value > 0 else 0.0


def within(cells: Sequence[Cell], table: np.ndarray, constraint: ConstraintConfig, input_shape, classes):
    """The cells (and their embedding rows) whose alpha_x satisfies ``constraint``."""
    keep = [i for i, c in enumerate(cells) if alpha_x_satisfies(c, constraint, input_shape, classes)]
    if not keep:
        raise ConfigError(f"no cell of the pool has an alpha_x satisfying {constraint.name}")
    return [cells[i] for i in keep], np.asarray(table)[keep]


def search_cells(method: str, cells: Sequence[Cell], table: np.ndarray, evaluator: ZCObjective,
                 constraint: ConstraintConfig, budget: int, seed: int,
                 cfg: LatentSearchConfig) -> SearchResult:  # fmt: skip
    """One seeded run of a search of SEARCHES over the pool's alpha_x networks, ``budget`` ZC evaluations."""
    if method not in SEARCHES:
        raise ConfigError(f"unknown cell search {method!r}; expected one of {list(SEARCHES)}")
    zc = evaluator.cfg
    pool, rows = within(cells, table, constraint, zc.input_shape, zc.classes)
    oracle = AlphaXOracle(pool, evaluator, constraint, budget, method)
    SEARCHES[method](oracle, rows, np.random.default_rng(seed), cfg, reward=log_reward)
    oracle.result.discarded_constraint = len(cells) - len(pool)
    return oracle.result
