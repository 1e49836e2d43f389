"""Random search in the hierarchical space: HL-Evo without selection, the history an SG learns from when an
ablation asks what HL-Evo's search adds (paper Table 1's protocol, "the SG trained on a random-search history").

Each draw is an HL sequence of 1..MAX_LAYERS positions, each a family ~ U{1..K}, channels ~ U{C} and stride
~ U{1, 2} (random search's macro distribution, nasgen.space.sampling.random_macro, with families for cells),
then one GenCell draw per position; a network the constraint admits is evaluated and enters the history with
its HL sequence. A sequence whose skeleton (stem, projections, classifier) already breaks the constraint is
redrawn before any GenCell draw: at 100k params only about 0.2% of uniform draws fit, so the rarity costs
arithmetic, not CCNF solves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nasgen.errors import ConfigError, NasgenError
from nasgen.search.config import StrategyConfig
from nasgen.search.evolution import Candidate
from nasgen.search.graphnet import MacroObjective
from nasgen.search.objective import satisfies
from nasgen.search.strategy import MAX_TRIES_PER_DRAW, Space
from nasgen.space.cost import skeleton_cost
from nasgen.space.macro import CHANNELS, MAX_LAYERS, STRIDES, HLLayer, HLSequence


def random_sequence(rng: np.random.Generator, n_clusters: int, input_shape: tuple[int, int, int],
                    classes: int) -> HLSequence:  # fmt: skip
    n = int(rng.integers(1, MAX_LAYERS + 1))
    layers = tuple(HLLayer(int(rng.integers(n_clusters)), int(CHANNELS[rng.integers(len(CHANNELS))]),
                           int(STRIDES[rng.integers(len(STRIDES))])) for _ in range(n))  # fmt: skip
    return HLSequence(layers, input_shape, classes)


def hl_random(space: Space, objective: MacroObjective, rng: np.random.Generator, cfg: StrategyConfig,
              source: str = "ccnf", progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
    """``cfg.evo.iterations`` admitted networks (fewer if the objective's budget ends first), each one
    evaluation; a constraint that almost no draw meets is a ConfigError, as for random search."""
    hl, evo = space.hl[source], cfg.evo
    objective.zc.check_input(evo.zc.input_shape, evo.zc.classes)
    shape, classes = evo.zc.input_shape, evo.zc.classes
    admitted = refused = 0
    while admitted < evo.iterations and objective.left > 0:
        seq = random_sequence(rng, hl.n_clusters, shape, classes)
        widths = [(x.channels, x.stride) for x in seq.layers]
        if satisfies(skeleton_cost(shape, classes, widths), objective.constraint):
            try:
                cand = Candidate(seq.materialise([hl.gen_cell(x.cluster, rng) for x in seq.layers]), seq, "random")
            except NasgenError:  # GenCell found no valid cell for a family: the draw is spent
                cand = None
            if cand is not None and objective.admits(cand):
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
