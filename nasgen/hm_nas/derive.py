"""From a trained supernet to an architecture of its space: by the learnt binary masks (HM-NAS) or by DARTS's
hand-designed heuristic (the most likely op of each mixed op, the ``top`` most confident input edges of each
node: the chapter's ablation).

HM-NAS keeps any number of ops per mixed op and edges per node. On NB-201 an edge carries one op: the kept op
with the highest alpha (``none`` when the edge or all its ops are masked). On GraphNet each kept (node, op)
pair becomes an op node with its node's kept inputs and outputs (a node's ops summed: exactly the masked
cell up to the alpha and beta scalars); past GraphNet's 6 op nodes the pairs of lowest alpha go first, each
node keeping its best.
"""

from __future__ import annotations

import torch

from nasgen.errors import InvalidCellError
from nasgen.hm_nas.config import SupernetConfig
from nasgen.hm_nas.supernet import graphnet_edges, target_groups
from nasgen.nb201.arch import EDGES as NB201_EDGES
from nasgen.nb201.arch import OPS as NB201_OPS
from nasgen.nb201.arch import Arch
from nasgen.space.canonical import MAX_OPS
from nasgen.space.cell import INPUT, OUTPUT, Cell
from nasgen.space.macro import MacroArch

NONE = "none"


def nb201_from_masks(alpha: torch.Tensor, ops: torch.Tensor, edges: torch.Tensor) -> Arch:
    out = []
    for e in range(len(NB201_EDGES)):
        kept = [k for k, o in enumerate(NB201_OPS) if o != NONE and ops[e, k] > 0] if edges[e] > 0 else []
        out.append(NB201_OPS[max(kept, key=lambda k: float(alpha[e, k]))] if kept else NONE)
    return tuple(out)


def _edge_strength(alpha: torch.Tensor, beta: torch.Tensor, edges, multi: bool, source_confidence) -> list[float]:
    """DARTS's confidence of each edge: beta's softmax within the target's inputs (multi-level), else the
    confidence of what the edge carries (``source_confidence(edge index, source node)``)."""
    if multi:
        w = torch.cat([torch.softmax(beta[a:b], dim=0) for a, b in target_groups(edges)])
        return [float(v) for v in w]
    return [source_confidence(e, i) for e, (i, _) in enumerate(edges)]


def _top_inputs(edges, strength: list[float], top: int, targets) -> set[int]:
    """Indices of the ``top`` strongest input edges of every node in ``targets`` (all of them when fewer)."""
    keep: set[int] = set()
    for j in targets:
        into = sorted((e for e, (_, k) in enumerate(edges) if k == j), key=lambda e: -strength[e])
        keep.update(into[:top])
    return keep


def nb201_heuristic(alpha: torch.Tensor, beta: torch.Tensor, multi: bool, top: int = 2) -> Arch:
    """Per edge its most likely op other than ``none``; per node the ``top`` most confident input edges (the
    op's softmax weight, times beta's for the multi-level encoding); the other edges ``none``."""
    soft = torch.softmax(alpha, dim=-1)
    cand = [k for k, o in enumerate(NB201_OPS) if o != NONE]
    best = [max(cand, key=lambda k: float(soft[e, k])) for e in range(len(NB201_EDGES))]
    strength = _edge_strength(alpha, beta, NB201_EDGES, multi, lambda e, i: float(soft[e, best[e]]))
    if multi:
        strength = [s * float(soft[e, best[e]]) for e, s in enumerate(strength)]
    keep = _top_inputs(NB201_EDGES, strength, top, range(1, 4))
    return tuple(NB201_OPS[best[e]] if e in keep else NONE for e in range(len(NB201_EDGES)))


def _cell(pairs: list[tuple[int, int]], kept_edges, nodes: int, candidates) -> Cell:
    """The GraphNet cell of (node, candidate) pairs wired along ``kept_edges`` of the full DAG."""
    ids: dict[int, list[int]] = {}
    for p, (j, _) in enumerate(pairs, start=1):
        ids.setdefault(j, []).append(p)
    out = len(pairs) + 1
    ends = {0: [0], nodes + 1: [out]}
    graph = [(a, b) for i, j in kept_edges for a in ends.get(i, ids.get(i, [])) for b in ends.get(j, ids.get(j, []))]
    labels = [INPUT, *(candidates[k] for _, k in pairs), OUTPUT]
    try:
        return Cell.from_graph(labels, graph, normalise=True)
    except InvalidCellError as e:
        raise InvalidCellError(f"the derived cell has no operation on an input -> output path ({e})") from None


def graphnet_from_masks(alpha: torch.Tensor, ops: torch.Tensor, edges: torch.Tensor, cfg: SupernetConfig) -> Cell:
    all_edges = graphnet_edges(cfg.nodes)
    pairs = [(j, k) for j in range(1, cfg.nodes + 1) for k in range(len(cfg.candidates)) if ops[j - 1, k] > 0]
    score = {(j, k): float(alpha[j - 1, k]) for j, k in pairs}
    while len(pairs) > MAX_OPS:
        best = {j: max((p for p in pairs if p[0] == j), key=score.get) for j, _ in pairs}
        pairs.remove(min((p for p in pairs if best[p[0]] != p), key=score.get))
    return _cell(pairs, [e for n, e in enumerate(all_edges) if edges[n] > 0], cfg.nodes, cfg.candidates)


def graphnet_heuristic(alpha: torch.Tensor, beta: torch.Tensor, cfg: SupernetConfig, top: int = 2) -> Cell:
    """Per node its most likely op; per op node the ``top`` most confident inputs (beta's weight, or the source
    node's op weight for the single-level encoding; the cell input counts 1); the output sums every op node
    (DARTS's output concatenates every intermediate node)."""
    all_edges = graphnet_edges(cfg.nodes)
    soft = torch.softmax(alpha, dim=-1)
    best = [int(soft[j].argmax()) for j in range(cfg.nodes)]
    multi = cfg.encoding == "multi"
    strength = _edge_strength(alpha, beta, all_edges, multi, lambda e, i: 1.0 if i == 0 else float(soft[i - 1].max()))
    keep = _top_inputs(all_edges, strength, top, range(1, cfg.nodes + 1))
    kept = [e for n, e in enumerate(all_edges) if n in keep or (e[1] == cfg.nodes + 1 and e[0] > 0)]
    return _cell([(j, best[j - 1]) for j in range(1, cfg.nodes + 1)], kept, cfg.nodes, cfg.candidates)


def graphnet_macro(cell: Cell, cfg: SupernetConfig, input_shape: tuple[int, int, int], classes: int) -> MacroArch:
    """The derived cell at every position of the supernet's skeleton: an architecture of nasgen's macro space."""
    return MacroArch.from_triples([(cell, c, s) for c, s in cfg.layers], input_shape, classes)
