"""Baselines on the same scorer, constraint and evaluation budget as HL-Evo (paper Table 1's Evo(T-CET) rows).

- random search in the raw space S: random macros (1..20 positions, a random cell, channels and stride each),
  violators skipped before scoring, until ``budget`` ZC evaluations are spent;
- raw-space evolution (ZenNAS-style): the same loop as HL-Evo from the same alpha_0, mutating a random
  position's channels or stride or its concrete cell (one structural edit: add/remove an edge or a node,
  change an op's type or kernel), and optionally inserting/deleting a position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from nasgen.errors import ConfigError, MutationNotApplicable
from nasgen.search.config import ConstraintConfig, HLEvoConfig
from nasgen.search.evolution import Candidate, Member, SearchResult, change_width_or_stride, evolve, history_row
from nasgen.search.objective import ZCObjective, satisfies
from nasgen.space.config import SamplerConfig
from nasgen.space.cost import macro_cost
from nasgen.space.macro import CHANNELS, MAX_LAYERS, Layer, MacroArch
from nasgen.space.mutations import mutate as mutate_cell
from nasgen.space.sampling import random_macro

RAW_MUTATIONS = ("channels", "stride", "cell")
RAW_DEPTH = ("insert_position", "delete_position")
MAX_TRIES_PER_EVALUATION = 1000  # random search: constraint violators drawn per accepted network, at most


def random_search(
    cfg: HLEvoConfig,
    constraint: ConstraintConfig,
    evaluator: ZCObjective,
    budget: int,
    progress: Callable[[int], None] | None = None,
    sampler: SamplerConfig = SamplerConfig(),
) -> SearchResult:
    rng = np.random.default_rng(cfg.seed)
    res, start, tries = SearchResult(), evaluator.evaluations, 0
    best = None
    while evaluator.evaluations - start < budget:
        macro = random_macro(rng, sampler, MAX_LAYERS, CHANNELS, cfg.zc.input_shape, cfg.zc.classes)
        cost = macro_cost(macro)
        if not satisfies(cost, constraint):
            res.discarded_constraint += 1
            tries += 1
            if tries > MAX_TRIES_PER_EVALUATION * (len(res.history) + 1):
                raise ConfigError(f"random search finds almost no network satisfying {constraint.name}")
            continue
        rec = evaluator.record(macro)
        m = Member(Candidate(macro, None, "random"), cost, rec, evaluator.fitness(rec))
        best = m if best is None or m.fitness > best.fitness else best
        spent = evaluator.evaluations - start
        res.history.append(history_row(m, len(res.history), "random", constraint, evaluator, spent, 0.0))
        if progress is not None:
            progress(1)
    res.best, res.evaluations = best, evaluator.evaluations - start
    return res


def mutate_raw(cand: Candidate, rng: np.random.Generator, depth: bool = False) -> Candidate:
    layers = list(cand.macro.layers)
    kinds = RAW_MUTATIONS + (RAW_DEPTH if depth else ())
    kind = kinds[int(rng.integers(len(kinds)))]
    i = int(rng.integers(len(layers)))
    x = layers[i]
    if kind in ("channels", "stride"):
        layers[i] = change_width_or_stride(x, kind, rng)
    elif kind == "cell":
        layers[i] = replace(x, cell=mutate_cell(x.cell, rng)[0])
    elif kind == "insert_position":
        if len(layers) >= MAX_LAYERS:
            raise MutationNotApplicable(f"a network has at most {MAX_LAYERS} positions")
        layers.insert(i + 1, Layer(x.cell, x.channels, 1))
    else:
        if len(layers) == 1:
            raise MutationNotApplicable("cannot delete the only position")
        del layers[i]
    return Candidate(MacroArch(tuple(layers), cand.macro.input_shape, cand.macro.classes), None, kind)


def raw_evo(
    cfg: HLEvoConfig,
    constraint: ConstraintConfig,
    evaluator: ZCObjective,
    initial: MacroArch,
    progress: Callable[[int], None] | None = None,
) -> SearchResult:
    """Evolution in S from ``initial`` (the benchmark passes HL-Evo's alpha_0), one phase, same T and N."""
    evaluator.check_input(initial.input_shape, initial.classes)
    rng = np.random.default_rng(cfg.seed)

    def step(c: Candidate, r: np.random.Generator, phase: str) -> Candidate:
        return mutate_raw(c, r, cfg.depth_mutations)

    return evolve(Candidate(initial, None, "init"), step, ("raw",), cfg.iterations, cfg.population, constraint,
                  evaluator, rng, progress)  # fmt: skip
