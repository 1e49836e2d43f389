"""Seeded, vectorised sampling of valid cells, the deterministic stream of unique cells, and space size.

Sampled cells are valid by construction: every op node gets at least one input and one output edge, which
(by induction over the topological order) puts it on an input->output path. The unique stream is a
deterministic function of (seed, sampler config): batch b draws from ``default_rng([seed, b])`` and the stream
keeps each canonical code at its first occurrence. A ``Cursor`` (batch, offset) marks a position in it, so a
consumer can stop after any prefix and continue later with exactly the codes it would have produced.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from nasgen.errors import ConfigError
from nasgen.space import canonical
from nasgen.space.canonical import MAX_NODES, MAX_OPS
from nasgen.space.config import SamplerConfig
from nasgen.space.ops import NUM_OPS

PAPER_MICRO_SPACE = 1e17  # paper Section 3.1: "approximately up to 1e17 configurations"


@dataclass(frozen=True)
class Cursor:
    """Position after the last consumed element of the unique stream: batch index and offset in the batch."""

    batch: int = 0
    offset: int = -1


def sample_batch(rng: np.random.Generator, size: int, cfg: SamplerConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_ops, labels, adjacency) of ``size`` random valid cells, in the batch layout of ``canonical``."""
    weights = np.asarray(cfg.op_count_weights, dtype=float)
    n_ops = rng.choice(np.arange(1, MAX_OPS + 1), size=size, p=weights / weights.sum())
    labels = rng.integers(0, NUM_OPS, size=(size, MAX_OPS))
    adj = np.zeros((size, MAX_NODES, MAX_NODES), dtype=bool)
    for k in range(1, MAX_OPS + 1):
        idx = np.flatnonzero(n_ops == k)
        if idx.size:
            adj[idx, : k + 2, : k + 2] = _random_dag(rng, idx.size, k, cfg.edge_prob)
    return n_ops, labels, adj


def _random_dag(rng: np.random.Generator, b: int, k: int, p: float) -> np.ndarray:
    n = k + 2
    a = np.triu(rng.random((b, n, n)) < p, 1)
    rows = np.arange(b)
    for v in range(1, n - 1):  # an input edge for every op node
        lonely = ~a[:, :v, v].any(axis=1)
        src = (rng.random(b) * v).astype(np.int64)
        a[rows[lonely], src[lonely], v] = True
    for v in range(n - 2, 0, -1):  # an output edge for every op node
        lonely = ~a[:, v, v + 1 :].any(axis=1)
        dst = v + 1 + (rng.random(b) * (n - 1 - v)).astype(np.int64)
        a[rows[lonely], v, dst[lonely]] = True
    return a


def sample_codes(rng: np.random.Generator, size: int, cfg: SamplerConfig) -> np.ndarray:
    """Canonical codes of ``size`` random valid cells (duplicates possible)."""
    return canonical.canonical_codes(*sample_batch(rng, size, cfg))


def unique_codes(
    n: int,
    seed: int,
    cfg: SamplerConfig,
    seen: np.ndarray | None = None,
    cursor: Cursor = Cursor(),
    progress=None,
) -> tuple[np.ndarray, Cursor]:
    """The next ``n`` codes of the unique stream after ``cursor``, excluding ``seen`` (all codes before it).

    Returns the codes and the cursor after the last one. Raises if ``cfg.max_batches`` pass without
    finding enough new cells (the configured space is exhausted).
    """
    seen_sorted = np.sort(np.asarray(seen if seen is not None else [], dtype=np.uint64))
    found: list[np.ndarray] = []
    count, b, offset = 0, cursor.batch, cursor.offset
    last = cursor
    while count < n:
        if b - cursor.batch >= cfg.max_batches:
            raise ConfigError(
                f"only {count} of {n} new unique cells after {cfg.max_batches} batches: the configured space "
                "(op_count_weights, edge_prob) is too small for this many cells"
            )
        codes = sample_codes(np.random.default_rng([seed, b]), cfg.batch_size, cfg)
        uniq, first = np.unique(codes, return_index=True)
        keep = first > offset
        uniq, first = uniq[keep], first[keep]
        if seen_sorted.size:
            fresh = ~_contains(seen_sorted, uniq)
            uniq, first = uniq[fresh], first[fresh]
        order = np.argsort(first, kind="stable")
        uniq, first = uniq[order][: n - count], first[order][: n - count]
        if uniq.size:
            found.append(uniq)
            count += uniq.size
            seen_sorted = np.union1d(seen_sorted, uniq)
            last = Cursor(b, int(first[-1]))
            if progress is not None:
                progress(int(uniq.size))
        b, offset = b + 1, -1
    return (np.concatenate(found) if found else np.empty(0, np.uint64)), last


def _contains(sorted_arr: np.ndarray, values: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_arr, values)
    pos = np.minimum(pos, sorted_arr.size - 1)
    return sorted_arr[pos] == values


