"""NAS-Bench-201 as a search space (``nasgen.search.strategy.Space``): an architecture is its index in the
15,625; sampling is uniform, a mutation changes one edge's operation (NB201's), a policy chooses one of 5 ops
per edge, the graph form is arch2vec's 8-node op DAG, and frozen encoders' tables are indexed like the space."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nasgen.graphpnas.graphs import Graph
from nasgen.nb201.arch import EDGES, OPS, SPACE_SIZE, from_index, to_index
from nasgen.nb201.graphs import graph_space, to_arch
from nasgen.search.strategy import CellDraws, GraphForm, OneShot, Rows, fraction


def mutate(index: int, rng: np.random.Generator) -> int:
    """One edge's operation changed to another one (NB201's mutation): always a different architecture."""
    ops = list(from_index(index))
    e = int(rng.integers(len(EDGES)))
    ops[e] = OPS[(OPS.index(ops[e]) + 1 + int(rng.integers(len(OPS) - 1))) % len(OPS)]
    return to_index(ops)


def _explorer(cfg) -> object:
    """GraphPNAS's explorer on NB-201: uniform op types on the fixed topology."""
    edges = graph_space().fixed_edges

    def explore(rng: np.random.Generator) -> Graph:
        return Graph(tuple(int(o) for o in rng.integers(len(OPS), size=len(EDGES))), edges)

    return explore


class NB201Space:
    """NB-201's architectures (or the given ``pool`` of them, drawn without replacement by random search),
    with the embedding ``tables`` the caller loaded (by encoder: ``arch2vec``, ``cate``) and, optionally, a
    CCNF to draw NB-201 cells from (``cell_draws``, the hierarchical method) and a one-shot search returning an
    index (``one_shot``, HM-NAS)."""

    name = "nb201"
    decisions = (len(EDGES), len(OPS))  # REINFORCE: one of 5 ops on each of 6 edges

    def __init__(self, pool: Sequence[int] | None = None, tables: Mapping[str, np.ndarray] | None = None,
                 cell_draws: CellDraws | None = None, one_shot: OneShot | None = None) -> None:  # fmt: skip
        self.pool = np.arange(SPACE_SIZE) if pool is None else np.asarray(pool)
        self.tables = dict(tables or {})
        self.cell_draws = cell_draws
        self.one_shot = one_shot

    def capabilities(self) -> set[str]:
        caps = {"sample", "mutate", "pool", "decisions", "graphs", *(f"table:{k}" for k in self.tables)}
        caps |= {"hierarchy"} if self.cell_draws is not None else set()
        return caps | ({"one_shot"} if self.one_shot is not None else set())

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(SPACE_SIZE))

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        return mutate(index, rng)

    def from_decisions(self, choices: Sequence[int]) -> int:
        return to_index([OPS[int(c)] for c in choices])

    @property
    def graphs(self) -> GraphForm:
        """Only op types are generated; the explorer draws uniform architectures; the reward is the answer."""
        return GraphForm(graph_space(), _explorer, lambda g: g.ops, lambda g: to_index(to_arch(g)), lambda v: v)

    @property
    def rows(self) -> Rows:
        """The tables' row i is architecture i; rewards are accuracy / 100 (the authors' scale)."""
        return Rows(self.tables, lambda row: int(row), fraction)
