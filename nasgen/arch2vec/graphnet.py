"""GraphNet cells as arch2vec graphs: 8 node slots in the cell's stored topological order (input at slot 0,
the k ops, the output at slot k + 1, padding after), two label heads per slot, the edges of the cell.

- type head (13 classes): input, output, the 10 op types, padding;
- kernel head (4 classes): none (input, output, skip, padding), 1, 3, 5.

A decoded graph is a cell when slot 0 is the input, the first output slot p >= 2 is followed by padding only,
slots 1..p-1 are ops with a kernel exactly when their type has one, no edge touches a padding slot, and the
edges among slots 0..p form a valid cell (every op on an input-output path; ``nasgen.gvae.data.to_cell``).
Nothing is repaired.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasgen.arch2vec.encoding import Encoding
from nasgen.gvae.data import N_KERNEL_CLASSES, TRIU, to_cell
from nasgen.space.cell import MAX_NODES, Cell
from nasgen.space.ops import OPS, TYPES

INPUT_CLASS, OUTPUT_CLASS, PAD_CLASS = 0, 1, 2 + len(TYPES)
TYPE_CLASSES = PAD_CLASS + 1  # 13


def encode(cells: Sequence[Cell]) -> tuple[np.ndarray, np.ndarray]:
    b = len(cells)
    adj = np.zeros((b, MAX_NODES, MAX_NODES), dtype=np.int8)
    labels = np.zeros((b, MAX_NODES, 2), dtype=np.int64)
    labels[:, :, 0] = PAD_CLASS
    for r, c in enumerate(cells):
        adj[r] = c.adjacency()
        labels[r, 0, 0] = INPUT_CLASS
        labels[r, c.n_nodes - 1, 0] = OUTPUT_CLASS
        for p, o in enumerate(c.ops, start=1):
            op = OPS[o]
            labels[r, p] = (2 + op.type_index, 0 if op.kernel_index is None else op.kernel_index + 1)
    return adj, labels


def decode(adj: np.ndarray, labels: np.ndarray) -> Cell | None:
    adj, labels = np.asarray(adj), np.asarray(labels)
    types, kernels = labels[:, 0].astype(int), labels[:, 1].astype(int)
    outputs = np.flatnonzero(types == OUTPUT_CLASS)
    if types[0] != INPUT_CLASS or not len(outputs) or outputs[0] < 2:
        return None
    out = int(outputs[0])
    if (types[out + 1 :] != PAD_CLASS).any() or (kernels[out + 1 :] != 0).any() or kernels[0] or kernels[out]:
        return None
    inner = types[1:out]
    if ((inner < 2) | (inner >= PAD_CLASS)).any():
        return None
    if np.triu(adj, 1)[:, out + 1 :].any() or np.triu(adj, 1)[out + 1 :].any():
        return None
    type_class = np.zeros(MAX_NODES, dtype=int)
    type_class[1:out] = inner - 2
    edges = (np.triu(adj, 1) != 0)[TRIU[0].numpy(), TRIU[1].numpy()].astype(int)
    return to_cell(out - 1, type_class, kernels, edges).cell


GRAPHNET = Encoding("graphnet", MAX_NODES, (TYPE_CLASSES, N_KERNEL_CLASSES), encode, decode)
