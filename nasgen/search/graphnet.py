"""GraphNet as a search space (``nasgen.search.strategy.Space``) and its objective.

The space is the raw macro space S (paper Section 3): an architecture is a ``MacroArch`` (or a ``Candidate``
carrying one), sampled as random search draws it and mutated as raw-space Evo mutates it. Its other views:
HL-Evo's hierarchical one (``hl``: GenCell per family), GraphNet cells through their reference network alpha_x
(paper Eq. 1) as GraphPNAS graphs (``graphs``) and as rows of frozen encoders' tables (``rows``, arch2vec and
CATE), and alpha_0 (``start``) for raw Evo.

``MacroObjective`` is what every GraphNet search maximises: the ZC objective (T-CET by default) of a network
from a ``ZCObjective`` (its cache and evaluation count shared, so methods compare at equal ZC evaluations),
under a size constraint checked analytically before any evaluation, at most ``budget`` evaluations, the run's
history kept as a ``SearchResult`` (one row per query, the SG's training data for HL-Evo).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from nasgen.graphpnas.explorer import prior
from nasgen.graphpnas.graphs import graphnet_space, to_cell
from nasgen.search.config import ConstraintConfig
from nasgen.search.evolution import Candidate, Member, SearchResult, history_row, mutate_raw
from nasgen.search.objective import ZCObjective, within
from nasgen.search.strategy import GraphForm, HLView, OneShot, Rows
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.cost import macro_cost
from nasgen.space.macro import CHANNELS, MAX_LAYERS, MacroArch, reference_macro
from nasgen.space.sampling import random_macro

Arch = MacroArch | Candidate


def macro_of(arch: Arch) -> MacroArch:
    return arch.macro if isinstance(arch, Candidate) else arch


def log10_reward(value: float) -> float | None:
    """GraphPNAS's reward on GraphNet: log10 of the objective (None: scoring failed, not buffered)."""
    return math.log10(value) if math.isfinite(value) and value > 0 else None


def log_reward(value: float) -> float:
    """T-CET values (about 1e8 at the demo ZC config) as log10 / 10, about 0.7-0.85: the scale of the accuracy
    fractions the latent-space searches' baseline (0.4) and EI target (0.95) were set for; a failure is 0."""
    r = log10_reward(value)
    return 0.0 if r is None else r / 10


class GraphNetSpace:
    """The macro space S at one input and class count; ``cells`` (with their encoders' ``tables``) are the pool
    of the latent-space searches, ``hl`` the hierarchical views by GenCell source (``ccnf``, ``graphpnas``),
    ``start`` raw Evo's alpha_0, ``depth`` whether raw mutations insert and delete positions, ``one_shot`` a
    weight-sharing search returning a MacroArch (HM-NAS on a GraphNet sub-space)."""

    name = "graphnet"

    def __init__(self, input_shape: tuple[int, int, int], classes: int, sampler: SamplerConfig = SamplerConfig(),
                 depth: bool = True, start: MacroArch | None = None, cells: Sequence[Cell] = (),
                 tables: Mapping[str, np.ndarray] | None = None,
                 hl: Mapping[str, HLView] | None = None, one_shot: OneShot | None = None) -> None:  # fmt: skip
        self.input_shape, self.classes = tuple(input_shape), classes
        self.sampler, self.depth, self.start = sampler, depth, start
        self.cells, self.tables, self.hl = list(cells), dict(tables or {}), dict(hl or {})
        self.one_shot = one_shot

    def capabilities(self) -> set[str]:
        caps = {"sample", "mutate", "graphs", *(f"table:{k}" for k in self.tables), *(f"hl:{k}" for k in self.hl)}
        caps |= {"start"} if self.start is not None else set()
        return caps | ({"one_shot"} if self.one_shot is not None else set())

    def sample(self, rng: np.random.Generator) -> MacroArch:
        """Random search's draw: 1..20 positions, a random cell, channels and stride each."""
        return random_macro(rng, self.sampler, MAX_LAYERS, CHANNELS, self.input_shape, self.classes)

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Candidate:
        """Raw-space Evo's mutation: a position's channels, stride or concrete cell (and insert/delete)."""
        cand = arch if isinstance(arch, Candidate) else Candidate(arch, None, "random")
        return mutate_raw(cand, rng, self.depth)

    def alpha_x(self, cell: Cell) -> MacroArch:
        return reference_macro(cell, self.input_shape, self.classes)

    @property
    def graphs(self) -> GraphForm:
        """GraphNet cells as GraphPNAS graphs, each searched as alpha_x; the explorer is the configured random
        graph prior with the sampler's op-count weights (so its cells have random search's sizes)."""
        space = graphnet_space()
        weights = self.sampler.op_count_weights
        return GraphForm(space, lambda cfg: prior(space, cfg, weights), lambda g: to_cell(g).code,
                         lambda g: self.alpha_x(to_cell(g)), log10_reward)  # fmt: skip

    @property
    def rows(self) -> Rows:
        """Row i is alpha_x of ``cells[i]``."""
        return Rows(self.tables, lambda row: self.alpha_x(self.cells[row]), log_reward)


class MacroObjective:
    """The ZC objective of GraphNet networks under ``constraint``, at most ``budget`` ZC evaluations (None:
    the strategy's own budget rules, e.g. HL-Evo's T iterations); ``method`` labels rows of plain networks."""

    def __init__(self, zc: ZCObjective, constraint: ConstraintConfig, budget: int | None = None,
                 method: str = "search", latency: Callable[[MacroArch], float] | None = None) -> None:  # fmt: skip
        self.zc, self.constraint, self.budget, self.method = zc, constraint, budget, method
        self.latency = latency
        self.start = zc.evaluations
        self.result = SearchResult()

    @property
    def spent(self) -> int:
        return self.zc.evaluations - self.start

    @property
    def left(self) -> float:
        return math.inf if self.budget is None else self.budget - self.spent

    def admits(self, arch: Arch) -> bool:
        """Whether the network meets the constraint (analytic cost, no evaluation); a refusal is counted."""
        macro = macro_of(arch)
        self.zc.check_input(macro.input_shape, macro.classes)
        if within(macro, self.constraint, self.latency):
            return True
        self.result.discarded_constraint += 1
        return False

    def query(self, arch: Arch, iteration: int | None = None, phase: str | None = None) -> float:
        """The objective of the network (one evaluation unless the cache has it), its history row added."""
        t0 = time.perf_counter()
        cand = arch if isinstance(arch, Candidate) else Candidate(arch, None, self.method)
        rec = self.zc.record(cand.macro)
        m = Member(cand, macro_cost(cand.macro), rec, self.zc.fitness(rec))
        res = self.result
        if res.best is None or m.fitness > res.best.fitness:
            res.best = m
        res.evaluations = self.spent
        it = len(res.history) if iteration is None else iteration
        res.history.append(history_row(m, it, phase or self.method, self.constraint, self.zc, self.spent,
                                       time.perf_counter() - t0))  # fmt: skip
        return m.fitness
