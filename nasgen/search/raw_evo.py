"""Raw-space evolution (ZenNAS-style, paper Table 1's Evo rows): Algorithm 1's ageing-free loop from the
space's alpha_0 with the space's own mutations (GraphNet: a position's channels, stride or concrete cell, and
inserting/deleting a position), one phase, HL-Evo's T and N (``evo``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nasgen.search.config import StrategyConfig
from nasgen.search.evolution import Candidate, evolve
from nasgen.search.strategy import Objective, Space


def raw_evo(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig,
            progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
    def step(c: Candidate, r: np.random.Generator, phase: str) -> Candidate:
        return space.mutate(c, r)

    start = Candidate(space.start, None, "init")
    evolve(start, step, ("raw",), cfg.evo.iterations, cfg.evo.population, objective, rng, progress)
