"""GraphPNAS on GraphNet cells: the reward of a generated cell is log10 of the search objective (T-CET by
default) of alpha_x, its reference macro (paper Eq. 1), scored by an ``ZCObjective`` — cache, evaluation count —
as HL-Evo, raw Evo, random search and arch2vec's searches are, so all compare at equal ZC evaluations
(``AlphaXOracle``). A cell whose alpha_x breaks ``max_params`` is refused before any evaluation: its cost is
analytic; it is remembered as seen and never buffered. The random explorer is the configured Erdős–Rényi or
Watts–Strogatz prior (``explorer``); duplicates are canonical cells (isomorphic draws are one cell).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nasgen.errors import InvalidCellError
from nasgen.graphpnas.config import GraphPNASCellsConfig
from nasgen.graphpnas.explorer import prior
from nasgen.graphpnas.graphs import Graph, graphnet_space, to_cell
from nasgen.graphpnas.model import Generator
from nasgen.graphpnas.search import ReplayBuffer, search
from nasgen.search.alpha_x import AlphaXOracle, alpha_x_satisfies
from nasgen.search.config import ConstraintConfig
from nasgen.search.evolution import SearchResult
from nasgen.search.objective import ZCObjective
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig

METHOD = "graphpnas"


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
    return alpha_x_satisfies(cell, constraint_of(cfg), cfg.zc.input_shape, cfg.zc.classes)


def search_cells(cfg: GraphPNASCellsConfig, evaluator: ZCObjective, seed: int | None = None,
                 op_weights: Sequence[float] = SamplerConfig().op_count_weights,
                 progress: Callable[[], None] | None = None) -> CellSearch:  # fmt: skip
    """One seeded GraphPNAS run of ``cfg.evaluations`` ZC evaluations (or until ``max_refused`` refusals).
    The explorer draws op counts with the space sampler's ``op_weights``, so its cells have the sizes of the
    random-cell baseline's."""
    space = graphnet_space()
    oracle = AlphaXOracle([], evaluator, constraint_of(cfg), cfg.evaluations, METHOD)
    refused = 0

    def evaluate(g: Graph) -> float | None:
        nonlocal refused
        cell = to_cell(g)
        if not within_budget(cell, cfg):
            refused += 1
            return None
        value = oracle.query_cell(cell)
        if progress is not None:
            progress()
        return math.log10(value) if math.isfinite(value) and value > 0 else None

    def done() -> bool:
        return oracle.left <= 0 or refused >= cfg.max_refused

    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed if seed is None else seed)
    explore = prior(space, cfg.graphpnas, op_weights)
    model, buffer = search(space, evaluate, done, explore, lambda g: to_cell(g).code, cfg.graphpnas, rng,
                           budget=cfg.evaluations)  # fmt: skip
    return CellSearch(model, buffer, oracle.result, refused, time.perf_counter() - t0)


def sample_cells(model: Generator, n: int, seed: int) -> list[Cell | None]:
    """``n`` draws of the learnt distribution as cells (None where a draw is not a valid cell)."""
    graphs, _ = model.sample(n, torch.Generator().manual_seed(seed))
    out: list[Cell | None] = []
    for g in graphs:
        try:
            out.append(to_cell(g))
        except InvalidCellError:
            out.append(None)
    return out


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
