"""Regularised evolution (Real et al. 2019) as NB201 runs it: a population of ``rea.population`` random
architectures, then per cycle a tournament of ``rea.sample`` members, the winner's child by one mutation of
the space, the oldest member removed. Mutations the objective refuses are redrawn (no evaluation spent)."""

from __future__ import annotations

from collections import deque

import numpy as np

from nasgen.search.config import StrategyConfig
from nasgen.search.strategy import Objective, Space, draws, offspring


def regularised_evolution(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> None:
    population: deque = deque()
    found = draws(space, objective, rng)
    while len(population) < cfg.rea.population and objective.left > 0:
        arch = next(found)
        population.append((arch, objective.query(arch)))
    while objective.left > 0:
        picks = rng.choice(len(population), size=cfg.rea.sample, replace=False)
        parent = max((population[int(k)] for k in picks), key=lambda m: m[1])[0]
        child = offspring(space, objective, parent, rng)
        population.append((child, objective.query(child)))
        population.popleft()
