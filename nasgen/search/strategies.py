"""Every search strategy, one entry each: ``bench search`` (GraphNet) and ``bench nb201-search`` (NB-201) run
every entry whose needs their space offers (``nasgen.search.strategy``). A new strategy is its module under
``nasgen/search/`` and one entry here."""

from __future__ import annotations

from functools import partial

import numpy as np

from nasgen.errors import ConfigError
from nasgen.search.arch2vec_bo import arch2vec_bo
from nasgen.search.arch2vec_rl import arch2vec_rl
from nasgen.search.cate_dngo_ls import cate_dngo_ls
from nasgen.search.config import ConstraintConfig, HLEvoConfig, StrategyConfig
from nasgen.search.evolution import SearchResult
from nasgen.search.graphnet import GraphNetSpace, MacroObjective
from nasgen.search.graphpnas import graphpnas
from nasgen.search.hierarchy import hierarchy
from nasgen.search.hl_evo import hl_evo
from nasgen.search.hm_nas import hm_nas
from nasgen.search.objective import ZCObjective
from nasgen.search.random_search import random_search
from nasgen.search.raw_evo import raw_evo
from nasgen.search.rea import regularised_evolution
from nasgen.search.reinforce import reinforce
from nasgen.search.strategy import Objective, Space, Strategy
from nasgen.space.macro import MacroArch

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("hl_evo", hl_evo, ("hl:ccnf",), "HL-Evo, paper Algorithm 1: HL sequences, CCNF GenCell", True),
        Strategy("raw_evo", raw_evo, ("start", "mutate"), "Algorithm 1's loop in the raw space from alpha_0", True),
        Strategy("random", random_search, ("sample",), "random search: the pool without replacement, else draws"),
        Strategy("rea", regularised_evolution, ("sample", "mutate"), "regularised evolution (Real et al. 2019)"),
        Strategy("reinforce", reinforce, ("decisions",), "REINFORCE on per-decision logits (NB201's policy)"),
        Strategy("graphpnas", graphpnas, ("graphs",), "GraphPNAS: a graph generator refit on its best graphs"),
        Strategy("arch2vec_rl", arch2vec_rl, ("table:arch2vec",), "arch2vec-RL: REINFORCE on frozen embeddings"),
        Strategy("arch2vec_bo", arch2vec_bo, ("table:arch2vec",), "arch2vec-BO: DNGO + EI on frozen embeddings"),
        Strategy("cate_dngo_ls", cate_dngo_ls, ("table:cate",), "CATE-DNGO-LS: DNGO + EI + local search on CATE"),
        Strategy(
            "hl_evo_graphpnas",
            partial(hl_evo, source="graphpnas"),
            ("hl:graphpnas",),
            "HL-Evo with GenCell from stage graphpnas's learnt cell distribution",
            True,
        ),
        Strategy(
            "hl_evo_scored_cells",
            partial(hl_evo, source="scored"),
            ("hl:scored",),
            "HL-Evo ablation without the CCNF: GenCell = a uniform draw of the family's scored cells",
            True,
        ),
        Strategy("hierarchy", hierarchy, ("hierarchy",), "CCNF samples at a condition, distinct cells, a pick"),
        Strategy("hm_nas", hm_nas, ("one_shot",), "HM-NAS: a supernet, hierarchical masks, the derived arch", True),
    )
}


def supported(capabilities: set[str]) -> list[Strategy]:
    """The entries a space with ``capabilities`` can run, in table order."""
    return [s for s in STRATEGIES.values() if s.supports(capabilities)]


def run(name: str, space: Space, objective: Objective, rng: np.random.Generator,
        cfg: StrategyConfig = StrategyConfig()) -> dict:  # fmt: skip
    """One seeded run of strategy ``name``; what it reports besides its queries (often nothing)."""
    if name not in STRATEGIES:
        raise ConfigError(f"unknown search strategy {name!r}; strategies: {list(STRATEGIES)}")
    s = STRATEGIES[name]
    missing = sorted(set(s.needs) - space.capabilities())
    if missing:
        raise ConfigError(f"strategy {name!r} needs {missing} of the space; {space.name} offers "
                          f"{sorted(space.capabilities())}")  # fmt: skip
    return s.run(space, objective, rng, cfg) or {}


def search_graphnet(name: str, cfg: HLEvoConfig, constraint: ConstraintConfig, zc: ZCObjective,
                    budget: int | None = None, start: MacroArch | None = None) -> SearchResult:  # fmt: skip
    """One run of strategy ``name`` in GraphNet's raw space at ``cfg``'s input, seed, T and N (``start``:
    raw Evo's alpha_0), at most ``budget`` ZC evaluations: the baselines the generate benchmarks set beside
    SG+CCNF."""
    space = GraphNetSpace(cfg.zc.input_shape, cfg.zc.classes, depth=cfg.depth_mutations, start=start)
    objective = MacroObjective(zc, constraint, budget, name)
    run(name, space, objective, np.random.default_rng(cfg.seed), StrategyConfig(evo=cfg))
    return objective.result
