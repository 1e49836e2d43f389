"""Architectures as CATE's token sequences: one token per node in topological order (input, the ops, output)
and the DAG's adjacency. Token ids: the space's node vocabulary, then [PAD] and [MASK].

- NB-201: arch2vec's 8-node op DAG (``nasgen.arch2vec.graphs``): input, the 6 edge ops, output; vocabulary
  input, NB-201's 5 ops, output.
- GraphNet: the cell's input, its 1..6 ops (one token per op of the 28: type and kernel together) and output,
  padded to 8 nodes; vocabulary input, the 28 ops, output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nasgen.arch2vec import graphs as nb201_graphs
from nasgen.space.cell import MAX_NODES, Cell
from nasgen.space.ops import OPS


@dataclass(frozen=True)
class Vocabulary:
    names: tuple[str, ...]  # the node tokens a model predicts

    @property
    def pad(self) -> int:
        return len(self.names)

    @property
    def mask(self) -> int:
        return len(self.names) + 1

    @property
    def size(self) -> int:  # embedding rows: the names, [PAD], [MASK]
        return len(self.names) + 2


NB201_VOCAB = Vocabulary(nb201_graphs.VOCAB)
GRAPHNET_VOCAB = Vocabulary(("input", *(op.name for op in OPS), "output"))


def nb201_tokens(archs: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (B, 8) int64, adjacency (B, 8, 8) int8)."""
    adj, labels = nb201_graphs.encode_batch(archs)
    return labels.astype(np.int64), adj


def graphnet_tokens(cells: Sequence[Cell]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (B, 8) int64 with [PAD] after the output, adjacency (B, 8, 8) int8)."""
    v = GRAPHNET_VOCAB
    tokens = np.full((len(cells), MAX_NODES), v.pad, dtype=np.int64)
    adj = np.zeros((len(cells), MAX_NODES, MAX_NODES), dtype=np.int8)
    for r, c in enumerate(cells):
        tokens[r, 0] = 0
        tokens[r, 1 : c.n_nodes - 1] = [1 + o for o in c.ops]
        tokens[r, c.n_nodes - 1] = len(v.names) - 1
        adj[r] = c.adjacency()
    return tokens, adj


def transitive_closure(adj: np.ndarray) -> np.ndarray:
    """Floyd-Warshall reachability (the dissertation's Algorithm 2) of (..., N, N) 0/1 adjacencies."""
    r = np.asarray(adj).astype(bool).copy()
    for k in range(r.shape[-1]):
        r |= r[..., :, k, None] & r[..., None, k, :]
    return r.astype(np.int8)


def dependency_mask(adj: np.ndarray, closure: bool, valid: np.ndarray | None = None) -> np.ndarray:
    """Attention permission (..., N, N), True where query node i may attend to key node j: j is a dependency of
    i — an edge j -> i (direct), or a path j -> ... -> i with ``closure`` — or j = i. The diagonal is our
    decision: without it the input node (no dependency) would have an empty row; the authors' code leaves the
    diagonal out and lets an empty row attend uniformly to every position, padding included. Padding nodes
    (``valid`` False) attend only to themselves and are attended by none."""
    dep = transitive_closure(adj) if closure else np.asarray(adj).astype(np.int8)
    allowed = np.swapaxes(dep, -1, -2).astype(bool) | np.eye(dep.shape[-1], dtype=bool)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        allowed &= v[..., None, :] & v[..., :, None]
        allowed |= np.eye(dep.shape[-1], dtype=bool)
    return allowed


def output_positions(tokens: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    """Index of each sequence's output node (its encoding): the last non-padding position."""
    return (np.asarray(tokens) != vocab.pad).sum(-1) - 1


@dataclass(frozen=True)
class TokenSpace:
    name: str
    vocab: Vocabulary
    tokens: Callable[[Sequence], tuple[np.ndarray, np.ndarray]]  # items -> (tokens (B, N), adjacency (B, N, N))


NB201 = TokenSpace("nb201", NB201_VOCAB, nb201_tokens)
GRAPHNET = TokenSpace("graphnet", GRAPHNET_VOCAB, graphnet_tokens)
