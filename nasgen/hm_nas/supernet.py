"""The two supernets: NB-201's network with a mixed op on every cell edge, and a GraphNet sub-space whose cell is
a full DAG of mixed-op nodes (GraphNet puts ops on nodes: a node applies its mixed op to the weighted sum of its
inputs). Both hold alpha (one row per mixed op, one column per candidate) and beta (one entry per edge, stored
by target node), shared by every cell as DARTS shares its cell, and take binary op and edge masks in forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nasgen.hm_nas.config import SupernetConfig
from nasgen.hm_nas.mixed import MixedOp, edge_weights, op_weights
from nasgen.nb201.arch import EDGES as NB201_EDGES
from nasgen.nb201.arch import OPS as NB201_OPS
from nasgen.nb201.network import ResidualReduction, edge_op
from nasgen.space.network import STEM_KERNEL, needs_projection, projection
from nasgen.space.ops import build_op, op_by_name


def target_groups(edges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Slices (start, end) of ``edges`` (sorted by target) that share a target node: beta's softmax groups."""
    out, start = [], 0
    for e in range(1, len(edges) + 1):
        if e == len(edges) or edges[e][1] != edges[start][1]:
            out.append((start, e))
            start = e
    return out


def graphnet_edges(nodes: int) -> tuple[tuple[int, int], ...]:
    """Every forward edge of a cell with ``nodes`` op nodes (0 the input, nodes + 1 the output), by target."""
    return tuple((i, j) for j in range(1, nodes + 2) for i in range(j))


class Supernet(nn.Module):
    """alpha, beta and the masks' way in; subclasses build the cells and the network around them."""

    def __init__(self, cfg: SupernetConfig, mixed: int, edges: tuple[tuple[int, int], ...]):
        super().__init__()
        self.cfg = cfg
        self.edges = edges
        self.multi = cfg.encoding == "multi"
        self.groups = target_groups(self.edges)
        gen = torch.Generator().manual_seed(cfg.seed)
        scale = cfg.arch_init_scale
        self.alpha = nn.Parameter(scale * torch.randn(mixed, len(cfg.op_names), generator=gen))
        self.beta = nn.Parameter(scale * torch.randn(len(self.edges), generator=gen), requires_grad=self.multi)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha, self.beta] if self.multi else [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n not in ("alpha", "beta")]

    def mixing(self, op_mask: torch.Tensor | None = None, edge_mask: torch.Tensor | None = None):
        """(op weights per mixed op, edge weights): Eqs. 2.1-2.2 times the binary masks. Single-level encoding:
        every edge weighs 1 (a plain sum, as in DARTS and GraphNet)."""
        ops = op_weights(self.alpha, op_mask)
        if self.multi:
            edges = edge_weights(self.beta, self.groups, edge_mask)
        else:
            edges = torch.ones_like(self.beta) if edge_mask is None else edge_mask
        return ops, edges


class NB201SuperCell(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.mixed = nn.ModuleList(MixedOp([edge_op(o, channels) for o in NB201_OPS]) for _ in NB201_EDGES)

    def forward(self, x: torch.Tensor, ops: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, 4):
            nodes.append(sum(edges[e] * self.mixed[e](nodes[i], ops[e])
                             for e, (i, k) in enumerate(NB201_EDGES) if k == j))  # fmt: skip
        return nodes[-1]


class NB201Supernet(Supernet):
    """NB-201's network (stem, three stages joined by residual reductions, head) with super cells."""

    def __init__(self, cfg: SupernetConfig, in_channels: int, classes: int):
        super().__init__(cfg, len(NB201_EDGES), NB201_EDGES)
        c = cfg.nb201_channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        blocks: list[nn.Module] = []
        for stage in range(3):
            if stage:
                blocks.append(ResidualReduction(c, 2 * c))
                c *= 2
            blocks += [NB201SuperCell(c) for _ in range(cfg.nb201_cells_per_stage)]
        self.blocks = nn.ModuleList(blocks)
        self.last = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))

    def forward(self, x, op_mask=None, edge_mask=None):
        ops, edges = self.mixing(op_mask, edge_mask)
        x = self.stem(x)
        for b in self.blocks:
            x = b(x, ops, edges) if isinstance(b, NB201SuperCell) else b(x)
        return self.head(self.last(x))


class GraphNetSuperCell(nn.Module):
    def __init__(self, candidates: Sequence[str], nodes: int, channels: int):
        super().__init__()
        self.nodes = nodes
        self.edges = graphnet_edges(nodes)
        self.mixed = nn.ModuleList(MixedOp([build_op(op_by_name(o).index, channels) for o in candidates])
                                   for _ in range(nodes))  # fmt: skip

    def forward(self, x: torch.Tensor, ops: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        states = [x]
        for j in range(1, self.nodes + 2):
            s = sum(edges[e] * states[i] for e, (i, k) in enumerate(self.edges) if k == j)
            states.append(self.mixed[j - 1](s, ops[j - 1]) if j <= self.nodes else s)
        return states[-1]


class GraphNetSupernet(Supernet):
    """nasgen's macro network (stem, a projection where channels or stride change, head) with one super cell
    per position of ``cfg.layers``."""

    def __init__(self, cfg: SupernetConfig, in_channels: int, classes: int):
        super().__init__(cfg, cfg.nodes, graphnet_edges(cfg.nodes))
        c0 = cfg.layers[0][0]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c0, STEM_KERNEL, padding=STEM_KERNEL // 2, bias=False),
                                  nn.BatchNorm2d(c0), nn.ReLU())  # fmt: skip
        self.projections = nn.ModuleList()
        self.cells = nn.ModuleList()
        prev = c0
        for c, s in cfg.layers:
            self.projections.append(projection(prev, c, s) if needs_projection(prev, c, s) else nn.Identity())
            self.cells.append(GraphNetSuperCell(cfg.candidates, cfg.nodes, c))
            prev = c
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(prev, classes))

    def forward(self, x, op_mask=None, edge_mask=None):
        ops, edges = self.mixing(op_mask, edge_mask)
        x = self.stem(x)
        for p, cell in zip(self.projections, self.cells):
            x = cell(p(x), ops, edges)
        return self.head(x)


def build_supernet(cfg: SupernetConfig, in_channels: int, classes: int) -> Supernet:
    torch.manual_seed(cfg.seed)
    cls = NB201Supernet if cfg.space == "nb201" else GraphNetSupernet
    return cls(cfg, in_channels, classes)
