"""GraphNet cells searched through their reference network alpha_x (paper Eq. 1): an oracle that answers the
objective of alpha_x(cell) within an evaluation budget and keeps the run's history, and the analytic budget
check that refuses a cell before any evaluation. Shared by the latent-space searches and GraphPNAS."""

from __future__ import annotations

import time
from collections.abc import Sequence

from nasgen.search.config import ConstraintConfig
from nasgen.search.evolution import Candidate, Member, SearchResult, history_row
from nasgen.search.objective import ZCObjective, satisfies
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import reference_macro


class AlphaXOracle:
    """Answers the objective of alpha_x(cell) for rows of a pool, at most ``budget`` evaluations, and keeps the
    run's history as a ``SearchResult`` (the search benchmark's currency)."""

    def __init__(self, cells: Sequence[Cell], evaluator: ZCObjective, constraint: ConstraintConfig, budget: int,
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
