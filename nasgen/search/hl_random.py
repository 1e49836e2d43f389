"""Random search in the hierarchical space: HL-Evo without selection, the history an SG learns from when an
ablation asks what HL-Evo's search adds (paper Table 1's protocol, "the SG trained on a random-search history").

Each draw is an HL sequence of 1..MAX_LAYERS positions, each a family ~ U{1..K}, channels ~ U{C} and stride
~ U{1, 2} (random search's macro distribution, nasgen.space.sampling.random_macro, with families for cells),
then a cell per position drawn uniformly from ``random_pool`` GenCell draws of its family made once; a network
the constraint admits is evaluated and enters the history with its HL sequence. At 100k params only about 0.2%
of uniform draws fit, so the rarity must cost arithmetic, not CCNF solves: the pool, and a skeleton check
(stem, projections, classifier) before any cell is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nasgen.errors import ConfigError, NasgenError
from nasgen.search.config import StrategyConfig
from nasgen.search.evolution import Candidate
from nasgen.search.graphnet import MacroObjective
from nasgen.search.objective import satisfies
from nasgen.search.strategy import MAX_TRIES_PER_DRAW, Space
from nasgen.space.cost import skeleton_cost
from nasgen.space.macro import CHANNELS, MAX_LAYERS, STRIDES, HLLayer, HLSequence


def random_sequence(rng: np.random.Generator, families: Sequence[int], input_shape: tuple[int, int, int],
                    classes: int) -> HLSequence:  # fmt: skip
    n = int(rng.integers(1, MAX_LAYERS + 1))
    layers = tuple(HLLayer(int(families[rng.integers(len(families))]), int(CHANNELS[rng.integers(len(CHANNELS))]),
                           int(STRIDES[rng.integers(len(STRIDES))])) for _ in range(n))  # fmt: skip
    return HLSequence(layers, input_shape, classes)


def family_pools(gen_cell: Callable, n_clusters: int, size: int, rng: np.random.Generator) -> list[list]:
    """``size`` GenCell draws per family (a draw GenCell cannot make is left out); no family with a cell is a
    ConfigError."""
    pools: list[list] = []
    for k in range(n_clusters):
        pool = []
        for _ in range(size):
            try:
                pool.append(gen_cell(k, rng))
            except NasgenError:  # GenCell found no valid cell of the family this time
                continue
        pools.append(pool)
    if not any(pools):
        raise ConfigError(f"GenCell drew no valid cell in {size} tries for any of the {n_clusters} families")
    return pools


def hl_random(space: Space, objective: MacroObjective, rng: np.random.Generator, cfg: StrategyConfig,
              source: str = "ccnf", progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
    """``cfg.evo.iterations`` admitted networks (fewer if the objective's budget ends first), each one
    evaluation; a constraint that almost no draw meets is a ConfigError, as for random search."""
    hl, evo = space.hl[source], cfg.evo
    objective.zc.check_input(evo.zc.input_shape, evo.zc.classes)
    shape, classes = evo.zc.input_shape, evo.zc.classes
    pools = family_pools(hl.gen_cell, hl.n_clusters, evo.random_pool, rng)
    families = [k for k, pool in enumerate(pools) if pool]
    admitted = refused = 0
    while admitted < evo.iterations and objective.left > 0:
        seq = random_sequence(rng, families, shape, classes)
        widths = [(x.channels, x.stride) for x in seq.layers]
        if satisfies(skeleton_cost(shape, classes, widths), objective.constraint):
            cells = [pools[x.cluster][int(rng.integers(len(pools[x.cluster])))] for x in seq.layers]
            cand = Candidate(seq.materialise(cells), seq, "random")
            if objective.admits(cand):
                admitted += 1
                objective.query(cand, admitted, "random")
                if progress is not None:
                    progress(1)
                continue
        else:
            objective.result.discarded_constraint += 1  # refused on its skeleton: no cell drawn
        refused += 1
        if refused > MAX_TRIES_PER_DRAW * (admitted + 1):
            raise ConfigError(f"random HL sequences find almost no network within {objective.constraint.name} "
                              f"({refused} refused, {admitted} admitted)")  # fmt: skip
