"""Pre-training arch2vec on NAS-Bench-201 and its metrics (dissertation ch. 3, Table 3.1).

- reconstruction: the share of held-out cells whose greedy decoding of the posterior means gives back every op
  and every edge;
- validity: the share of rescaled prior draws (z ~ N(0, I) per node, scaled by the training means' per-node,
  per-dimension std and shifted by their mean) that decode to an NB-201 cell (``graphs.decode``);
- uniqueness: distinct cells among the valid draws, over the valid draws;
- validity_reference / uniqueness_reference: the same draws under the authors' code's check
  (``graphs.reference_valid``: input, output and ops at nodes 2..6; adjacency ignored) and its uniqueness (distinct
  decoded (adjacency, ops) pairs among those), the definitions behind Table 3.1's NB-201 column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from nasgen.arch2vec import graphs
from nasgen.arch2vec.model import Arch2Vec, elbo_loss, greedy
from nasgen.config import Arch2VecConfig
from nasgen.errors import ConfigError


def tensors(archs: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    adj, ops = graphs.encode_batch(archs)
    return torch.from_numpy(ops), torch.from_numpy(adj)


def split(n: int, cfg: Arch2VecConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) positions: a seeded permutation, ``val_fraction`` held out."""
    held = int(round(n * cfg.val_fraction))
    if held < 1 or n - held < cfg.batch_size:
        raise ConfigError(f"{n} cells cannot be split into a held-out {cfg.val_fraction:.0%} and a training batch")
    perm = np.random.default_rng(cfg.seed).permutation(n)
    return np.sort(perm[held:]), np.sort(perm[:held])


def train(archs: Sequence[Sequence[str]], cfg: Arch2VecConfig,
          progress: Callable[[int], None] | None = None) -> tuple[Arch2Vec, dict]:  # fmt: skip
    """Adam on the negative ELBO over mini-batches of the training split; the model and Table 3.1's metrics."""
    torch.manual_seed(cfg.seed)
    ops, adj = tensors(archs)
    tr, held = split(len(archs), cfg)
    model = Arch2Vec(len(graphs.VOCAB), cfg)
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
    metrics = {"train_loss": history, "cells": len(archs), "held_out": len(held),
               "reconstruction": reconstruction(model, ops[held], adj[held]),
               "train_reconstruction": reconstruction(model, ops[tr], adj[tr]),
               **prior_quality(model, ops[tr], adj[tr], cfg.prior_samples, cfg.seed)}  # fmt: skip
    return model, metrics


@torch.no_grad()
def reconstruction(model: Arch2Vec, ops: torch.Tensor, adj: torch.Tensor) -> float:
    model.eval()
    mu, _ = model.encode(ops, adj)
    dec_ops, dec_adj = greedy(model, mu)
    same = (dec_ops == ops).all(1) & (dec_adj == torch.triu(adj, 1).to(torch.int8)).flatten(1).all(1)
    return float(same.float().mean())


@torch.no_grad()
def prior_quality(model: Arch2Vec, ops: torch.Tensor, adj: torch.Tensor, n: int, seed: int) -> dict:
    """Validity and uniqueness of ``n`` rescaled prior draws."""
    model.eval()
    mu, _ = model.encode(ops, adj)
    mean, std = mu.mean(0), mu.std(0)
    z = mean + std * torch.randn((n, *mean.shape), generator=torch.Generator().manual_seed(seed))
    dec_ops, dec_adj = greedy(model, z)
    cells = [graphs.decode(a, o) for a, o in zip(dec_adj.numpy(), dec_ops.numpy())]
    valid = [c for c in cells if c is not None]
    ref = {(a.tobytes(), o.tobytes()) for a, o in zip(dec_adj.numpy(), dec_ops.numpy()) if graphs.reference_valid(o)}
    ref_n = sum(graphs.reference_valid(o) for o in dec_ops.numpy())
    return {"validity": len(valid) / n, "uniqueness": len(set(valid)) / len(valid) if valid else 0.0,
            "validity_reference": ref_n / n, "uniqueness_reference": len(ref) / ref_n if ref_n else 0.0}  # fmt: skip
