"""arch2vec-RL, arch2vec-BO and CATE-DNGO-LS over GraphNet cells: the rows of a frozen encoder's embedding table
(stage `arch2vec_graphnet`'s, or CATE's encodings of the same cells) are the candidates, a row's answer is the
search objective (T-CET by default) of alpha_x, the reference macro of that cell (paper Eq. 1), scored by the
same ``Evaluator`` — cache, constraint and evaluation count — as HL-Evo, raw Evo and random search, so all are
compared at equal ZC evaluations.

Cells whose alpha_x breaks the constraint are dropped from the table before the search (their cost is
analytic, no evaluation spent). The searches are the NB-201 ones unchanged; T-CET values (about 1e8 at the demo
ZC config) become rewards as log10(T-CET) / 10, about 0.7-0.85, the scale of the accuracy fractions the
dissertation's baseline (0.4) and EI target (0.95) were set for. A failed score is reward 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from nasgen.arch2vec.config import LatentSearchConfig
from nasgen.arch2vec.search import bo_search, dngo_ls_search, rl_search
from nasgen.errors import ConfigError
from nasgen.search.config import ConstraintConfig
from nasgen.search.evolution import Candidate, Member, SearchResult, history_row
from nasgen.search.objective import Evaluator, satisfies
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import reference_macro

SEARCHES = {"arch2vec_rl": rl_search, "arch2vec_bo": bo_search, "cate_dngo_ls": dngo_ls_search}


def log_reward(value: float) -> float:
    return math.log10(value) / 10 if math.isfinite(value) and value > 0 else 0.0


class AlphaXOracle:
    """Answers the objective of alpha_x(cell) for rows of a pool, at most ``budget`` evaluations, and keeps the
    run's history as a ``SearchResult`` (the search benchmark's currency)."""

    def __init__(self, cells: Sequence[Cell], evaluator: Evaluator, constraint: ConstraintConfig, budget: int,
                 method: str) -> None:  # fmt: skip
        self.cells, self.evaluator, self.constraint = cells, evaluator, constraint
        self.budget, self.method = budget, method
        self.start = evaluator.evaluations
        self.result = SearchResult()
        self.t0 = time.perf_counter()

    @property
    def left(self) -> int:
        return self.budget - (self.evaluator.evaluations - self.start)

    def query(self, row: int) -> float:
        return self.query_cell(self.cells[row])

    def query_cell(self, cell: Cell) -> float:
        """The objective of alpha_x(cell) (one evaluation unless the evaluator's cache has it)."""
        macro = reference_macro(cell, self.evaluator.cfg.input_shape, self.evaluator.cfg.classes)
        rec = self.evaluator.record(macro)
        m = Member(Candidate(macro, None, self.method), macro_cost(macro), rec, self.evaluator.fitness(rec))
        res = self.result
        res.best = m if res.best is None or m.fitness > res.best.fitness else res.best
        spent = self.evaluator.evaluations - self.start
        res.history.append(history_row(m, len(res.history), self.method, self.constraint, self.evaluator, spent,
                                       time.perf_counter() - self.t0))  # fmt: skip
        res.evaluations = spent
        return m.fitness


def alpha_x_satisfies(cell: Cell, constraint: ConstraintConfig, input_shape, classes) -> bool:
    """Whether alpha_x(cell) meets ``constraint`` (analytic cost: no evaluation)."""
    return satisfies(macro_cost(reference_macro(cell, input_shape, classes)), constraint)


def within(cells: Sequence[Cell], table: np.ndarray, constraint: ConstraintConfig, input_shape, classes):
    """The cells (and their embedding rows) whose alpha_x satisfies ``constraint``."""
    keep = [i for i, c in enumerate(cells) if alpha_x_satisfies(c, constraint, input_shape, classes)]
    if not keep:
        raise ConfigError(f"no cell of the pool has an alpha_x satisfying {constraint.name}")
    return [cells[i] for i in keep], np.asarray(table)[keep]


def search_cells(method: str, cells: Sequence[Cell], table: np.ndarray, evaluator: Evaluator,
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
