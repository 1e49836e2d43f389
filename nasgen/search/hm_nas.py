"""HM-NAS (dissertation ch. 2) as a search strategy: the space's one-shot search (a supernet trained, masked and
derived; stages `supernet` and `hm_nas` cache it) returns one architecture, which the objective answers once.
Its cost is the supernet's training, not evaluations: it runs its own budget."""

from __future__ import annotations

import numpy as np

from nasgen.search.config import StrategyConfig
from nasgen.search.strategy import Objective, Space

SEED_RANGE = 2**31


def hm_nas(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> dict:
    """One derived architecture per run, the supernet seeded from the run's generator; what the one-shot search
    reports (accuracies at its stages, seconds) is the run's report."""
    arch, report = space.one_shot(int(rng.integers(SEED_RANGE)))
    objective.query(arch, 0, "one-shot")
    return report
