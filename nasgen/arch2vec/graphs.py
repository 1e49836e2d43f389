"""NAS-Bench-201 cells as arch2vec's node-op DAGs (dissertation ch. 3, "Encoding of NAS-Bench-201").

NB-201 puts operations on edges; arch2vec turns each of the 6 edges into an op node, between an input and an
output node: 8 nodes in topological order (input, the 6 edge ops in NB-201's string order, output). The op node
of edge i -> j reads every op node of an edge into i (the input node when i = 0) and feeds every op node of an
edge out of j (the output node when j = 3). The adjacency is therefore the same for all 15,625 cells; only the
ops differ, and ``none``/``skip_connect`` stay op nodes, as in the dissertation's figure 1.2. Node labels are
one of ``VOCAB`` = input, NB-201's 5 ops (its own order), output. The adjacency is ``nasgen.nb201.graphs``'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasgen.arch2vec.encoding import Encoding
from nasgen.nb201.arch import OPS, Arch, check
from nasgen.nb201.graphs import ADJACENCY, INPUT, N_NODES, OUTPUT

VOCAB: tuple[str, ...] = ("input", *OPS, "output")


def encode(arch: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(adjacency (8, 8) int8, op labels (8,) int64 into VOCAB)."""
    ops = check(arch)
    labels = np.array([VOCAB.index("input"), *(VOCAB.index(o) for o in ops), VOCAB.index("output")], dtype=np.int64)
    return ADJACENCY.copy(), labels


def encode_batch(archs: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [encode(a) for a in archs]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def decode(adjacency: np.ndarray, labels: Sequence[int]) -> Arch | None:
    """The NB-201 cell of a decoded graph, or None when it is not one: the adjacency must be NB-201's, node 0 the
    input, node 7 the output and the 6 op nodes NB-201 ops."""
    adjacency = np.asarray(adjacency)
    labels = [int(v) for v in labels]
    if adjacency.shape != ADJACENCY.shape or not np.array_equal(np.triu(adjacency, 1) != 0, ADJACENCY != 0):
        return None
    if labels[INPUT] != 0 or labels[OUTPUT] != len(VOCAB) - 1:
        return None
    inner = labels[1:OUTPUT]
    if any(not 1 <= v <= len(OPS) for v in inner):
        return None
    return tuple(VOCAB[v] for v in inner)


def reference_valid(labels: Sequence[int]) -> bool:
    """The authors' reference check (``is_valid_nasbench201`` in their code): node 0 the input, the last node the
    output, nodes 2..6 NB-201 ops. It ignores the adjacency and node 1, so it accepts graphs ``decode`` rejects;
    Table 3.1's NB-201 validity was measured with it."""
    labels = [int(v) for v in labels]
    return labels[INPUT] == 0 and labels[OUTPUT] == len(VOCAB) - 1 and all(1 <= v <= len(OPS) for v in labels[2:OUTPUT])


def _encode_labelled(archs: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    adj, labels = encode_batch(archs)
    return adj, labels[:, :, None]


NB201 = Encoding("nb201", N_NODES, (len(VOCAB),), _encode_labelled, lambda adj, labels: decode(adj, labels[:, 0]),
                 reference_valid=lambda labels: reference_valid(labels[:, 0]))  # fmt: skip
