"""NAS-Bench-201 as a node-op DAG: each of the 6 edges an op node between an input and an output node (8 nodes
in topological order; the adjacency is the same for every architecture, only the ops differ). The graph form
arch2vec, CATE and GraphPNAS read (``nasgen.arch2vec.graphs`` has the details)."""

from __future__ import annotations

import numpy as np

from nasgen.graphpnas.graphs import Graph, GraphSpace
from nasgen.nb201.arch import EDGES, NODES, OPS

N_NODES = len(EDGES) + 2
INPUT, OUTPUT = 0, N_NODES - 1


def _adjacency() -> np.ndarray:
    a = np.zeros((N_NODES, N_NODES), dtype=np.int8)
    op_node = {e: k + 1 for k, e in enumerate(EDGES)}
    for (i, j), k in op_node.items():
        sources = [INPUT] if i == 0 else [op_node[e] for e in EDGES if e[1] == i]
        targets = [OUTPUT] if j == NODES - 1 else [op_node[e] for e in EDGES if e[0] == j]
        for s in sources:
            a[s, k] = 1
        for t in targets:
            a[k, t] = 1
    return a


ADJACENCY = _adjacency()  # upper triangular: string order is a topological order of the op nodes
assert not np.tril(ADJACENCY).any()


def graph_space() -> GraphSpace:
    """NB-201 for GraphPNAS: 5 op types on the fixed 8-node topology."""
    edges = frozenset((int(i), int(j)) for i, j in zip(*np.nonzero(ADJACENCY)))
    return GraphSpace("nb201", len(OPS), N_NODES - 2, edges)


def to_arch(g: Graph) -> tuple[str, ...]:
    """A generated graph's ops as an NB-201 architecture."""
    return tuple(OPS[o] for o in g.ops)
