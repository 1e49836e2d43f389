"""Pre-training arch2vec on a space's architectures (``Encoding``: NB-201 or GraphNet) and its metrics
(dissertation ch. 3, Table 3.1).

- reconstruction: the share of held-out cells whose greedy decoding of the posterior means gives back every
  label and every edge; label_accuracy and edge_accuracy: the authors' code's element-wise accuracies on the
  same decodings (each node label; each upper-triangle pair);
- validity: the share of rescaled prior draws (z ~ N(0, I) per node, scaled by the training means' per-node,
  per-dimension std and shifted by their mean) that decode to an architecture of the space (``Encoding.decode``);
- uniqueness: distinct cells among the valid draws, over the valid draws;
- validity_reference / uniqueness_reference: the same draws under the authors' code's check
  (``graphs.reference_valid``: input, output and ops at nodes 2..6; adjacency ignored) and its uniqueness (distinct
  decoded (adjacency, ops) pairs among those), the definitions behind Table 3.1's NB-201 column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from nasgen.arch2vec.config import Arch2VecConfig
from nasgen.arch2vec.encoding import Encoding
from nasgen.arch2vec.graphs import NB201
from nasgen.arch2vec.model import Arch2Vec, elbo_loss, greedy, upper_mask
from nasgen.errors import ConfigError


def tensors(items: Sequence, encoding: Encoding = NB201) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels (B, N, H), adjacency (B, N, N)) of a space's architectures."""
    adj, labels = encoding.encode(items)
    return torch.from_numpy(labels), torch.from_numpy(adj)


def split(n: int, cfg: Arch2VecConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) positions: a seeded permutation, ``val_fraction`` held out."""
    held = int(round(n * cfg.val_fraction))
    if held < 1 or n - held < cfg.batch_size:
        raise ConfigError(f"{n} cells cannot be split into a held-out {cfg.val_fraction:.0%} and a training batch")
    perm = np.random.default_rng(cfg.seed).permutation(n)
    return np.sort(perm[held:]), np.sort(perm[:held])


def train(archs: Sequence, cfg: Arch2VecConfig, progress: Callable[[int], None] | None = None,
          encoding: Encoding = NB201) -> tuple[Arch2Vec, dict]:  # fmt: skip
    """Adam on the negative ELBO over mini-batches of the training split; the model and Table 3.1's metrics."""
    torch.manual_seed(cfg.seed)
    ops, adj = tensors(archs, encoding)
    tr, held = split(len(archs), cfg)
    model = Arch2Vec(encoding.heads, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    history = []
    for _ in range(cfg.epochs):
        model.train()
        order = torch.from_numpy(tr)[torch.randperm(len(tr), generator=gen)]
        total, batches = 0.0, 0
        for i in range(0, len(order) - 1, cfg.batch_size):  # a batch of one cannot be batch-normalised
            b = order[i : i + cfg.batch_size]
            if len(b) < 2:
                continue
            loss = elbo_loss(model, ops[b], adj[b], gen)["loss"]
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            total, batches = total + float(loss.detach()), batches + 1
        history.append(total / batches)
        if progress:
            progress(1)
    exact, labels_acc, edges_acc = reconstruction(model, ops[held], adj[held], elementwise=True)
    metrics = {"train_loss": history, "cells": len(archs), "held_out": len(held), "reconstruction": exact,
               "label_accuracy": labels_acc, "edge_accuracy": edges_acc,
               "train_reconstruction": reconstruction(model, ops[tr], adj[tr]),
               **prior_quality(model, ops[tr], adj[tr], cfg.prior_samples, cfg.seed, encoding)}  # fmt: skip
    return model, metrics


@torch.no_grad()
def reconstruction(model: Arch2Vec, ops: torch.Tensor, adj: torch.Tensor, elementwise: bool = False):
    """The share of graphs decoded exactly; with ``elementwise`` also the authors' code's accuracies: of node
    labels (each head) and of upper-triangle edge decisions, each over all of them."""
    model.eval()
    mu, _ = model.encode(ops, adj)
    dec_ops, dec_adj = greedy(model, mu)
    ok_labels = dec_ops == ops
    ok_edges = (dec_adj == torch.triu(adj, 1).to(torch.int8))[:, upper_mask(adj.shape[1])]
    exact = float((ok_labels.flatten(1).all(1) & ok_edges.all(1)).float().mean())
    if not elementwise:
        return exact
    return exact, float(ok_labels.float().mean()), float(ok_edges.float().mean())


@torch.no_grad()
def prior_quality(model: Arch2Vec, ops: torch.Tensor, adj: torch.Tensor, n: int, seed: int,
                  encoding: Encoding = NB201) -> dict:  # fmt: skip
    """Validity and uniqueness of ``n`` rescaled prior draws (and under the authors' check, where there is one)."""
    model.eval()
    mu, _ = model.encode(ops, adj)
    mean, std = mu.mean(0), mu.std(0)
    z = mean + std * torch.randn((n, *mean.shape), generator=torch.Generator().manual_seed(seed))
    dec_ops, dec_adj = greedy(model, z)
    pairs = list(zip(dec_adj.numpy(), dec_ops.numpy()))
    valid = [c for c in (encoding.decode(a, o) for a, o in pairs) if c is not None]
    out = {"validity": len(valid) / n, "uniqueness": len(set(valid)) / len(valid) if valid else 0.0}
    if encoding.reference_valid is not None:
        ref = [(a.tobytes(), o.tobytes()) for a, o in pairs if encoding.reference_valid(o)]
        out.update(validity_reference=len(ref) / n, uniqueness_reference=len(set(ref)) / len(ref) if ref else 0.0)
    return out
