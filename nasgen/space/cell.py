"""GraphNet cells: validation, normalisation, JSON form, A/F matrices and canonical ids (DESIGN section 3)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from nasgen.errors import InvalidCellError
from nasgen.space import canonical
from nasgen.space.ops import NUM_OPS, OPS, TYPES, op_by_name

MAX_OPS = canonical.MAX_OPS
MAX_NODES = canonical.MAX_NODES
FEATURE_DIM = 2 + len(TYPES) + 3  # [input, output, 10 types] + 3 kernels = 15
INPUT, OUTPUT = "input", "output"


@dataclass(frozen=True)
class Cell:
    """A valid cell in stored topological order: node 0 = input, 1..k = ``ops``, k+1 = output.

    ``edges`` are (i, j) pairs with i < j. Construction validates strictly; use ``Cell.from_graph`` with
    ``normalise=True`` to drop dead nodes from an arbitrary DAG first.
    """

    ops: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(int(o) for o in self.ops))
        object.__setattr__(self, "edges", tuple(sorted({(int(i), int(j)) for i, j in self.edges})))
        _validate(self.ops, self.edges)

    # --- construction -------------------------------------------------------------------------------
    @classmethod
    def from_graph(cls, nodes: Sequence[str | int], edges: Iterable[Sequence[int]], normalise: bool = False) -> Cell:
        """Build from a node list (``"input"``, op names or indices, ``"output"``) and edges in any order.

        The graph must be a DAG with the input first and the output last; it is re-ordered topologically.
        With ``normalise`` dead nodes (off every input->output path) are removed instead of rejected.
        """
        labels = _parse_nodes(nodes)
        edge_list = _parse_edges(edges, len(labels))
        order = _topological_order(len(labels), edge_list)
        pos = {old: new for new, old in enumerate(order)}
        ops = [labels[v] for v in order[1:-1]]
        new_edges = {(pos[i], pos[j]) for i, j in edge_list}
        if normalise:
            ops, new_edges = remove_dead_nodes(ops, new_edges)
        else:
            fwd, bwd = _reachability(len(order), new_edges)
            for p, v in enumerate(order[1:-1], start=1):
                name = f"node {v} ({OPS[labels[v]].name})"
                if p not in fwd:
                    raise InvalidCellError(f"{name} is not reachable from the input (normalise=True drops it)")
                if p not in bwd:
                    raise InvalidCellError(f"{name} does not reach the output (normalise=True drops it)")
        return cls(tuple(ops), tuple(new_edges))

    @classmethod
    def from_dict(cls, data: dict[str, Any], normalise: bool = False) -> Cell:
        if not isinstance(data, dict) or "nodes" not in data or "edges" not in data:
            raise InvalidCellError('a cell must be an object with "nodes" and "edges"')
        return cls.from_graph(data["nodes"], data["edges"], normalise=normalise)

    @classmethod
    def from_json(cls, text: str, normalise: bool = False) -> Cell:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidCellError(f"cell JSON does not parse: {e}") from None
        return cls.from_dict(data, normalise=normalise)

    @classmethod
    def from_code(cls, code: int) -> Cell:
        labels, edges = canonical.decode(code)
        return cls(labels, edges)

    @classmethod
    def from_id(cls, cell_id: str) -> Cell:
        try:
            return cls.from_code(int(cell_id, 16))
        except ValueError as e:
            raise InvalidCellError(f"not a cell id: {cell_id!r} ({e})") from None

    # --- views --------------------------------------------------------------------------------------
    @property
    def n_ops(self) -> int:
        return len(self.ops)

    @property
    def n_nodes(self) -> int:
        return len(self.ops) + 2

    @property
    def node_names(self) -> list[str]:
        return [INPUT, *(OPS[o].name for o in self.ops), OUTPUT]

    def predecessors(self, j: int) -> list[int]:
        return [i for i, jj in self.edges if jj == j]

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": self.node_names, "edges": [list(e) for e in self.edges]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def adjacency(self) -> np.ndarray:
        """A: 8x8 strictly upper triangular uint8, output at index n-1, zero padding beyond."""
        a = np.zeros((MAX_NODES, MAX_NODES), dtype=np.uint8)
        for i, j in self.edges:
            a[i, j] = 1
        return a

    def features(self) -> np.ndarray:
        """F: 8x15 one-hot [input, output, 10 types | kernel 1, 3, 5]; zero rows for padding."""
        f = np.zeros((MAX_NODES, FEATURE_DIM), dtype=np.uint8)
        f[0, 0] = 1
        f[self.n_nodes - 1, 1] = 1
        for p, o in enumerate(self.ops, start=1):
            op = OPS[o]
            f[p, 2 + op.type_index] = 1
            if op.kernel_index is not None:
                f[p, 2 + len(TYPES) + op.kernel_index] = 1
        return f

    def node_mask(self) -> np.ndarray:
        m = np.zeros(MAX_NODES, dtype=bool)
        m[: self.n_nodes] = True
        return m

    def to_tensors(self) -> dict[str, Any]:
        """A, F (float32) and node mask (bool) as torch tensors, the input format of the graph models."""
        import torch

        return {
            "A": torch.from_numpy(self.adjacency().astype(np.float32)),
            "F": torch.from_numpy(self.features().astype(np.float32)),
            "mask": torch.from_numpy(self.node_mask()),
        }

    # --- identity -----------------------------------------------------------------------------------
    @cached_property
    def code(self) -> int:
        """Canonical code: equal iff the cells are isomorphic (see nasgen.space.canonical)."""
        labels = np.zeros((1, MAX_OPS), dtype=np.int64)
        labels[0, : self.n_ops] = self.ops
        return int(canonical.canonical_codes(np.array([self.n_ops]), labels, self.adjacency()[None])[0])

    @property
    def cell_id(self) -> str:
        return format(self.code, "016x")

    def canonical(self) -> Cell:
        return Cell.from_code(self.code)

    def is_isomorphic(self, other: Cell) -> bool:
        return self.code == other.code

    def __str__(self) -> str:
        return f"Cell({self.cell_id}: {' '.join(self.node_names[1:-1])}; edges {list(self.edges)})"


def cells_from_codes(codes: Iterable[int]) -> list[Cell]:
    return [Cell.from_code(int(c)) for c in codes]


def batch_arrays(cells: Sequence[Cell]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_ops, labels, adjacency) arrays of a list of cells, the batch layout of ``canonical``/``sampling``."""
    n_ops = np.array([c.n_ops for c in cells], dtype=np.int64)
    labels = np.zeros((len(cells), MAX_OPS), dtype=np.int64)
    adj = np.zeros((len(cells), MAX_NODES, MAX_NODES), dtype=bool)
    for r, c in enumerate(cells):
        labels[r, : c.n_ops] = c.ops
        for i, j in c.edges:
            adj[r, i, j] = True
    return n_ops, labels, adj