# --- size of the micro space ---------------------------------------------------------------------------
def count_valid_dags(k: int) -> int:
    """Exact number of stored (topologically ordered) valid adjacencies with k op nodes.

    A stored DAG is valid iff every op node has an input edge and an output edge (see module docstring),
    counted by inclusion-exclusion over the op nodes that lack one or the other.
    """
    n = k + 2
    ops = range(1, n - 1)
    total = 0
    for no_in in itertools.chain.from_iterable(itertools.combinations(ops, r) for r in range(k + 1)):
        for no_out in itertools.chain.from_iterable(itertools.combinations(ops, r) for r in range(k + 1)):
            free = sum(1 for i in range(n) for j in range(i + 1, n) if j not in no_in and i not in no_out)
            total += (-1) ** (len(no_in) + len(no_out)) * 2**free
    return total


def space_size(samples: int = 2000, seed: int = 0, exact_up_to: int = 3) -> dict:
    """Size of the micro space: stored forms exactly, isomorphism classes exactly for small k and estimated
    for larger k as (stored forms) x E[1 / orbit size] under uniform sampling of stored forms."""
    rng = np.random.default_rng(seed)
    per_k = []
    for k in range(1, MAX_OPS + 1):
        stored = count_valid_dags(k) * NUM_OPS**k
        if k <= exact_up_to:
            classes, stderr, method = _exact_classes(k), 0.0, "exact enumeration"
        else:
            labels, adj = _uniform_stored(rng, k, samples)
            inv = 1.0 / canonical.orbit_size(k, labels, adj)
            classes, stderr = stored * inv.mean(), stored * inv.std(ddof=1) / math.sqrt(samples)
            method = f"Monte Carlo over {samples} uniform stored forms"
        per_k.append({"ops": k, "stored_forms": stored, "canonical_cells": classes, "stderr": stderr, "method": method})
    total_stored = sum(r["stored_forms"] for r in per_k)
    total_classes = sum(r["canonical_cells"] for r in per_k)
    return {
        "per_op_count": per_k,
        "stored_forms": total_stored,
        "canonical_cells": total_classes,
        "canonical_cells_stderr": math.sqrt(sum(r["stderr"] ** 2 for r in per_k)),
        "paper_estimate": PAPER_MICRO_SPACE,
        "upper_bound_2^28x28^6": 2**28 * NUM_OPS**6,
    }


def _uniform_stored(rng: np.random.Generator, k: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """m stored forms drawn uniformly: uniform upper-triangular matrices, rejected unless valid."""
    n = k + 2
    got: list[np.ndarray] = []
    while sum(len(g) for g in got) < m:
        a = np.triu(rng.random((4 * m, n, n)) < 0.5, 1)
        ok = a[:, :, 1:-1].any(axis=1).all(axis=1) & a[:, 1:-1, :].any(axis=2).all(axis=1)
        got.append(a[ok])
    adj = np.concatenate(got)[:m]
    labels = rng.integers(0, NUM_OPS, size=(m, k))
    return labels, adj


def _exact_classes(k: int) -> int:
    """Count isomorphism classes by canonicalising every stored form (feasible for k <= 3)."""
    n = k + 2
    iu, ju = canonical.pairs(n)
    bits = (np.arange(2 ** len(iu))[:, None] >> np.arange(len(iu))[None, :]) & 1
    adj = np.zeros((len(bits), n, n), dtype=bool)
    adj[:, iu, ju] = bits.astype(bool)
    adj = adj[adj[:, :, 1:-1].any(axis=1).all(axis=1) & adj[:, 1:-1, :].any(axis=2).all(axis=1)]
    labels = np.asarray(list(itertools.product(range(NUM_OPS), repeat=k)), dtype=np.int64)
    a_rep = np.repeat(adj, len(labels), axis=0)
    l_rep = np.tile(labels, (len(adj), 1))
    codes = canonical.canonical_codes_fixed_k(k, l_rep, a_rep)
    return int(np.unique(codes).size)


def random_macro(
    rng: np.random.Generator,
    cfg: SamplerConfig = SamplerConfig(),
    max_layers: int = 20,
    channels: tuple[int, ...] | None = None,
    input_shape: tuple[int, int, int] = (3, 32, 32),
    classes: int = 10,
):
    """A random MacroArch: 1..max_layers positions, each with its own random cell, channels and stride."""
    from nasgen.space.cell import Cell
    from nasgen.space.macro import CHANNELS, Layer, MacroArch

    channels = channels or CHANNELS
    n = int(rng.integers(1, max_layers + 1))
    k, labels, adj = sample_batch(rng, n, cfg)
    layers = []
    for r in range(n):
        kk = int(k[r])
        edges = tuple(zip(*np.nonzero(adj[r, : kk + 2, : kk + 2])))
        cell = Cell(tuple(labels[r, :kk].tolist()), edges)
        layers.append(Layer(cell, int(channels[rng.integers(len(channels))]), int(rng.integers(1, 3))))
    return MacroArch(tuple(layers), input_shape, classes)
