"""GraphPNAS as a strategy (paper Section 3.2): the space's graph form (``graphs``) is generated, each graph
answered by the objective of the architecture it is (NB-201: its index; GraphNet: alpha_x of the cell, paper
Eq. 1), and the generator refit on a replay buffer of the best (nasgen.graphpnas.search). An architecture the
objective refuses (GraphNet: alpha_x over the budget, analytic cost) costs no evaluation: it is remembered as
seen and never buffered; ``graphpnas_max_refused`` refusals end a run early.

``search_cells`` is stage `graphpnas`'s call (GraphNet cells, the stage's config); ``sample_stats`` describes
any generator's cell draws beside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nasgen.graphpnas.config import GraphPNASCellsConfig, GraphPNASConfig
from nasgen.graphpnas.model import Generator
from nasgen.graphpnas.search import ReplayBuffer, search
from nasgen.search.config import ConstraintConfig, StrategyConfig
from nasgen.search.evolution import SearchResult
from nasgen.search.graphnet import GraphNetSpace, MacroObjective
from nasgen.search.objective import ZCObjective, satisfies
from nasgen.search.strategy import Objective, Space
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.cost import macro_cost

METHOD = "graphpnas"


@dataclass
class Run:
    model: Generator
    buffer: ReplayBuffer
    refused: int  # draws the objective refused (no evaluation spent)


def run(space: Space, objective: Objective, rng: np.random.Generator, cfg: GraphPNASConfig,
        max_refused: int | None = None, progress: Callable[[], None] | None = None) -> Run:  # fmt: skip
    """One GraphPNAS run until the objective's budget is spent (or ``max_refused`` refusals)."""
    form = space.graphs
    refused = 0

    def evaluate(g) -> float | None:
        nonlocal refused
        arch = form.arch(g)
        if not objective.admits(arch):
            refused += 1
            return None
        value = objective.query(arch)
        if progress is not None:
            progress()
        return form.reward(value)

    def done() -> bool:
        return objective.left <= 0 or (max_refused is not None and refused >= max_refused)

    budget = None if math.isinf(objective.left) else int(objective.left)  # paces a buffer_share
    model, buffer = search(form.space, evaluate, done, form.explorer(cfg), form.key, cfg, rng, budget=budget)
    return Run(model, buffer, refused)


def graphpnas(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> None:
    run(space, objective, rng, cfg.graphpnas, cfg.graphpnas_max_refused)


@dataclass
class CellSearch:
    model: Generator
    buffer: ReplayBuffer
    result: SearchResult  # every evaluated alpha_x, in order (the search benchmark's currency)
    refused: int  # draws whose alpha_x broke max_params (no evaluation spent)
    seconds: float


def constraint_of(cfg: GraphPNASCellsConfig) -> ConstraintConfig:
    return ConstraintConfig(max_params=cfg.max_params)


def within_budget(cell: Cell, cfg: GraphPNASCellsConfig) -> bool:
    space = GraphNetSpace(cfg.zc.input_shape, cfg.zc.classes)
    return satisfies(macro_cost(space.alpha_x(cell)), constraint_of(cfg))


def search_cells(cfg: GraphPNASCellsConfig, evaluator: ZCObjective, seed: int | None = None,
                 op_weights: Sequence[float] = SamplerConfig().op_count_weights,
                 progress: Callable[[], None] | None = None) -> CellSearch:  # fmt: skip
    """One seeded GraphPNAS run on GraphNet cells of ``cfg.evaluations`` ZC evaluations (or until
    ``max_refused`` refusals). The explorer draws op counts with ``op_weights`` (the space sampler's), so its
    cells have the sizes of the random-cell baseline's."""
    sampler = SamplerConfig().model_copy(update={"op_count_weights": tuple(op_weights)})
    space = GraphNetSpace(cfg.zc.input_shape, cfg.zc.classes, sampler)
    objective = MacroObjective(evaluator, constraint_of(cfg), cfg.evaluations, METHOD)
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed if seed is None else seed)
    r = run(space, objective, rng, cfg.graphpnas, cfg.max_refused, progress)
    return CellSearch(r.model, r.buffer, objective.result, r.refused, time.perf_counter() - t0)


def sample_stats(cells: Sequence[Cell | None], cfg: GraphPNASCellsConfig,
                 family_of: Callable[[list[Cell]], np.ndarray] | None = None) -> dict:  # fmt: skip
    """Validity, uniqueness (distinct canonical cells among the valid draws), the share within max_params and,
    with ``family_of``, the number of distinct families among the valid draws: any generator's draws."""
    valid = [c for c in cells if c is not None]
    distinct = len({c.code for c in valid})
    out = {
        "samples": len(cells),
        "validity": len(valid) / max(len(cells), 1),
        "distinct_cells": distinct,
        "uniqueness": distinct / max(len(valid), 1),
        "within_budget": float(np.mean([within_budget(c, cfg) for c in valid])) if valid else 0.0,
    }
    if family_of is not None and valid:
        fam = np.asarray(family_of(valid))
        out["families"] = int(len(np.unique(fam)))
        out["family_counts"] = np.bincount(fam).tolist()
    return out


def top_mean(result: SearchResult, k: int = 10) -> float:
    """Mean of the ``k`` best objective values the run evaluated (fewer if it evaluated fewer)."""
    fits = sorted((r["fitness"] for r in result.history if math.isfinite(r["fitness"])), reverse=True)
    return float(np.mean(fits[:k])) if fits else float("nan")