# --- validation helpers -------------------------------------------------------------------------------
def _describe(ops: Sequence[int], v: int) -> str:
    n = len(ops) + 2
    name = INPUT if v == 0 else OUTPUT if v == n - 1 else OPS[ops[v - 1]].name
    return f"node {v} ({name})"


def _validate(ops: tuple[int, ...], edges: tuple[tuple[int, int], ...]) -> None:
    k = len(ops)
    if not 1 <= k <= MAX_OPS:
        raise InvalidCellError(f"a cell needs 1..{MAX_OPS} operation nodes, got {k}")
    for o in ops:
        if not 0 <= o < NUM_OPS:
            raise InvalidCellError(f"operation index {o} out of range 0..{NUM_OPS - 1}")
    n = k + 2
    for i, j in edges:
        if not (0 <= i < n and 0 <= j < n):
            raise InvalidCellError(f"edge ({i}, {j}) refers to a node outside 0..{n - 1}")
        if i >= j:
            raise InvalidCellError(f"edge ({i}, {j}) is not forward: stored cells are in topological order (i < j)")
    has_in = {j for _, j in edges}
    has_out = {i for i, _ in edges}
    for v in range(1, n - 1):
        if v not in has_in:
            raise InvalidCellError(f"{_describe(ops, v)} has no input edge: it is not reachable from the input")
        if v not in has_out:
            raise InvalidCellError(f"{_describe(ops, v)} has no output edge: it does not reach the output")


