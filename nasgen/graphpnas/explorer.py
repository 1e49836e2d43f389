"""GraphPNAS's random explorer (Section 3.2): with probability epsilon a search step draws from a random-graph
prior instead of the generator. The paper's priors are Erdős–Rényi (edge probability p, 0.1 <= p <= 0.5) and
Watts–Strogatz (ring of k neighbours rewired with probability p, (2, 0.2) <= (k, p) <= (6, 0.8)), with the
hyperparameters drawn per graph from those ranges (Section 4.1).

On a free space (GraphNet cells) the prior draws the number of op nodes from ``op_weights`` (the space
sampler's op-count weights), a random graph on the op nodes, oriented from lower to higher index (RandWire's
convention, so it is a DAG), and op types uniformly. As in RandWire, the op nodes without a predecessor read
the input and those without a successor feed the output, so every draw is a valid cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nasgen.errors import ConfigError
from nasgen.graphpnas.config import GraphPNASConfig
from nasgen.graphpnas.graphs import Graph, GraphSpace


def erdos_renyi(k: int, p: float, rng: np.random.Generator) -> set[tuple[int, int]]:
    """Undirected G(k, p) on op nodes 0..k-1, as pairs (i, j) with i < j."""
    return {(i, j) for i in range(k) for j in range(i + 1, k) if rng.random() < p}


def watts_strogatz(k: int, degree: int, p: float, rng: np.random.Generator) -> set[tuple[int, int]]:
    """Watts-Strogatz on k op nodes: each node linked to its ``degree // 2`` ring neighbours on each side (the
    degree clipped to the largest even number below k), then every lattice edge (i, i + s) rewired to (i, v),
    v uniform among the nodes not i and not yet linked to i, with probability p (Watts & Strogatz 1998)."""
    half = min(degree, k - 1) // 2
    edges = {tuple(sorted((i, (i + s) % k))) for s in range(1, half + 1) for i in range(k)}
    for s in range(1, half + 1):
        for i in range(k):
            e = tuple(sorted((i, (i + s) % k)))
            if e not in edges or rng.random() >= p:
                continue
            free = [v for v in range(k) if v != i and tuple(sorted((i, v))) not in edges]
            if free:
                edges.discard(e)
                edges.add(tuple(sorted((i, int(rng.choice(free))))))
    return edges


def wire(k: int, op_edges: set[tuple[int, int]]) -> frozenset[tuple[int, int]]:
    """Op-node pairs (i < j) as cell edges (op q is node q + 1), plus input -> every op without a predecessor
    and every op without a successor -> output (node k + 1)."""
    edges = {(i + 1, j + 1) for i, j in op_edges}
    has_in = {j for _, j in edges}
    has_out = {i for i, _ in edges}
    edges |= {(0, v) for v in range(1, k + 1) if v not in has_in}
    edges |= {(v, k + 1) for v in range(1, k + 1) if v not in has_out}
    return frozenset(edges)


def prior(space: GraphSpace, cfg: GraphPNASConfig, op_weights: Sequence[float] | None = None
          ) -> Callable[[np.random.Generator], Graph]:  # fmt: skip
    """The explorer ``cfg.explorer`` of a free space: er or ws; ``op_weights`` of 1..max_ops (uniform if None)."""
    if space.fixed:
        raise ConfigError(f"{space.name} has a fixed topology: its explorer draws op types only")
    if cfg.explorer not in ("er", "ws"):
        raise ConfigError(f"explorer {cfg.explorer!r} is not a random-graph prior of a free space; use er or ws")
    w = np.ones(space.max_ops) if op_weights is None else np.asarray(op_weights, dtype=float)
    if len(w) != space.max_ops or w.min() < 0 or w.sum() <= 0:
        raise ConfigError(f"op_weights needs {space.max_ops} non-negative weights, got {list(w)}")
    w = w / w.sum()

    def draw(rng: np.random.Generator) -> Graph:
        k = int(rng.choice(np.arange(1, space.max_ops + 1), p=w))
        if cfg.explorer == "er":
            pairs = erdos_renyi(k, rng.uniform(*cfg.er_p), rng)
        else:
            degree = int(rng.choice(np.arange(cfg.ws_k[0], cfg.ws_k[1] + 1, 2)))
            pairs = watts_strogatz(k, degree, rng.uniform(*cfg.ws_p), rng)
        ops = tuple(int(o) for o in rng.integers(space.n_types, size=k))
        return space.check(Graph(ops, wire(k, pairs)))

    return draw
