"""The hierarchical method on a cell space (NB-201: Algorithm 1's GenCell followed by a zero-cost pick, all
the hierarchy can do where the macro skeleton is fixed): CCNF samples at one condition until the budget's
worth of distinct cells the space contains (``cell_draws``), each one query; a cell several architectures
compute is realised as one of them drawn with the run's rng. A decoded cell outside the space is a miss,
counted, never projected onto the space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nasgen.ccnf.sampling import GenerationError
from nasgen.search.config import StrategyConfig
from nasgen.search.strategy import CellDraws, Objective, Space
from nasgen.space.cell import Cell


@dataclass
class Candidates:
    cells: list[Cell]  # distinct cells of the space in the order they were drawn
    drawn: int  # CCNF latents decoded
    valid: int  # of them, valid GraphNet cells
    in_space: int  # of those, cells the space contains


def cell_candidates(draws: CellDraws, n: int, seed: int, space: str = "space") -> Candidates:
    """Up to ``n`` distinct cells of the space from the CCNF at the condition (decoded ``draw_batch`` at a
    time, at most ``max_draws`` latents)."""
    gen = torch.Generator().manual_seed(seed)
    found: dict[str, Cell] = {}
    drawn = valid = in_space = 0
    while len(found) < n and drawn < draws.max_draws:
        batch = min(draws.draw_batch, draws.max_draws - drawn)
        for d in draws.sampler.draw(draws.condition.expand(batch, -1), gen):
            if d.ok:
                valid += 1
                if draws.archs(d.cell):
                    in_space += 1
                    if len(found) < n:
                        found.setdefault(d.cell.cell_id, d.cell)
        drawn += batch
    if not found:
        raise GenerationError(f"no {space} cell among {drawn} CCNF samples ({valid} valid GraphNet cells)")
    return Candidates(list(found.values()), drawn, valid, in_space)


def hierarchy(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> dict:
    """One run; what it drew (latents, the valid share, the share in the space, distinct cells) is returned."""
    draws = space.cell_draws
    found = cell_candidates(draws, int(objective.left), int(rng.integers(2**31)), space.name)
    for cell in found.cells:
        objective.query(int(rng.choice(draws.archs(cell))))
    return {"latents": found.drawn, "valid": found.valid / found.drawn,
            "in_space": found.in_space / max(found.valid, 1), "distinct_cells": len(found.cells)}  # fmt: skip
