"""A fixed-length encoding of a macro network, the surrogate's and LcSVR's architecture input.

Macro networks have 1-20 positions of different cells, so the path or adjacency encodings of fixed-cell spaces
(NB-101, NB-301: what the dissertation's surrogates read) do not apply. A summary does, as NB-301's surrogates
read a configuration vector: size (log params, log MACs), shape (positions, stride-2 positions, channels) and
the cells' make-up (the share of each operation type and kernel among all op nodes, mean nodes and edges).
"""

from __future__ import annotations

import math

import numpy as np

from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch
from nasgen.space.ops import KERNELS, OPS, TYPES

NAMES: tuple[str, ...] = (
    "log10_params", "log10_macs", "positions", "stride2", "log2_mean_channels", "log2_last_channels",
    *(f"type_{t}" for t in TYPES), *(f"kernel_{k}" for k in KERNELS), "mean_op_nodes", "mean_edges",
)  # fmt: skip


def encode(macro: MacroArch) -> np.ndarray:
    """The encoding (float64, ``len(NAMES)``) of one network."""
    cost = macro_cost(macro)
    channels = [x.channels for x in macro.layers]
    ops = [OPS[o] for x in macro.layers for o in x.cell.ops]
    types = np.zeros(len(TYPES))
    kernels = np.zeros(len(KERNELS))
    for op in ops:
        types[op.type_index] += 1
        if op.kernel_index is not None:
            kernels[op.kernel_index] += 1
    n_ops = max(len(ops), 1)
    head = [math.log10(max(cost.params, 1)), math.log10(max(cost.flops, 1)), len(macro.layers),
            sum(x.stride == 2 for x in macro.layers), math.log2(float(np.mean(channels))),
            math.log2(channels[-1])]  # fmt: skip
    tail = [len(ops) / len(macro.layers), sum(len(x.cell.edges) for x in macro.layers) / len(macro.layers)]
    return np.array([*head, *(types / n_ops), *(kernels / n_ops), *tail], dtype=np.float64)


def encode_all(macros: list[MacroArch]) -> np.ndarray:
    return np.stack([encode(m) for m in macros]) if macros else np.zeros((0, len(NAMES)))
