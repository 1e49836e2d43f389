"""HL-Evo (paper Algorithm 1): evolution over HL sequences, cells drawn from cluster families by GenCell.

An individual is an HL sequence (cluster, channels, stride per position) together with the concrete cell
GenCell drew for each position, so alpha(alpha_hat) is fixed until a mutation redraws a cell. Mutations
(lines 6-22): change channels (c ~ U{C}), change stride (s ~ U{1, 2}), change cell design (a new GenCell
draw of the position's cluster) and, in the exploration phase only, change cell type (a new cluster
~ U{1..K} and a GenCell draw of it). ``depth_mutations`` (default on) adds inserting a position (a copy
of a random one with stride 1 and a new GenCell draw) or deleting one: Algorithm 1 does not list them, but
without them no sequence could grow from alpha_0's 3 positions towards the paper's 20.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from nasgen.errors import ConfigError, MutationNotApplicable
from nasgen.search.config import ConstraintConfig, HLEvoConfig, StrategyConfig
from nasgen.search.evolution import Candidate, SearchResult, change_width_or_stride, evolve
from nasgen.search.graphnet import GraphNetSpace, MacroObjective
from nasgen.search.hl_random import hl_random
from nasgen.search.objective import ZCObjective
from nasgen.search.strategy import HLView, Space
from nasgen.space.cell import Cell
from nasgen.space.macro import MAX_LAYERS, HLLayer, HLSequence, MacroArch

PHASES = ("exploration", "exploitation")
MUTATIONS = {
    "exploration": ("channels", "stride", "cell_design", "cell_type"),
    "exploitation": ("channels", "stride", "cell_design"),
}
DEPTH_MUTATIONS = ("insert_position", "delete_position")

GenCell = Callable[[int, np.random.Generator], Cell]  # (cluster, rng) -> a valid cell of that family


def initial_cluster(weights: np.ndarray, cfg: HLEvoConfig) -> int:
    """alpha_0's cluster: the configured one (hl_evo checks its range) or the GMM's heaviest."""
    return int(np.argmax(weights)) if cfg.init_cluster is None else cfg.init_cluster


def initial_candidate(cfg: HLEvoConfig, cluster: int, gen_cell: GenCell, rng: np.random.Generator) -> Candidate:
    """alpha_0: ``init_layers`` positions of one cluster, a GenCell draw each."""
    c = cfg.zc
    seq = HLSequence(tuple(HLLayer(cluster, ch, s) for ch, s in cfg.init_layers), c.input_shape, c.classes)
    return Candidate(seq.materialise([gen_cell(cluster, rng) for _ in seq.layers]), seq, "init")


def mutate(
    cand: Candidate, rng: np.random.Generator, phase: str, gen_cell: GenCell, n_clusters: int, depth: bool = False
) -> Candidate:
    seq, cells = cand.seq, [x.cell for x in cand.macro.layers]
    layers = list(seq.layers)
    kinds = MUTATIONS[phase] + (DEPTH_MUTATIONS if depth else ())
    kind = kinds[int(rng.integers(len(kinds)))]
    i = int(rng.integers(len(layers)))
    x = layers[i]
    if kind in ("channels", "stride"):
        layers[i] = change_width_or_stride(x, kind, rng)
    elif kind == "cell_design":
        cells[i] = gen_cell(x.cluster, rng)
    elif kind == "cell_type":
        k = int(rng.integers(n_clusters))
        layers[i], cells[i] = replace(x, cluster=k), gen_cell(k, rng)
    elif kind == "insert_position":
        if len(layers) >= MAX_LAYERS:
            raise MutationNotApplicable(f"a sequence has at most {MAX_LAYERS} positions")
        layers.insert(i + 1, replace(x, stride=1))
        cells.insert(i + 1, gen_cell(x.cluster, rng))
    else:  # delete_position
        if len(layers) == 1:
            raise MutationNotApplicable("cannot delete the only position")
        del layers[i], cells[i]
    new = replace(seq, layers=tuple(layers))
    return Candidate(new.materialise(cells), new, kind)


def hl_evo(
    space: Space,
    objective: MacroObjective,
    rng: np.random.Generator,
    cfg: StrategyConfig,
    source: str = "ccnf",
    progress: Callable[[int], None] | None = None,
) -> None:
    """Algorithm 1 on the space's hierarchical view ``source`` (its GenCell); history rows carry the HL
    sequence and the concrete network."""
    hl = space.hl[source]
    if not 0 <= hl.init_cluster < hl.n_clusters:
        raise ConfigError(
            f"init_cluster {hl.init_cluster} is not a cluster: the GMM has clusters 0..{hl.n_clusters - 1}"
        )
    evo = cfg.evo
    objective.zc.check_input(evo.zc.input_shape, evo.zc.classes)
    init = initial_candidate(evo, hl.init_cluster, hl.gen_cell, rng)

    def step(c: Candidate, r: np.random.Generator, phase: str) -> Candidate:
        return mutate(c, r, phase, hl.gen_cell, hl.n_clusters, evo.depth_mutations)

    evolve(init, step, PHASES, evo.iterations, evo.population, objective, rng, progress)


def search(cfg: HLEvoConfig, constraint: ConstraintConfig, evaluator: ZCObjective, gen_cell: GenCell,
           n_clusters: int, init_cluster: int, progress: Callable[[int], None] | None = None,
           latency: Callable[[MacroArch], float] | None = None) -> SearchResult:  # fmt: skip
    """One HL-Evo run (or, with ``cfg.strategy`` hl_random, random HL sequences) under ``constraint`` seeded by
    ``cfg.seed`` (stage `hl_evo`'s call); ``latency`` predicts a network's latency (ms) for a latency budget."""
    hl = {"ccnf": HLView(gen_cell, n_clusters, init_cluster)}
    space = GraphNetSpace(cfg.zc.input_shape, cfg.zc.classes, hl=hl)
    objective = MacroObjective(evaluator, constraint, method=cfg.strategy, latency=latency)
    strategy = hl_random if cfg.strategy == "hl_random" else hl_evo
    strategy(space, objective, np.random.default_rng(cfg.seed), StrategyConfig(evo=cfg), progress=progress)
    return objective.result
