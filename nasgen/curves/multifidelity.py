"""Multi-fidelity search on the curve surrogate (dissertation Section 5.4): REA and local search, single-
fidelity or with learning-curve extrapolation, at an equal budget of simulated training epochs.

Training is simulated: the first time an architecture is trained, one noisy curve is drawn for it from the
surrogate (its "run"); training it to E epochs reads that curve's first E values and spends the epochs not yet
spent on it. Single-fidelity: every architecture is trained to the last epoch and scored by its final value.
With LCE: trained to E_few, its final value extrapolated (LcSVR or WPM); trained on to the last epoch only when
the prediction reaches the top ``top_fraction`` of the final values seen so far (after ``warmup`` full runs).
A search reports, against epochs spent, the true (noise-free, the surrogate's mean) final accuracy of the
architecture it would return: the best final value it observed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nasgen.curves.config import LCEConfig, MultiFidelityConfig
from nasgen.curves.encoding import encode
from nasgen.curves.lce import LcSVR, few_epochs, wpm_extrapolate
from nasgen.curves.surrogate import Surrogate
from nasgen.search.config import ConstraintConfig, StrategyConfig
from nasgen.search.evolution import Candidate
from nasgen.search.graphnet import GraphNetSpace
from nasgen.search.objective import satisfies
from nasgen.search.rea import regularised_evolution
from nasgen.search.strategy import draws, offspring
from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch


@dataclass
class SimulatedTraining:
    surrogate: Surrogate  # on the encoding alone: it scores architectures nobody trained
    rng: np.random.Generator
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    epochs_done: dict[str, int] = field(default_factory=dict)
    spent: int = 0

    def train(self, macro: MacroArch, epochs: int) -> np.ndarray:
        a = macro.arch_id
        if a not in self.curves:
            self.curves[a] = self.surrogate.sample(encode(macro)[None], 1, self.rng)[0, 0]
        done = self.epochs_done.get(a, 0)
        self.spent += max(0, epochs - done)
        self.epochs_done[a] = max(done, epochs)
        return self.curves[a][:epochs]

    def truth(self, macro: MacroArch) -> float:
        return float(self.surrogate.mean(encode(macro)[None])[0, -1])


class PooledSpace(GraphNetSpace):
    """The macro space at one input (random search's draws, raw Evo's mutations with depth); with a ``pool``
    (random networks of the budget drawn once), a draw is one of them: at a small budget most random networks
    are refused, and every run of a benchmark would redraw them."""

    def __init__(self, input_shape: tuple[int, int, int], classes: int, pool: list[MacroArch] | None = None):
        super().__init__(input_shape, classes)
        self.pool = pool

    def sample(self, rng: np.random.Generator) -> MacroArch:
        return self.pool[int(rng.integers(len(self.pool)))] if self.pool else super().sample(rng)


def _macro(arch: MacroArch | Candidate) -> MacroArch:
    return arch.macro if isinstance(arch, Candidate) else arch


Extrapolate = Callable[[MacroArch, np.ndarray], float]


def extrapolator(kind: str, lcsvr: LcSVR | None, epochs: int, cfg: LCEConfig) -> Extrapolate | None:
    """``single`` (no LCE), ``svr`` (LcSVR on the encoding and the partial curve) or ``wpm``."""
    if kind == "single":
        return None
    if kind == "svr":
        return lambda m, partial: float(lcsvr.predict(encode(m)[None], partial[None])[0])
    return lambda m, partial: wpm_extrapolate(partial, epochs, cfg)


@dataclass
class Evaluator:
    """The searches' objective (``nasgen.search.strategy.Objective``) under one fidelity policy: admits the
    budget's networks, spends simulated epochs, keeps the search's trace."""

    sim: SimulatedTraining
    constraint: ConstraintConfig
    epochs: int
    few: int
    extrapolate: Extrapolate | None
    cfg: MultiFidelityConfig
    finals: list[float] = field(default_factory=list)  # observed final values of fully trained architectures
    best: tuple[float, MacroArch] | None = None
    trace: list[tuple[int, float]] = field(default_factory=list)  # (epochs spent, truth of the returned network)

    @property
    def left(self) -> int:
        return max(0, self.cfg.budget_epochs - self.sim.spent)

    def admits(self, arch: MacroArch | Candidate) -> bool:
        return satisfies(macro_cost(_macro(arch)), self.constraint)

    def query(self, arch: MacroArch | Candidate, iteration: int | None = None, phase: str | None = None) -> float:
        m = _macro(arch)
        if self.extrapolate is not None:
            partial = self.sim.train(m, self.few)
            predicted = self.extrapolate(m, partial)
            bar = np.quantile(self.finals, 1 - self.cfg.top_fraction) if len(self.finals) >= self.cfg.warmup else None
            if bar is not None and predicted < bar:
                return predicted
        final = float(self.sim.train(m, self.epochs)[-1])
        self.finals.append(final)
        if self.best is None or final > self.best[0]:
            self.best = (final, m)
            self.trace.append((self.sim.spent, self.sim.truth(m)))
        return final


def rea(space: PooledSpace, score: Evaluator, rng: np.random.Generator, cfg: MultiFidelityConfig) -> None:
    """nasgen's regularised evolution (``nasgen.search.rea``), the population and tournament of ``cfg.rea``."""
    regularised_evolution(space, score, rng, StrategyConfig(rea=cfg.rea))


def local_search(space: PooledSpace, score: Evaluator, rng: np.random.Generator, cfg: MultiFidelityConfig) -> None:
    """Hill climbing: the neighbours of the current network; move to the best if it is better, else restart."""
    found = draws(space, score, rng)
    current = next(found)
    value = score.query(current)
    while score.left:
        scored = []
        for _ in range(cfg.local_neighbours):
            if not score.left:
                break
            n = offspring(space, score, current, rng)
            scored.append((score.query(n), n))
        best = max(scored, key=lambda s: s[0]) if scored else None
        if best is not None and best[0] > value:
            value, current = best
        else:
            current = next(found)
            value = score.query(current) if score.left else value


ALGORITHMS = {"rea": rea, "local_search": local_search}


def search(algorithm: str, fidelity: str, space: PooledSpace, constraint: ConstraintConfig, surrogate: Surrogate,
           lcsvr: LcSVR | None, epochs: int, lce: LCEConfig, cfg: MultiFidelityConfig, seed: int) -> dict:  # fmt: skip
    """One seeded run: the truth of the returned network against epochs spent, and the final one."""
    rng = np.random.default_rng(seed)
    sim = SimulatedTraining(surrogate, np.random.default_rng(seed + 1_000_003))
    score = Evaluator(sim, constraint, epochs, few_epochs(epochs, lce.few_fraction),
                      extrapolator(fidelity, lcsvr, epochs, lce), cfg)  # fmt: skip
    ALGORITHMS[algorithm](space, score, rng, cfg)
    return {"trace": score.trace, "final_truth": score.trace[-1][1] if score.trace else None,
            "fully_trained": len(score.finals), "architectures": len(sim.curves), "epochs": sim.spent}  # fmt: skip
