"""Exact canonical form of cells, vectorised over batches.

A cell with k op nodes is stored in a topological order: node 0 = input, 1..k = ops, k+1 = output. Its *code*
packs (k, op labels, upper-triangle adjacency) into one 61-bit integer::

    code = k << 58 | labels << 28 | adjacency        labels: 6 slots x 5 bits, adjacency: up to 28 pair bits

The canonical code is the minimum code over all orderings of the op nodes that sort them by an
isomorphism-invariant node colour whose leading component is the longest-path depth from the input.
Because depth strictly increases along every edge, each such ordering is topological; because the colour is
invariant, isomorphic cells have exactly the same set of candidate orderings (up to relabelling) and hence the
same minimum. Equal canonical codes decode to the same graph, so the mapping is exact both ways, and since the
code is the graph itself (no hash) ``cell_id`` can never collide. Colours come from two rounds of
Weisfeiler-Lehman refinement; a colour collision only adds tied nodes, whose orderings are then enumerated
explicitly, so refinement affects speed, never correctness.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

MAX_OPS = 6
MAX_NODES = MAX_OPS + 2
LABEL_BITS = 5
ADJ_BITS = MAX_NODES * (MAX_NODES - 1) // 2  # 28
LABELS_SHIFT = ADJ_BITS
K_SHIFT = ADJ_BITS + LABEL_BITS * MAX_OPS  # 58
WL_ROUNDS = 2

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_IN_SALT = np.uint64(0x9E3779B97F4A7C15)
_OUT_SALT = np.uint64(0xD6E8FEB86659FD93)


@cache
def pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the strict upper triangle of an n x n matrix, row-major (read-only)."""
    iu, ju = np.triu_indices(n, 1)
    iu.flags.writeable = ju.flags.writeable = False
    return iu, ju


@cache
def _pair_list(n: int) -> tuple[tuple[int, int], ...]:
    return tuple(zip(*(a.tolist() for a in pairs(n))))


def _pair_weights(n: int) -> np.ndarray:
    """Bit weight of each upper-triangle pair; the first pair is the most significant bit."""
    m = n * (n - 1) // 2
    return np.left_shift(np.uint64(1), np.arange(m - 1, -1, -1, dtype=np.uint64))


def _label_weights(k: int) -> np.ndarray:
    shifts = LABELS_SHIFT + LABEL_BITS * (MAX_OPS - 1 - np.arange(k, dtype=np.uint64))
    return np.left_shift(np.uint64(1), shifts.astype(np.uint64))


