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

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nasgen.curves.config import LCEConfig, MultiFidelityConfig
from nasgen.curves.encoding import encode
from nasgen.curves.lce import LcSVR, few_epochs, wpm_extrapolate
from nasgen.curves.surrogate import Surrogate
from nasgen.errors import MutationNotApplicable
from nasgen.search.config import ConstraintConfig
from nasgen.search.evolution import Candidate, mutate_raw
from nasgen.search.objective import satisfies
from nasgen.space.config import SamplerConfig
from nasgen.space.cost import macro_cost
from nasgen.space.macro import CHANNELS, MAX_LAYERS, MacroArch
from nasgen.space.sampling import random_macro

MAX_TRIES = 100_000  # draws or mutations per architecture the budget admits, at most


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


class Space:
    """Networks of one budget at one input: random search's draws and raw Evo's mutations (depth included).
    With a ``pool`` (random draws made once), a draw is one of them: at a small budget most random networks are
    refused, and every run of a benchmark would redraw them."""

    def __init__(self, constraint: ConstraintConfig, input_shape: tuple[int, int, int], classes: int,
                 pool: list[MacroArch] | None = None):  # fmt: skip
        self.constraint, self.input_shape, self.classes, self.pool = constraint, input_shape, classes, pool

    def _ok(self, m: MacroArch) -> bool:
        return satisfies(macro_cost(m), self.constraint)

    def sample(self, rng: np.random.Generator) -> MacroArch:
        if self.pool:
            return self.pool[int(rng.integers(len(self.pool)))]
        for _ in range(MAX_TRIES):
            m = random_macro(rng, SamplerConfig(), MAX_LAYERS, CHANNELS, self.input_shape, self.classes)
            if self._ok(m):
                return m
        raise RuntimeError(f"no random network within {self.constraint.name} in {MAX_TRIES} draws")

    def mutate(self, m: MacroArch, rng: np.random.Generator) -> MacroArch:
        for _ in range(MAX_TRIES):
            try:
                child = mutate_raw(Candidate(m), rng, depth=True).macro
            except MutationNotApplicable:
                continue
            if self._ok(child) and child.arch_id != m.arch_id:
                return child
        raise RuntimeError(f"no mutation of {m.arch_id} within {self.constraint.name} in {MAX_TRIES} tries")


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
    """Scores architectures under one fidelity policy and keeps the search's trace."""

    sim: SimulatedTraining
    epochs: int
    few: int
    extrapolate: Extrapolate | None
    cfg: MultiFidelityConfig
    finals: list[float] = field(default_factory=list)  # observed final values of fully trained architectures
    best: tuple[float, MacroArch] | None = None
    trace: list[tuple[int, float]] = field(default_factory=list)  # (epochs spent, truth of the returned network)

    def __call__(self, m: MacroArch) -> float:
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

    @property
    def left(self) -> bool:
        return self.sim.spent < self.cfg.budget_epochs


def rea(space: Space, score: Evaluator, rng: np.random.Generator, cfg: MultiFidelityConfig) -> None:
    population: deque = deque()
    while len(population) < cfg.rea_population and score.left:
        m = space.sample(rng)
        population.append((m, score(m)))
    while score.left:
        picks = rng.choice(len(population), size=min(cfg.rea_sample, len(population)), replace=False)
        parent = max((population[int(k)] for k in picks), key=lambda p: p[1])[0]
        child = space.mutate(parent, rng)
        population.append((child, score(child)))
        population.popleft()


def local_search(space: Space, score: Evaluator, rng: np.random.Generator, cfg: MultiFidelityConfig) -> None:
    """Hill climbing: the neighbours of the current network; move to the best if it is better, else restart."""
    current = space.sample(rng)
    value = score(current)
    while score.left:
        neighbours = [space.mutate(current, rng) for _ in range(cfg.local_neighbours)]
        scored = []
        for n in neighbours:
            if not score.left:
                break
            scored.append((score(n), n))
        best = max(scored, key=lambda s: s[0]) if scored else None
        if best is not None and best[0] > value:
            value, current = best
        else:
            current = space.sample(rng)
            value = score(current) if score.left else value


ALGORITHMS = {"rea": rea, "local_search": local_search}


def search(algorithm: str, fidelity: str, space: Space, surrogate: Surrogate, lcsvr: LcSVR | None, epochs: int,
           lce: LCEConfig, cfg: MultiFidelityConfig, seed: int) -> dict:  # fmt: skip
    """One seeded run: the truth of the returned network against epochs spent, and the final one."""
    rng = np.random.default_rng(seed)
    sim = SimulatedTraining(surrogate, np.random.default_rng(seed + 1_000_003))
    score = Evaluator(sim, epochs, few_epochs(epochs, lce.few_fraction), extrapolator(fidelity, lcsvr, epochs, lce),
                      cfg)  # fmt: skip
    ALGORITHMS[algorithm](space, score, rng, cfg)
    return {"trace": score.trace, "final_truth": score.trace[-1][1] if score.trace else None,
            "fully_trained": len(score.finals), "architectures": len(sim.curves), "epochs": sim.spent}  # fmt: skip
