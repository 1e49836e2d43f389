"""Cell mutations for evolutionary search. Each returns a valid cell that differs from its input, or raises
MutationNotApplicable when the cell offers no target (``mutate`` then picks another kind)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nasgen.errors import InvalidCellError, MutationNotApplicable
from nasgen.space.cell import MAX_OPS, Cell, remove_dead_nodes
from nasgen.space.ops import KERNELS, OPS, TYPES, op_from_type_kernel


def _rebuild(ops: list[int], edges: set[tuple[int, int]]) -> Cell:
    ops, edges = remove_dead_nodes(ops, edges)
    return Cell(tuple(ops), tuple(edges))


def add_edge(cell: Cell, rng: np.random.Generator) -> Cell:
    n = cell.n_nodes
    free = [(i, j) for i in range(n) for j in range(i + 1, n) if (i, j) not in set(cell.edges)]
    if not free:
        raise MutationNotApplicable("add_edge: the cell is a complete DAG")
    e = free[rng.integers(len(free))]
    return Cell(cell.ops, (*cell.edges, e))


def remove_edge(cell: Cell, rng: np.random.Generator) -> Cell:
    """Remove an edge; nodes left off every input->output path are dropped, but some op must survive."""
    candidates = []
    for e in cell.edges:
        try:
            candidates.append(_rebuild(list(cell.ops), set(cell.edges) - {e}))
        except InvalidCellError:
            continue
    if not candidates:
        raise MutationNotApplicable("remove_edge: every edge is needed to keep an input->output path")
    return candidates[rng.integers(len(candidates))]


def change_op_type(cell: Cell, rng: np.random.Generator) -> Cell:
    p = int(rng.integers(cell.n_ops))
    old = OPS[cell.ops[p]]
    new_type = [t for t in TYPES if t != old.type][rng.integers(len(TYPES) - 1)]
    kernel = old.kernel if old.kernel is not None else KERNELS[rng.integers(len(KERNELS))]
    ops = list(cell.ops)
    ops[p] = op_from_type_kernel(new_type, kernel).index
    return Cell(tuple(ops), cell.edges)


def change_kernel(cell: Cell, rng: np.random.Generator) -> Cell:
    positions = [p for p, o in enumerate(cell.ops) if OPS[o].kernel is not None]
    if not positions:
        raise MutationNotApplicable("change_kernel: every op is skip (no kernel)")
    p = positions[rng.integers(len(positions))]
    old = OPS[cell.ops[p]]
    kernel = [k for k in KERNELS if k != old.kernel][rng.integers(len(KERNELS) - 1)]
    ops = list(cell.ops)
    ops[p] = op_from_type_kernel(old.type, kernel).index
    return Cell(tuple(ops), cell.edges)


def add_node(cell: Cell, rng: np.random.Generator) -> Cell:
    """Insert a random op on a new path u -> new -> v between two existing nodes u < v."""
    if cell.n_ops >= MAX_OPS:
        raise MutationNotApplicable(f"add_node: the cell already has {MAX_OPS} ops")
    n = cell.n_nodes
    u = int(rng.integers(n - 1))
    v = int(rng.integers(u + 1, n))
    new = u + 1  # the new node sits right after u; nodes > u shift by one

    def shift(x: int) -> int:
        return x + 1 if x > u else x

    edges = {(shift(i), shift(j)) for i, j in cell.edges} | {(u, new), (new, shift(v))}
    ops = list(cell.ops)
    ops.insert(u, int(rng.integers(len(OPS))))
    return Cell(tuple(ops), tuple(edges))


def remove_node(cell: Cell, rng: np.random.Generator) -> Cell:
    """Remove an op node, wiring each of its predecessors to each of its successors."""
    if cell.n_ops <= 1:
        raise MutationNotApplicable("remove_node: the cell has a single op")
    v = int(rng.integers(1, cell.n_nodes - 1))
    preds = [i for i, j in cell.edges if j == v]
    succs = [j for i, j in cell.edges if i == v]

    def shift(x: int) -> int:
        return x - 1 if x > v else x

    edges = {(shift(i), shift(j)) for i, j in cell.edges if v not in (i, j)}
    edges |= {(shift(i), shift(j)) for i in preds for j in succs}
    ops = [o for p, o in enumerate(cell.ops, start=1) if p != v]
    return _rebuild(ops, edges)


MUTATIONS: dict[str, Callable[[Cell, np.random.Generator], Cell]] = {
    "add_edge": add_edge,
    "remove_edge": remove_edge,
    "change_op_type": change_op_type,
    "change_kernel": change_kernel,
    "add_node": add_node,
    "remove_node": remove_node,
}


def mutate(cell: Cell, rng: np.random.Generator, kinds: tuple[str, ...] = tuple(MUTATIONS)) -> tuple[Cell, str]:
    """Apply one applicable mutation chosen uniformly from ``kinds``; returns (child, kind)."""
    unknown = set(kinds) - set(MUTATIONS)
    if unknown:
        raise ValueError(f"unknown mutation kinds {sorted(unknown)}; known: {list(MUTATIONS)}")
    order = list(kinds)
    rng.shuffle(order)
    for kind in order:
        try:
            return MUTATIONS[kind](cell, rng), kind
        except MutationNotApplicable:
            continue
    raise MutationNotApplicable(f"no mutation among {list(kinds)} applies to {cell}")
