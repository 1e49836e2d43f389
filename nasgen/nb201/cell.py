"""NAS-Bench-201 cell strings as GraphNet cells (for references such as paper Table 8's best cell).

An NB-201 cell is a 4-node DAG whose edges carry operations; GraphNet puts operations on nodes. Each
non-``none`` edge i -> k becomes an op node fed by every op node of the edges entering NB-201 node i (the
cell input for i = 0) and feeding every op node of the edges leaving node k (the cell output for k = 3).
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np

from nasgen.errors import InvalidCellError
from nasgen.nb201.arch import SPACE_SIZE, from_index, has_path, to_string
from nasgen.space.cell import INPUT, OUTPUT, Cell

NB201_OPS = {"nor_conv_3x3": "conv_3", "nor_conv_1x1": "conv_1", "avg_pool_3x3": "avg_pool_3", "skip_connect": "skip"}
BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def parse_edges(arch: str) -> list[tuple[int, int, str]]:
    """(source node, target node, NB-201 op) of every edge of an arch string."""
    nodes = arch.strip().split("+")
    if len(nodes) != 3:
        raise InvalidCellError(f"an NB-201 cell has 3 computed nodes separated by '+', got {arch!r}")
    edges = []
    for k, node in enumerate(nodes, start=1):
        items = [s for s in node.strip().strip("|").split("|") if s]
        for item in items:
            op, sep, src = item.partition("~")
            if not sep or not src.isdigit() or not 0 <= int(src) < k:
                raise InvalidCellError(f"bad NB-201 edge {item!r} into node {k} of {arch!r}")
            if op != "none" and op not in NB201_OPS:
                raise InvalidCellError(f"unknown NB-201 operation {op!r}; expected none or one of {list(NB201_OPS)}")
            edges.append((int(src), k, op))
    return edges


def nb201_cell(arch: str) -> Cell:
    """The GraphNet cell computing the same function graph as the NB-201 arch string."""
    edges = [(i, k, op) for i, k, op in parse_edges(arch) if op != "none"]
    if not edges:
        raise InvalidCellError(f"NB-201 cell {arch!r} has only 'none' edges: no path from input to output")
    labels = [INPUT] + [NB201_OPS[op] for _, _, op in edges] + [OUTPUT]
    out = len(labels) - 1
    graph = []
    for a, (i, k, _) in enumerate(edges, start=1):
        graph += [(0, a)] if i == 0 else [(b, a) for b, (_, kb, _) in enumerate(edges, start=1) if kb == i]
        if k == 3:
            graph.append((a, out))
    return Cell.from_graph(labels, graph, normalise=True)


@lru_cache(maxsize=1)
def cell_index() -> dict[str, tuple[int, ...]]:
    """Canonical GraphNet ``cell_id`` -> the NB-201 indices whose cell it is (several architectures can compute
    the same function graph): how a generated GraphNet cell is looked up in NB-201's tables. The 341
    architectures without an input -> output path have no cell and are absent."""
    out: dict[str, list[int]] = defaultdict(list)
    for i in range(SPACE_SIZE):
        ops = from_index(i)
        if has_path(ops):
            out[nb201_cell(to_string(ops)).cell_id].append(i)
    return {k: tuple(v) for k, v in out.items()}


def nb201_indices(cell: Cell) -> tuple[int, ...]:
    """The NB-201 architectures computing ``cell`` (empty when the cell is outside NB-201's space)."""
    return cell_index().get(cell.cell_id, ())


def nb201_codes(seed: int) -> np.ndarray:
    """The canonical codes of NB-201's distinct GraphNet cells in a seeded random order: any prefix is a uniform
    sample of them (the `cells` stream of ``space: nb201``, whose first cells the `zc` stage labels)."""
    codes = np.sort(np.array([int(k, 16) for k in cell_index()], dtype=np.uint64))
    return codes[np.random.default_rng(seed).permutation(len(codes))]
