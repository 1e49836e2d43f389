"""Cells as G-VAE tensors, and G-VAE outputs back to cells, strictly.

Targets per node slot (8 slots, canonical node order): a class in {pad, input, output, the 10 op types} and a
kernel class in {none, 1, 3, 5}; edges are the 28 entries of the strict upper triangle. Decoding accepts only an
output that *is* a valid cell: input at slot 0, one output slot, op slots before it, padding after it, a kernel
exactly for the ops that have one, no edge touching a padding slot, and a DAG that passes Cell validation (every
op node on an input-output path). Anything else is a failure with its reason; nothing is repaired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nasgen.errors import InvalidCellError
from nasgen.space.cell import FEATURE_DIM, MAX_NODES, Cell
from nasgen.space.ops import KERNELS, OPS, TYPES, op_from_type_kernel

PAD, INPUT, OUTPUT = 0, 1, 2
N_NODE_CLASSES = 3 + len(TYPES)  # 13
N_KERNEL_CLASSES = 1 + len(KERNELS)  # none, 1, 3, 5
TRIU = torch.triu_indices(MAX_NODES, MAX_NODES, offset=1)  # (2, 28)
N_EDGES = TRIU.shape[1]


@dataclass(frozen=True)
class GraphBatch:
    adj: torch.Tensor  # (B, 8, 8) float, A[i, j] = 1: i feeds j
    features: torch.Tensor  # (B, 8, 15)
    mask: torch.Tensor  # (B, 8) bool
    node_class: torch.Tensor  # (B, 8) long
    kernel_class: torch.Tensor  # (B, 8) long
    edges: torch.Tensor  # (B, 28) float

    def __len__(self) -> int:
        return self.adj.shape[0]

    def index(self, idx: torch.Tensor) -> GraphBatch:
        return GraphBatch(*(t[idx] for t in (self.adj, self.features, self.mask, self.node_class, self.kernel_class,
                                             self.edges)))  # fmt: skip

    def to(self, device: str | torch.device) -> GraphBatch:
        return GraphBatch(*(t.to(device) for t in (self.adj, self.features, self.mask, self.node_class,
                                                   self.kernel_class, self.edges)))  # fmt: skip


def encode_cells(cells: Sequence[Cell]) -> GraphBatch:
    if len(cells) == 0:
        raise ValueError("no cells to encode")
    b = len(cells)
    adj = np.zeros((b, MAX_NODES, MAX_NODES), np.float32)
    feats = np.zeros((b, MAX_NODES, FEATURE_DIM), np.float32)
    mask = np.zeros((b, MAX_NODES), bool)
    node = np.zeros((b, MAX_NODES), np.int64)
    kern = np.zeros((b, MAX_NODES), np.int64)
    for r, c in enumerate(cells):
        adj[r] = c.adjacency()
        feats[r] = c.features()
        mask[r] = c.node_mask()
        node[r, 0], node[r, c.n_nodes - 1] = INPUT, OUTPUT
        for p, o in enumerate(c.ops, start=1):
            node[r, p] = 3 + OPS[o].type_index
            k = OPS[o].kernel_index
            kern[r, p] = 0 if k is None else k + 1
    adj_t = torch.from_numpy(adj)
    return GraphBatch(adj_t, torch.from_numpy(feats), torch.from_numpy(mask), torch.from_numpy(node),
                      torch.from_numpy(kern), adj_t[:, TRIU[0], TRIU[1]].clone())  # fmt: skip


@dataclass(frozen=True)
class Decoded:
    cell: Cell | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.cell is not None


def to_cell(node_class: Sequence[int], kernel_class: Sequence[int], edges: Sequence[int]) -> Decoded:
    """One decoded graph (class indices, 0/1 upper-triangle edges) -> a valid cell or the reason it is not one."""
    node_class, kernel_class = [int(v) for v in node_class], [int(v) for v in kernel_class]
    if node_class[0] != INPUT:
        return Decoded(None, "slot 0 is not the input")
    outputs = [i for i, v in enumerate(node_class) if v == OUTPUT]
    if len(outputs) != 1:
        return Decoded(None, f"{len(outputs)} output slots")
    out = outputs[0]
    if out < 2:
        return Decoded(None, "no operation between input and output")
    if any(v != PAD for v in node_class[out + 1 :]):
        return Decoded(None, "non-padding slot after the output")
    ops = []
    for i in range(1, out):
        v = node_class[i]
        if v < 3:
            return Decoded(None, f"slot {i} holds {('pad', 'input', 'output')[v]} where an operation belongs")
        type_ = TYPES[v - 3]
        k = kernel_class[i]
        if (type_ == "skip") != (k == 0):
            return Decoded(None, f"slot {i}: {type_} with kernel class {k}")
        ops.append(op_from_type_kernel(type_, None if k == 0 else KERNELS[k - 1]).index)
    if any(kernel_class[i] != 0 for i in (0, out)):
        return Decoded(None, "kernel on the input or output")
    pairs = [(int(i), int(j)) for (i, j), e in zip(TRIU.T.tolist(), edges) if int(e)]
    if any(j > out for _, j in pairs):
        return Decoded(None, "edge touching a padding slot")
    try:
        return Decoded(Cell(tuple(ops), tuple(pairs)))
    except InvalidCellError as e:
        return Decoded(None, str(e))
