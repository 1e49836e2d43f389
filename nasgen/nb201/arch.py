"""NAS-Bench-201 architectures: the six-edge op tuple, its string form and NASLib's key form.

An NB201 cell is a 4-node DAG (node 0 the input, node 3 the output); each of its 6 edges i -> j carries one of
5 operations. The canonical form here is the tuple of edge ops in NB201's string order
``|e01|+|e02|e12|+|e03|e13|e23|``, so 5^6 = 15,625 architectures. NASLib orders the same edges
(0,1), (0,2), (0,3), (1,2), (1,3), (2,3) and numbers the ops differently (``NASLIB_OPS``).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Sequence

from nasgen.errors import InvalidCellError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # string order
NODES = 4
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
SPACE_SIZE = len(OPS) ** len(EDGES)

Arch = tuple[str, ...]


def check(ops: Sequence[str]) -> Arch:
    ops = tuple(ops)
    if len(ops) != len(EDGES):
        raise InvalidCellError(f"an NB-201 architecture has {len(EDGES)} edge operations, got {len(ops)}")
    bad = [o for o in ops if o not in OPS]
    if bad:
        raise InvalidCellError(f"unknown NB-201 operation {bad[0]!r}; expected one of {list(OPS)}")
    return ops


def parse(text: str) -> Arch:
    """The op tuple of a full NB201 string (every edge named, ``none`` included)."""
    nodes = text.strip().split("+")
    if len(nodes) != NODES - 1:
        raise InvalidCellError(f"an NB-201 cell has 3 computed nodes separated by '+', got {text!r}")
    ops: dict[tuple[int, int], str] = {}
    for j, node in enumerate(nodes, start=1):
        for item in (s for s in node.strip().strip("|").split("|") if s):
            op, sep, src = item.partition("~")
            if not sep or not src.isdigit() or not 0 <= int(src) < j or (int(src), j) in ops:
                raise InvalidCellError(f"bad NB-201 edge {item!r} into node {j} of {text!r}")
            ops[(int(src), j)] = op
    missing = [e for e in EDGES if e not in ops]
    if missing:
        raise InvalidCellError(f"NB-201 string {text!r} does not name edges {missing}")
    return check(ops[e] for e in EDGES)


def to_string(ops: Sequence[str]) -> str:
    ops = check(ops)
    by_edge = dict(zip(EDGES, ops))
    return "+".join("|" + "|".join(f"{by_edge[(i, j)]}~{i}" for i in range(j)) + "|" for j in range(1, NODES))


def from_naslib(key: str | Sequence[int]) -> Arch:
    """NASLib's ``"(o1, ..., o6)"`` key (its op numbering and edge order) as an op tuple."""
    idx = ast.literal_eval(key) if isinstance(key, str) else tuple(key)
    if len(idx) != len(NASLIB_EDGES) or not all(isinstance(i, int) and 0 <= i < len(NASLIB_OPS) for i in idx):
        raise InvalidCellError(f"bad NASLib NB-201 key {key!r}")
    by_edge = {e: NASLIB_OPS[i] for e, i in zip(NASLIB_EDGES, idx)}
    return tuple(by_edge[e] for e in EDGES)


def to_index(ops: Sequence[str]) -> int:
    """Position in the base-5 enumeration of ``all_archs`` (first edge most significant)."""
    out = 0
    for o in check(ops):
        out = out * len(OPS) + OPS.index(o)
    return out


def from_index(index: int) -> Arch:
    if not 0 <= index < SPACE_SIZE:
        raise InvalidCellError(f"NB-201 index {index} outside 0..{SPACE_SIZE - 1}")
    digits = []
    for _ in EDGES:
        index, d = divmod(index, len(OPS))
        digits.append(OPS[d])
    return tuple(reversed(digits))


def all_archs() -> Iterator[Arch]:
    return iter(itertools.product(OPS, repeat=len(EDGES)))


def has_path(ops: Sequence[str]) -> bool:
    """True when some input -> output path avoids ``none`` edges; otherwise the cell outputs zeros."""
    reach = {0}
    for (i, j), o in sorted(zip(EDGES, check(ops)), key=lambda e: e[0][1]):
        if o != "none" and i in reach:
            reach.add(j)
    return NODES - 1 in reach


def sample_indices(n: int | None, seed: int):
    """``n`` distinct architecture indices drawn with ``seed``, sorted (all 15,625 when ``n`` is None or larger)."""
    import numpy as np

    if n is None or n >= SPACE_SIZE:
        return np.arange(SPACE_SIZE)
    return np.sort(np.random.default_rng(seed).choice(SPACE_SIZE, size=n, replace=False))


def unique_expression(ops: Sequence[str]) -> str:
    """NB-201's own de-duplication key (its ``to_unique_str(consider_zero=True)``): each node as the sorted sum of
    its input terms, a ``none`` edge (or a zero input) ``#``, ``skip_connect`` its input's expression unchanged.
    It folds skip edges into identities, which GraphNet cells keep as op nodes: 6,466 keys for the 15,625
    architectures against 8,764 distinct GraphNet cells (``nasgen.nb201.cell.cell_index``)."""
    ops = check(ops)
    nodes = {0: "0"}
    for k in range(1, NODES):
        terms = []
        for (i, j), op in zip(EDGES, ops, strict=True):
            if j == k:
                zero = op == "none" or nodes[i] == "#"
                terms.append("#" if zero else nodes[i] if op == "skip_connect" else f"({nodes[i]})@{op}")
        nodes[k] = "+".join(sorted(terms))
    return nodes[NODES - 1]
