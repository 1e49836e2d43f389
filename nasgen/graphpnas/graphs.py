"""The graphs GraphPNAS generates, and the spaces it generates them in (GraphPNAS Section 3, our cell spaces).

A generated graph is ops-on-nodes in generation order: node 0 the input, nodes 1..k the ops (type indices into
the space's ``n_types``), node k + 1 the output; edges (i, j) with i < j, so the order is topological.

- *Free* spaces (GraphNet): the generator decides the number of op nodes (an output token ends the cell; at
  least one op, at most ``max_ops``) and every edge. Validity is by construction: an op node's incoming edges
  are drawn conditioned on being non-empty, and when the output node is generated, every node without a
  successor is wired to it (those edges are forced, probability 1, outside the likelihood). So every valid
  cell, in any topological order, has exactly one generation path.
- *Fixed* spaces (NB-201 as arch2vec's 8-node op DAG): the topology is the space's, only op types are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasgen.errors import InvalidCellError


@dataclass(frozen=True)
class Graph:
    ops: tuple[int, ...]
    edges: frozenset[tuple[int, int]]

    @property
    def n_nodes(self) -> int:
        return len(self.ops) + 2

    def predecessors(self, j: int) -> list[int]:
        return sorted(i for i, jj in self.edges if jj == j)

    def has_successor(self, i: int, below: int) -> bool:
        """Whether node i feeds a node with index < ``below``."""
        return any(ii == i and j < below for ii, j in self.edges)


@dataclass(frozen=True)
class GraphSpace:
    name: str
    n_types: int
    max_ops: int
    fixed_edges: frozenset[tuple[int, int]] | None = None  # a fixed topology of max_ops op nodes

    @property
    def fixed(self) -> bool:
        return self.fixed_edges is not None

    @property
    def max_nodes(self) -> int:
        return self.max_ops + 2

    @property
    def vocab(self) -> int:
        """Node labels of the GNN's one-hot h^0: input, the op types, and the node being generated (the output
        node is always the last one generated, so it is never an existing node with a label of its own)."""
        return self.n_types + 2

    @staticmethod
    def label(g: Graph, v: int) -> int:
        """h^0 label of existing node v (the input or an op node)."""
        return 0 if v == 0 else 1 + g.ops[v - 1]

    @property
    def new_label(self) -> int:
        return self.n_types + 1

    def check(self, g: Graph) -> Graph:
        """``g`` if the generator can produce it, else InvalidCellError naming why."""
        k, n = len(g.ops), g.n_nodes
        if self.fixed and (k != self.max_ops or g.edges != self.fixed_edges):
            raise InvalidCellError(f"{self.name}: the topology is fixed ({self.max_ops} ops, the space's edges)")
        if not 1 <= k <= self.max_ops:
            raise InvalidCellError(f"{self.name}: a graph needs 1..{self.max_ops} op nodes, got {k}")
        if any(not 0 <= o < self.n_types for o in g.ops):
            raise InvalidCellError(f"{self.name}: op types are 0..{self.n_types - 1}, got {g.ops}")
        for i, j in g.edges:
            if not 0 <= i < j < n:
                raise InvalidCellError(f"{self.name}: edge ({i}, {j}) is not forward within 0..{n - 1}")
        for v in range(1, n - 1):
            if not g.predecessors(v):
                raise InvalidCellError(f"{self.name}: op node {v} has no input edge")
            if not g.has_successor(v, n):
                raise InvalidCellError(f"{self.name}: op node {v} has no output edge")
        return g


def graphnet_space() -> GraphSpace:
    from nasgen.space.cell import MAX_OPS
    from nasgen.space.ops import NUM_OPS

    return GraphSpace("graphnet", NUM_OPS, MAX_OPS)


def from_cell(cell) -> Graph:
    """A GraphNet ``Cell`` in its stored (topological) order."""
    return Graph(tuple(cell.ops), frozenset(cell.edges))


def to_cell(g: Graph):
    from nasgen.space.cell import Cell

    return Cell(g.ops, tuple(g.edges))
