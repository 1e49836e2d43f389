"""Random search, the one of every space: distinct architectures of a finite pool in random order (NB-201's
protocol: the pool is the space, or the scored sample of the zero-cost picks), else the space's own random
draws that the objective admits (GraphNet: refused networks cost no evaluation), until the budget is spent."""

from __future__ import annotations

import numpy as np

from nasgen.search.config import StrategyConfig
from nasgen.search.strategy import Objective, Space, draws


def random_search(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> None:
    if "pool" in space.capabilities():
        pool = space.pool
        for i in rng.choice(pool, size=int(min(objective.left, len(pool))), replace=False):
            objective.query(int(i))
        return
    found = draws(space, objective, rng)
    while objective.left > 0:
        objective.query(next(found))
