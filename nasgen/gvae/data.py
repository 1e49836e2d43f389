"""Cells as G-VAE tensors, and G-VAE outputs back to cells, strictly.

A cell of k ops is decoded from: its op count k (1..6), each op slot's type (10 classes) and kernel class
({none, 1, 3, 5}), and the 0/1 edges among its k + 2 nodes (canonical node order; input at slot 0, output at
slot k + 1). Slots and pairs beyond the cell's size are not part of it: they carry no target and are not read.
``to_cell`` accepts only a valid cell: a kernel exactly for the ops that have one, and a DAG that passes Cell
validation (every op node on an input-output path). Anything else is a failure with its reason; nothing is
repaired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nasgen.errors import InvalidCellError
from nasgen.space.cell import FEATURE_DIM, MAX_NODES, Cell
from nasgen.space.ops import KERNELS, OPS, TYPES, op_from_type_kernel

IGNORE = -100  # target of slots outside the cell (cross-entropy's ignore_index)
N_SIZE_CLASSES = MAX_NODES - 2  # 1..6 ops
N_TYPE_CLASSES = len(TYPES)
N_KERNEL_CLASSES = 1 + len(KERNELS)  # none, 1, 3, 5
TRIU = torch.triu_indices(MAX_NODES, MAX_NODES, offset=1)  # (2, 28)
N_EDGES = TRIU.shape[1]


_FIELDS = ("adj", "features", "mask", "n_ops", "type_class", "kernel_class", "edges", "edge_mask")


@dataclass(frozen=True)
class GraphBatch:
    adj: torch.Tensor  # (B, 8, 8) float, A[i, j] = 1: i feeds j
    features: torch.Tensor  # (B, 8, 15)
    mask: torch.Tensor  # (B, 8) bool: slots of the cell
    n_ops: torch.Tensor  # (B,) long, 1..6
    type_class: torch.Tensor  # (B, 8) long, IGNORE outside op slots
    kernel_class: torch.Tensor  # (B, 8) long, IGNORE outside op slots
    edges: torch.Tensor  # (B, 28) float
    edge_mask: torch.Tensor  # (B, 28) bool: pairs inside the cell

    def __len__(self) -> int:
        return self.adj.shape[0]

    def index(self, idx: torch.Tensor) -> GraphBatch:
        return GraphBatch(*(getattr(self, f)[idx] for f in _FIELDS))

    def cat(self, other: GraphBatch) -> GraphBatch:
        return GraphBatch(*(torch.cat([getattr(self, f), getattr(other, f)]) for f in _FIELDS))

    def to(self, device: str | torch.device) -> GraphBatch:
        return GraphBatch(*(getattr(self, f).to(device) for f in _FIELDS))


def encode_cells(cells: Sequence[Cell]) -> GraphBatch:
    if len(cells) == 0:
        raise ValueError("no cells to encode")
    b = len(cells)
    adj = np.zeros((b, MAX_NODES, MAX_NODES), np.float32)
    feats = np.zeros((b, MAX_NODES, FEATURE_DIM), np.float32)
    mask = np.zeros((b, MAX_NODES), bool)
    types = np.full((b, MAX_NODES), IGNORE, np.int64)
    kern = np.full((b, MAX_NODES), IGNORE, np.int64)
    for r, c in enumerate(cells):
        adj[r] = c.adjacency()
        feats[r] = c.features()
        mask[r] = c.node_mask()
        for p, o in enumerate(c.ops, start=1):
            types[r, p] = OPS[o].type_index
            k = OPS[o].kernel_index
            kern[r, p] = 0 if k is None else k + 1
    adj_t = torch.from_numpy(adj)
    n_ops = torch.tensor([c.n_ops for c in cells], dtype=torch.long)
    edge_mask = TRIU[1][None, :] <= (n_ops + 1)[:, None]  # j within the cell (then i < j is too)
    return GraphBatch(adj_t, torch.from_numpy(feats), torch.from_numpy(mask), n_ops, torch.from_numpy(types),
                      torch.from_numpy(kern), adj_t[:, TRIU[0], TRIU[1]].clone(), edge_mask)  # fmt: skip


@dataclass(frozen=True)
class Decoded:
    cell: Cell | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.cell is not None


def to_cell(n_ops: int, type_class: Sequence[int], kernel_class: Sequence[int], edges: Sequence[int]) -> Decoded:
    """One decoded graph (op count, per-slot classes, 0/1 upper-triangle edges) -> a valid cell or the reason."""
    n_ops = int(n_ops)
    if not 1 <= n_ops <= MAX_NODES - 2:
        return Decoded(None, f"op count {n_ops} outside 1..{MAX_NODES - 2}")
    ops = []
    for i in range(1, n_ops + 1):
        t, k = int(type_class[i]), int(kernel_class[i])
        if not 0 <= t < len(TYPES) or not 0 <= k < N_KERNEL_CLASSES:
            return Decoded(None, f"slot {i}: class out of range")
        type_ = TYPES[t]
        if (type_ == "skip") != (k == 0):
            return Decoded(None, f"slot {i}: {type_} with kernel class {k}")
        ops.append(op_from_type_kernel(type_, None if k == 0 else KERNELS[k - 1]).index)
    out = n_ops + 1
    pairs = [(int(i), int(j)) for (i, j), e in zip(TRIU.T.tolist(), edges) if int(e) and j <= out]
    try:
        return Decoded(Cell(tuple(ops), tuple(pairs)))
    except InvalidCellError as e:
        return Decoded(None, str(e))
