"""Fitting the CCNF by maximum likelihood (paper Eq. 4): latents of cells, conditioned on ZC vectors.

AdamW with the paper's fixed learning rate and weight decay 0.01; early stopping on the held-out NLL in
eval mode (running batch-norm statistics: the map that sampling inverts). NFE of the forward (density)
solves and of the backward pass (the adjoint solve; 0 without adjoint) are recorded per epoch, because
they, not the parameter count, decide what a CCNF costs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from nasgen.ccnf.cnf import CCNF
from nasgen.ccnf.config import CCNFConfig
from nasgen.early_stopping import EarlyStopping
from nasgen.errors import ConfigError


@dataclass
class History:
    train_nll: list[float] = field(default_factory=list)  # nats per latent, batch statistics
    val_nll: list[float] = field(default_factory=list)  # nats per latent, eval mode (train NLL without a split)
    nfe_forward: list[float] = field(default_factory=list)  # per training solve (all blocks)
    nfe_backward: list[float] = field(default_factory=list)
    end_time: list[float] = field(default_factory=list)  # of the first block
    best_epoch: int = 0


def _as_tensor(a, what: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a, dtype=np.float32))
    if t.ndim != 2 or not torch.isfinite(t).all():
        raise ConfigError(f"CCNF {what} must be a finite 2-D array, got shape {tuple(t.shape)}")
    return t


@torch.no_grad()
def mean_nll(model: CCNF, x: torch.Tensor, cond: torch.Tensor, batch: int, generator: torch.Generator) -> float:
    model.eval()
    total = sum(float(-model.log_prob(x[i : i + batch], cond[i : i + batch], generator).sum())
                for i in range(0, len(x), batch))  # fmt: skip
    return total / max(1, len(x))


def train(
    latents,
    conditions,
    cfg: CCNFConfig,
    progress: Callable[[int], None] | None = None,
    device: str | torch.device = "cpu",
    latent_std=None,
) -> tuple[CCNF, History, np.ndarray]:
    """Fit p(latent | condition); returns the best-validation model (eval mode), history, held-out rows.

    With ``latent_std`` (the encoder's posterior std per row) every batch draws z = latent + std * eps afresh:
    the flow then models the aggregate posterior, the region the G-VAE decoder was trained to decode, instead
    of a smoothed cloud of posterior means (whose gaps decode badly). Held-out rows use one fixed draw.
    """
    x, c = _as_tensor(latents, "latents"), _as_tensor(conditions, "conditions")
    if len(x) != len(c):
        raise ConfigError(f"CCNF got {len(x)} latents but {len(c)} conditions")
    std = None if latent_std is None else _as_tensor(latent_std, "latent_std")
    if std is not None and std.shape != x.shape:
        raise ConfigError(f"CCNF latent_std has shape {tuple(std.shape)}, the latents {tuple(x.shape)}")
    n = len(x)
    if n < 2:
        raise ConfigError(f"the CCNF needs at least 2 latents, got {n}")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    dev = torch.device(device)
    x, c = x.to(dev), c.to(dev)
    std = None if std is None else std.to(dev)
    n_val = int(round(cfg.val_fraction * n)) if n >= 10 else 0
    perm = rng.permutation(n)
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    x_val = (
        x[val_idx]
        if std is None
        else x[val_idx] + std[val_idx] * torch.randn((n_val, x.shape[1]), generator=gen).to(dev)
    )
    model = CCNF(x.shape[1], c.shape[1], cfg).to(dev)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)  # fmt: skip
    hist, stopper = History(), EarlyStopping(cfg.patience)
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(train_idx)
        batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        batches = [b for b in batches if len(b) >= 2] or [order]  # batch statistics need two rows
        sums = np.zeros(3)
        for b in batches:
            idx = torch.from_numpy(b).to(dev)
            model.reset_nfe()
            xb = (
                x[idx]
                if std is None
                else x[idx] + std[idx] * torch.randn((len(idx), x.shape[1]), generator=gen).to(dev)
            )
            loss = model.nll(xb, c[idx], gen)
            nfe_fwd = model.nfe
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums += [loss.item(), nfe_fwd, model.nfe - nfe_fwd]
        sums /= len(batches)
        dim = x.shape[1]
        hist.train_nll.append(sums[0] / dim)
        hist.nfe_forward.append(sums[1])
        hist.nfe_backward.append(sums[2])
        hist.end_time.append(model.end_times()[0])
        monitor = mean_nll(model, x_val, c[val_idx], cfg.sample_batch, gen) / dim if n_val else sums[0] / dim
        hist.val_nll.append(monitor)
        if progress is not None:
            progress(1)
        stop = stopper.step(monitor, model, epoch)
        hist.best_epoch = stopper.best_epoch
        if stop:
            break
    stopper.restore(model)
    return model.eval(), hist, val_idx
