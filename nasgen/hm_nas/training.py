"""HM-NAS's three loops (Algorithm 1): bi-level supernet training (first order), hierarchical mask learning with
the supernet frozen, and fine-tuning of the masked network from the supernet's weights. Each returns one row of
metrics per epoch; ``progress`` ticks once per epoch."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune
from torch.utils import data

from nasgen.hm_nas.config import HMNASConfig, SupernetConfig
from nasgen.hm_nas.masks import HierarchicalMasks
from nasgen.hm_nas.supernet import Supernet
from nasgen.train.datasets import Dataset, training_subset, with_validation
from nasgen.train.loop import evaluate, lr_at

Progress = Callable[[int], None] | None


def search_data(ds: Dataset, cfg: SupernetConfig) -> tuple[data.Dataset, data.Dataset]:
    """(w's images, alpha and beta's images): a stratified ``subset`` of the training split (which already
    excludes the validation split every reported decision uses), divided ``train_fraction`` : rest."""
    if cfg.subset is not None and cfg.subset < len(ds.train):
        ds = training_subset(ds, cfg.subset, cfg.seed)
    halves = with_validation(ds, 1.0 - cfg.train_fraction, cfg.seed)
    return halves.train, halves.val


def loader(images: data.Dataset, batch_size: int, seed: int, shuffle: bool = True) -> data.DataLoader:
    drop_last = shuffle and len(images) > batch_size  # no tiny last batch for BN while training
    gen = torch.Generator().manual_seed(seed)
    return data.DataLoader(images, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=gen)


def _cycle(batches: data.DataLoader) -> Iterator:
    while True:
        yield from batches


def arch_update_probability(t: int, total: int) -> float:
    """sigma(t): 1 at the first step after the warm-up, falling linearly to 0 at the last (non-increasing)."""
    return max(0.0, 1.0 - t / max(total, 1))


class Masked(nn.Module):
    """The supernet seen through learnable masks (what ``evaluate`` and the mask loop call)."""

    def __init__(self, net: Supernet, masks: HierarchicalMasks):
        super().__init__()
        self.net, self.masks = net, masks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.masks(self.net, x)


class FixedMasks(nn.Module):
    """The supernet with fixed binary op and edge masks (its weights masked by ``torch.nn.utils.prune``)."""

    def __init__(self, net: Supernet, ops: torch.Tensor, edges: torch.Tensor):
        super().__init__()
        self.net = net
        self.register_buffer("op_mask", ops)
        self.register_buffer("edge_mask", edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.op_mask, self.edge_mask)


def _step(net: nn.Module, x, y, loss_fn) -> tuple[torch.Tensor, torch.Tensor]:
    out = net(x)
    return loss_fn(out, y), (out.argmax(1) == y).sum()


def train_supernet(net: Supernet, w_images: data.Dataset, arch_images: data.Dataset, cfg: SupernetConfig,
                   val: data.DataLoader | None = None, device: str = "cpu",
                   progress: Progress = None) -> list[dict]:  # fmt: skip
    """Algorithm 1 lines 3-8, first order: per w step, with probability sigma(t) after the warm-up, one Adam step
    of alpha and beta on a batch of their images; then one SGD step of w (cosine schedule, clipped gradients)."""
    device = torch.device(device)
    net.to(device)
    w_batches = loader(w_images, cfg.batch_size, cfg.seed)
    arch_batches = _cycle(loader(arch_images, cfg.batch_size, cfg.seed + 1))
    weights = net.weight_parameters()
    w_opt = torch.optim.SGD(weights, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=cfg.arch_lr, betas=(0.5, 0.999),
                             weight_decay=cfg.arch_weight_decay)  # fmt: skip
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(cfg.seed)
    total, arch_total = cfg.epochs * len(w_batches), (cfg.epochs - cfg.warmup_epochs) * len(w_batches)
    rows, step, t = [], 0, 0
    for epoch in range(cfg.epochs):
        net.train()
        t0, seen, loss_sum, correct, arch_loss, updates = time.perf_counter(), 0, 0.0, 0.0, 0.0, 0
        for x, y in w_batches:
            x, y = x.to(device), y.to(device)
            if epoch >= cfg.warmup_epochs:
                if rng.random() < arch_update_probability(t, arch_total):
                    xa, ya = (v.to(device) for v in next(arch_batches))
                    a_opt.zero_grad(set_to_none=True)
                    la, _ = _step(net, xa, ya, loss_fn)
                    la.backward()
                    a_opt.step()
                    arch_loss, updates = arch_loss + la.item(), updates + 1
                t += 1
            for g in w_opt.param_groups:
                g["lr"] = lr_at(step, total, 0, cfg.lr)
            net.zero_grad(set_to_none=True)
            loss, hits = _step(net, x, y, loss_fn)
            loss.backward()
            nn.utils.clip_grad_norm_(weights, cfg.grad_clip)
            w_opt.step()
            step, seen = step + 1, seen + len(y)
            loss_sum, correct = loss_sum + loss.item() * len(y), correct + float(hits)
        rows.append({"epoch": epoch, "train_loss": loss_sum / seen, "train_top1": correct / seen,
                     "arch_loss": arch_loss / updates if updates else float("nan"), "arch_updates": updates,
                     "arch_probability": arch_update_probability(t, arch_total),
                     "val_top1": evaluate(net, val, device)["top1"] if val is not None else float("nan"),
                     "seconds": time.perf_counter() - t0})  # fmt: skip
        if progress is not None:
            progress(1)
    return rows


def learn_masks(net: Supernet, images: data.Dataset, cfg: HMNASConfig, batch_size: int, seed: int,
                val: data.DataLoader | None = None, device: str = "cpu",
                progress: Progress = None) -> tuple[HierarchicalMasks, list[dict]]:  # fmt: skip
    """Algorithm 1 lines 9-13: alpha*, beta*, w* frozen; Adam on the real-valued masks through the binary
    ones (straight-through), the learning rates divided by ``mask_lr_decay`` after half of the epochs."""
    device = torch.device(device)
    net.to(device)
    for p in net.parameters():
        p.requires_grad_(False)
    masks = HierarchicalMasks(net, cfg.mask_init, cfg.threshold, cfg.mask_weights).to(device)
    groups = [{"params": masks.arch_masks(), "lr": cfg.mask_lr_arch}]
    if masks.weight_masks():
        groups.append({"params": masks.weight_masks(), "lr": cfg.mask_lr_weights})
    opt = torch.optim.Adam(groups)
    masked, loss_fn, batches = Masked(net, masks), nn.CrossEntropyLoss(), loader(images, batch_size, seed + 2)
    rows = []
    for epoch in range(cfg.mask_epochs):
        if epoch == (cfg.mask_epochs + 1) // 2 and cfg.mask_epochs > 1:
            for g in opt.param_groups:
                g["lr"] /= cfg.mask_lr_decay
        masked.train()
        t0, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0.0
        for x, y in batches:
            x, y = x.to(device), y.to(device)
            opt.zero_grad(set_to_none=True)
            loss, hits = _step(masked, x, y, loss_fn)
            loss.backward()
            opt.step()
            seen, loss_sum, correct = seen + len(y), loss_sum + loss.item() * len(y), correct + float(hits)
        rows.append({"epoch": epoch, "train_loss": loss_sum / seen, "train_top1": correct / seen,
                     **kept_fractions(masks.kept()),
                     "val_top1": evaluate(masked, val, device)["top1"] if val is not None else float("nan"),
                     "seconds": time.perf_counter() - t0})  # fmt: skip
        if progress is not None:
            progress(1)
    return masks, rows


def kept_fractions(kept: dict[str, torch.Tensor]) -> dict[str, float]:
    """The share of operations, edges and masked weights the binary masks keep."""
    weights = [v for k, v in kept.items() if k not in ("ops", "edges")]
    n = sum(v.numel() for v in weights)
    return {"ops_kept": float(kept["ops"].mean()), "edges_kept": float(kept["edges"].mean()),
            "weights_kept": float(sum(v.sum() for v in weights) / n) if n else 1.0}  # fmt: skip


def apply_masks(net: Supernet, kept: dict[str, torch.Tensor]) -> FixedMasks:
    """The searched network (Algorithm 1 line 14): alpha and beta frozen, op and edge masks fixed, every masked
    weight zeroed and kept at zero (prune's weight_orig x mask reparametrisation)."""
    net.alpha.requires_grad_(False)
    net.beta.requires_grad_(False)
    for p in net.weight_parameters():
        p.requires_grad_(True)
    for name, mask in kept.items():
        if name not in ("ops", "edges"):
            module, attr = name.rsplit(".", 1)
            prune.custom_from_mask(net.get_submodule(module), attr, mask.to(net.alpha.device))
    return FixedMasks(net, kept["ops"], kept["edges"])


def fix_weights(net: Supernet) -> None:
    """Fold prune's reparametrisation back into plain (zeroed) weights: a state dict like the supernet's."""
    for module in net.modules():
        if prune.is_pruned(module) and hasattr(module, "weight_orig"):
            prune.remove(module, "weight")


def finetune(searched: FixedMasks, images: data.Dataset, cfg: HMNASConfig, batch_size: int, seed: int,
             val: data.DataLoader | None = None, device: str = "cpu",
             progress: Progress = None) -> list[dict]:  # fmt: skip
    """Algorithm 1 lines 15-17: SGD (momentum 0.9, cosine) on the unmasked weights."""
    device = torch.device(device)
    searched.to(device)
    params = [p for p in searched.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.finetune_lr, momentum=0.9, weight_decay=cfg.finetune_weight_decay)
    batches, loss_fn = loader(images, batch_size, seed + 3), nn.CrossEntropyLoss()
    total, step, rows = cfg.finetune_epochs * len(batches), 0, []
    for epoch in range(cfg.finetune_epochs):
        searched.train()
        t0, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0.0
        for x, y in batches:
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, 0, cfg.finetune_lr)
            x, y = x.to(device), y.to(device)
            opt.zero_grad(set_to_none=True)
            loss, hits = _step(searched, x, y, loss_fn)
            loss.backward()
            opt.step()
            step, seen = step + 1, seen + len(y)
            loss_sum, correct = loss_sum + loss.item() * len(y), correct + float(hits)
        rows.append({"epoch": epoch, "train_loss": loss_sum / seen, "train_top1": correct / seen,
                     "val_top1": evaluate(searched, val, device)["top1"] if val is not None else float("nan"),
                     "seconds": time.perf_counter() - t0})  # fmt: skip
        if progress is not None:
            progress(1)
    return rows


def saved_bytes(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """Bytes autograd keeps for the backward pass of one training batch (distinct storages): a network's
    activation memory per batch, the same on every device."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    net.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = nn.functional.cross_entropy(net(x), y)
    loss.backward()
    net.zero_grad(set_to_none=True)
    return sum(seen.values())


def first_batch(images: data.Dataset, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return next(itertools.islice(iter(loader(images, batch_size, 0, shuffle=False)), 1))