def encode(k: int, labels: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Codes of b cells with k ops each: labels (b, k) ints, adj (b, n, n) bools in stored order."""
    n = k + 2
    iu, ju = pairs(n)
    bits = adj[:, iu, ju].astype(np.uint64)
    code = (bits * _pair_weights(n)).sum(axis=1, dtype=np.uint64)
    code |= (labels.astype(np.uint64) * _label_weights(k)).sum(axis=1, dtype=np.uint64)
    return code | (np.uint64(k) << np.uint64(K_SHIFT))


def decode(code: int) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """(op labels, edges) of one code; the inverse of ``encode``."""
    code = int(code)
    k = code >> K_SHIFT
    if not 1 <= k <= MAX_OPS:
        raise ValueError(f"not a cell code: {code:#x} (op count {k})")
    labels = tuple((code >> (LABELS_SHIFT + LABEL_BITS * (MAX_OPS - 1 - p))) & 31 for p in range(k))
    plist = _pair_list(k + 2)
    m = len(plist)
    edges = tuple(plist[t] for t in range(m) if (code >> (m - 1 - t)) & 1)
    return labels, edges


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a cheap, well-spread uint64 -> uint64 map (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _longest_path_depths(adj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longest path length from the input to each node and from each node to the output."""
    b, n, _ = adj.shape
    d_in = np.zeros((b, n), dtype=np.int64)
    for j in range(1, n):
        d_in[:, j] = np.where(adj[:, :j, j], d_in[:, :j] + 1, 0).max(axis=1)
    d_out = np.zeros((b, n), dtype=np.int64)
    for i in range(n - 2, -1, -1):
        d_out[:, i] = np.where(adj[:, i, i + 1 :], d_out[:, i + 1 :] + 1, 0).max(axis=1)
    return d_in, d_out


def _node_colours(labels: np.ndarray, adj: np.ndarray, d_in: np.ndarray, d_out: np.ndarray) -> np.ndarray:
    b, n, _ = adj.shape
    with np.errstate(over="ignore"):
        node_label = np.full((b, n), 40, dtype=np.uint64)  # input sentinel (op labels are 0..27)
        node_label[:, -1] = 41  # output sentinel
        node_label[:, 1:-1] = labels
        c = _mix(node_label * np.uint64(1 << 16) + d_in.astype(np.uint64) * np.uint64(256) + d_out.astype(np.uint64))
        a = adj.astype(np.uint64)
        for _ in range(WL_ROUNDS):
            h_in = (a * _mix(c ^ _IN_SALT)[:, :, None]).sum(axis=1, dtype=np.uint64)
            h_out = (a * _mix(c ^ _OUT_SALT)[:, None, :]).sum(axis=2, dtype=np.uint64)
            c = _mix(c ^ _mix(h_in + _IN_SALT) ^ _mix(h_out * np.uint64(3) + _OUT_SALT))
    return c


def _apply_orders(labels: np.ndarray, adj: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Codes after reordering op nodes: orders[r] lists old op positions (0-based) in new order."""
    b, k = orders.shape
    n = k + 2
    old = np.empty((b, n), dtype=np.int64)
    old[:, 0] = 0
    old[:, -1] = n - 1
    old[:, 1:-1] = orders + 1
    rows = np.arange(b)[:, None, None]
    new_adj = adj[rows, old[:, :, None], old[:, None, :]]
    new_labels = np.take_along_axis(labels, orders, axis=1)
    return encode(k, new_labels, new_adj)


def canonical_codes_fixed_k(k: int, labels: np.ndarray, adj: np.ndarray) -> np.ndarray:
    d_in, d_out = _longest_path_depths(adj)
    colour = _node_colours(labels, adj, d_in, d_out)[:, 1:-1]
    depth = d_in[:, 1:-1]
    order = np.lexsort((colour, depth), axis=-1)
    sd = np.take_along_axis(depth, order, axis=1)
    sc = np.take_along_axis(colour, order, axis=1)
    tie = (sd[:, 1:] == sd[:, :-1]) & (sc[:, 1:] == sc[:, :-1])
    has_tie = tie.any(axis=1)
    codes = _apply_orders(labels, adj, order)
    tied = np.flatnonzero(has_tie)
    if tied.size:
        codes[tied] = _resolve_ties(k, labels[tied], adj[tied], order[tied], tie[tied])
    return codes


def _resolve_ties(k: int, labels: np.ndarray, adj: np.ndarray, order: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Enumerate every permutation inside each run of tied nodes and keep the smallest code."""
    owners: list[int] = []
    candidates: list[list[int]] = []
    for r in range(len(order)):
        runs, start = [], 0
        for s in range(1, k + 1):
            if s == k or not tie[r, s - 1]:
                runs.append(list(order[r, start:s]))
                start = s
        for choice in itertools.product(*(itertools.permutations(run) for run in runs)):
            candidates.append([x for run in choice for x in run])
            owners.append(r)
    owner = np.asarray(owners)
    cand = _apply_orders(labels[owner], adj[owner], np.asarray(candidates, dtype=np.int64))
    best = np.full(len(order), np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(best, owner, cand)
    return best


def canonical_codes(n_ops: np.ndarray, labels: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Canonical codes of a batch of valid cells.

    n_ops (b,) op counts; labels (b, 6) op indices (padding ignored); adj (b, 8, 8) bools, each cell in its own
    stored topological order with the output at index n_ops + 1. Cells must already be valid (normalised).
    """
    n_ops = np.asarray(n_ops)
    out = np.empty(len(n_ops), dtype=np.uint64)
    for k in np.unique(n_ops):
        k = int(k)
        idx = np.flatnonzero(n_ops == k)
        n = k + 2
        out[idx] = canonical_codes_fixed_k(k, labels[idx, :k].astype(np.int64), adj[idx, :n, :n].astype(bool))
    return out


def orbit_size(k: int, labels: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """Number of distinct stored (topologically ordered) forms of each cell: used to count the space."""
    n = k + 2
    perms = np.asarray(list(itertools.permutations(range(k))), dtype=np.int64)
    # an order is topological iff no edge goes from a later to an earlier op position
    result = np.empty(len(labels), dtype=np.int64)
    for r in range(len(labels)):
        a = adj[r, :n, :n]
        pos = np.argsort(perms, axis=1) + 1  # new position of each old op node
        full = np.concatenate([np.zeros((len(perms), 1), np.int64), pos, np.full((len(perms), 1), n - 1)], 1)
        src, dst = np.nonzero(a)
        ok = (full[:, src] < full[:, dst]).all(axis=1)
        codes = _apply_orders(np.repeat(labels[r : r + 1, :k], ok.sum(), 0), np.repeat(a[None], ok.sum(), 0), perms[ok])
        result[r] = len(np.unique(codes))
    return result