def _parse_nodes(nodes: Sequence[str | int]) -> list[int]:
    """Op indices of the inner nodes, with -1 / -2 marking input / output."""
    if not isinstance(nodes, (list, tuple)) or len(nodes) < 3:
        raise InvalidCellError("a cell needs at least 3 nodes: input, one operation, output")
    if nodes[0] != INPUT:
        raise InvalidCellError(f'node 0 must be "input", got {nodes[0]!r}')
    if nodes[-1] != OUTPUT:
        raise InvalidCellError(f'the last node must be "output", got {nodes[-1]!r}')
    labels = [-1]
    for p, name in enumerate(nodes[1:-1], start=1):
        if name in (INPUT, OUTPUT):
            raise InvalidCellError(
                f'node {p}: "{name}" may only appear as the {"first" if name == INPUT else "last"} node'
            )
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            if not 0 <= int(name) < NUM_OPS:
                raise InvalidCellError(f"node {p}: operation index {name} out of range 0..{NUM_OPS - 1}")
            labels.append(int(name))
        elif isinstance(name, str):
            labels.append(op_by_name(name).index)
        else:
            raise InvalidCellError(f"node {p}: expected an operation name, got {name!r}")
    labels.append(-2)
    return labels


def _parse_edges(edges: Iterable[Sequence[int]], n: int) -> list[tuple[int, int]]:
    if isinstance(edges, (str, bytes, dict)) or not isinstance(edges, Iterable):
        raise InvalidCellError(f"edges must be a list of [i, j] pairs, got {edges!r}")
    out: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    for e in edges:
        if not isinstance(e, (list, tuple)) or len(e) != 2 or not all(isinstance(x, (int, np.integer)) for x in e):
            raise InvalidCellError(f"edge {e!r} is not a pair of node indices")
        i, j = int(e[0]), int(e[1])
        if not (0 <= i < n and 0 <= j < n):
            raise InvalidCellError(f"edge ({i}, {j}) refers to a node outside 0..{n - 1}")
        if i == j:
            raise InvalidCellError(f"edge ({i}, {j}) is a self-loop")
        if j == 0:
            raise InvalidCellError(f"edge ({i}, {j}) enters the input node")
        if i == n - 1:
            raise InvalidCellError(f"edge ({i}, {j}) leaves the output node")
        if (i, j) in seen:
            raise InvalidCellError(f"edge ({i}, {j}) appears twice")
        seen.add((i, j))
        out.append((i, j))
    return out


def _topological_order(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Kahn's algorithm, smallest index first, with the output forced last; raises on a cycle."""
    indeg = [0] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, j in edges:
        indeg[j] += 1
        succ[i].append(j)
    ready = sorted(v for v in range(n - 1) if indeg[v] == 0)
    order: list[int] = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0 and w != n - 1:
                ready.append(w)
                ready.sort()
    if len(order) != n - 1:
        stuck = sorted(set(range(n - 1)) - set(order))
        raise InvalidCellError(f"the cell graph has a cycle through nodes {stuck}")
    return order + [n - 1]


def _reachability(n: int, edges: set[tuple[int, int]]) -> tuple[set[int], set[int]]:
    """Nodes reachable from the input and nodes reaching the output, for edges in topological order."""
    fwd, bwd = {0}, {n - 1}
    for i, j in sorted(edges):
        if i in fwd:
            fwd.add(j)
    for i, j in sorted(edges, reverse=True):
        if j in bwd:
            bwd.add(i)
    return fwd, bwd


def remove_dead_nodes(ops: list[int], edges: set[tuple[int, int]]) -> tuple[list[int], set[tuple[int, int]]]:
    """Drop op nodes that are not on an input->output path; renumber the rest in order."""
    n = len(ops) + 2
    fwd, bwd = _reachability(n, edges)
    if n - 1 not in fwd:
        raise InvalidCellError("the output is not reachable from the input")
    alive = [v for v in range(n) if v in fwd and v in bwd]
    if len(alive) < 3:
        raise InvalidCellError("no operation node lies on an input->output path")
    pos = {v: p for p, v in enumerate(alive)}
    new_ops = [ops[v - 1] for v in alive[1:-1]]
    new_edges = {(pos[i], pos[j]) for i, j in edges if i in pos and j in pos}
    return new_ops, new_edges
