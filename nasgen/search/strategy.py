"""The one search interface (after archai's ``discrete_search/api``): a space, an objective with a budget, a
strategy that runs one seeded search of the space against the objective.

- A **space** owns random sampling and mutation of its architectures and says what else it offers, as named
  capabilities (``capabilities()``): ``pool`` (a finite list of architectures to draw without replacement),
  ``decisions`` (categorical choices, REINFORCE's policy), ``graphs`` (a GraphPNAS graph form), ``table:<name>``
  (a frozen encoder's embedding of a list of architectures, the latent-space searches), ``start`` (Algorithm
  1's alpha_0), ``hl:<source>`` (the hierarchical view with a GenCell, HL-Evo), ``hierarchy`` (a CCNF to draw
  cells from), ``one_shot`` (a weight-sharing search: seed -> (architecture, report), HM-NAS).
  ``nasgen.nb201.space.NB201Space`` and ``nasgen.search.graphnet.GraphNetSpace`` implement it.
- An **objective** answers one value per architecture (``query``), refuses an architecture that breaks its
  constraint before any evaluation (``admits``), and counts what is ``left`` of its budget: NB-201's ``Oracle``
  (validation accuracy or a proxy) and GraphNet's ``MacroObjective`` (a ZC proxy under a size budget).
- A **strategy** is a function ``(space, objective, rng, cfg: StrategyConfig)`` that queries until the
  budget is spent (the objective keeps the history), plus the capabilities it needs: an entry of
  ``nasgen.search.strategies.STRATEGIES``. A benchmark runs every entry its space offers the needs of.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from nasgen.ccnf.sampling import GenerationError
from nasgen.errors import ConfigError, MutationNotApplicable
from nasgen.search.config import StrategyConfig

MAX_TRIES_PER_DRAW = 1000  # refused or inapplicable draws per accepted architecture, on average, at most
ACCURACY_SCALE = 100.0  # an oracle answers accuracy in percent; the searches' rewards are fractions (the authors')


def fraction(value: float) -> float:
    """An accuracy in percent as the reward the NB-201 searches were set for (REINFORCE, arch2vec, CATE)."""
    return value / ACCURACY_SCALE


class Space(Protocol):
    name: str

    def capabilities(self) -> set[str]: ...

    def sample(self, rng: np.random.Generator) -> Any: ...

    def mutate(self, arch: Any, rng: np.random.Generator) -> Any: ...


class Objective(Protocol):
    @property
    def left(self) -> float: ...

    def admits(self, arch: Any) -> bool: ...

    def query(self, arch: Any, iteration: int | None = None, phase: str | None = None) -> float: ...


Run = Callable[[Space, Objective, np.random.Generator, StrategyConfig], dict | None]  # -> what a run reports


@dataclass(frozen=True)
class Strategy:
    name: str
    run: Run
    needs: tuple[str, ...]  # capabilities of the space (``Space.capabilities``)
    about: str  # one line: what it is, after whom
    own_budget: bool = False  # runs its own budget (Algorithm 1's T iterations), not an evaluation budget

    def supports(self, capabilities: set[str]) -> bool:
        return set(self.needs) <= capabilities


def draws(space: Space, objective: Objective, rng: np.random.Generator) -> Iterator[Any]:
    """Random architectures of ``space`` the objective admits, in the space's sampling order (refused ones
    are counted by the objective and skipped); a constraint that almost nothing meets is a ConfigError."""
    tries = accepted = 0
    while True:
        arch = space.sample(rng)
        if objective.admits(arch):
            accepted += 1
            yield arch
            continue
        tries += 1
        if tries > MAX_TRIES_PER_DRAW * accepted + MAX_TRIES_PER_DRAW:
            raise ConfigError(f"random draws of {space.name} find almost no architecture the objective admits "
                              f"({tries} refused, {accepted} admitted)")  # fmt: skip


def offspring(space: Space, objective: Objective, parent: Any, rng: np.random.Generator) -> Any:
    """A mutation of ``parent`` the objective admits (inapplicable and refused mutations are redrawn)."""
    for _ in range(MAX_TRIES_PER_DRAW):
        try:
            child = space.mutate(parent, rng)
        except MutationNotApplicable:
            continue
        if objective.admits(child):
            return child
    raise ConfigError(f"{MAX_TRIES_PER_DRAW} mutations of one {space.name} architecture: none admitted")


OneShot = Callable[[int], tuple[Any, dict]]  # seed -> (the derived architecture, what the one-shot search reports)


@dataclass(frozen=True)
class GraphForm:
    """A space as GraphPNAS's graphs: the graph space, a random explorer (given GraphPNAS's config), the
    duplicate key of a graph, the architecture a graph is, and the reward of an objective value (None: not
    buffered)."""

    space: Any  # nasgen.graphpnas.graphs.GraphSpace
    explorer: Callable[[Any], Callable[[np.random.Generator], Any]]
    key: Callable[[Any], Any]
    arch: Callable[[Any], Any]
    reward: Callable[[float], float | None]


@dataclass(frozen=True)
class Rows:
    """Architectures as rows of frozen embedding tables (the latent-space searches): ``tables`` by encoder
    name, the architecture of a row, the reward of an objective value (the searches' scale)."""

    tables: dict[str, np.ndarray]
    arch: Callable[[int], Any]
    reward: Callable[[float], float]


@dataclass(frozen=True)
class HLView:
    """The hierarchical view of a space (HL-Evo): GenCell, the number of families, alpha_0's family."""

    gen_cell: Callable[[int, np.random.Generator], Any]
    n_clusters: int
    init_cluster: int


def family_draws(families: dict[int, list]) -> Callable[[int, np.random.Generator], Any]:
    """A GenCell without a generator: a uniform draw of the family's own cells (the no-CCNF ablation)."""

    def gen_cell(cluster: int, rng: np.random.Generator) -> Any:
        cells = families.get(cluster)
        if not cells:
            raise GenerationError(f"family {cluster} has no scored cell to draw")
        return cells[int(rng.integers(len(cells)))]

    return gen_cell


@dataclass(frozen=True)
class CellDraws:
    """A CCNF to draw cells from at one condition, and the space's architectures that compute a cell (none:
    the cell is outside the space): the hierarchical method on a cell space."""

    sampler: Any  # nasgen.ccnf.sampling.CellSampler
    condition: Any  # its condition vector (torch.Tensor)
    archs: Callable[[Any], tuple]
    draw_batch: int
    max_draws: int
