"""Training and evaluating one network under a recipe; per-epoch metrics (the learning curve) as rows.

The schedule is per step: linear warm-up from 0 to ``lr`` over ``warmup_epochs``, then cosine to 0 at the
last step. Weight decay applies to conv/linear weights only (not to BN parameters or biases), the usual
practice for this recipe. Training batches are augmented (random crop, flip) when the recipe asks. On CUDA:
bfloat16 autocast and channels-last memory when the recipe asks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils import data

from nasgen.train.augment import augment
from nasgen.train.config import TrainRecipe
from nasgen.train.datasets import Dataset

UNSEEN = {"loss": math.nan, "top1": math.nan, "top5": math.nan}  # an epoch the test set was not evaluated after


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    return 0.5 * peak * (1.0 + math.cos(math.pi * min(step - warmup_steps, span) / span))


def _param_groups(net: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for p in net.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@torch.no_grad()
def evaluate(net: nn.Module, loader: data.DataLoader, device: torch.device, channels_last: bool = False) -> dict:
    """Mean cross-entropy, top-1 and top-5 accuracy (top-5 = top-1 when there are fewer than 5 classes)."""
    net.eval()
    loss = correct1 = correct5 = n = 0.0
    for x, y in loader:
        x, y = _to(x, device, channels_last), y.to(device)
        out = net(x).float()
        loss += float(nn.functional.cross_entropy(out, y, reduction="sum"))
        top = out.topk(min(5, out.shape[1]), dim=1).indices
        correct1 += float((top[:, 0] == y).sum())
        correct5 += float((top == y[:, None]).any(dim=1).sum())
        n += len(y)
    return {"loss": loss / n, "top1": correct1 / n, "top5": correct5 / n}


def _to(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def train_network(
    net: nn.Module,
    ds: Dataset,
    recipe: TrainRecipe,
    device: str | torch.device = "cpu",
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """Train ``net`` in place for ``recipe.epochs`` (the first ``recipe.stop_after`` of them); one metrics row
    per epoch (train loss/top-1, validation loss/top-1 (NaN without a validation split), test loss/top-1/top-5
    (NaN between ``recipe.test_every`` epochs), learning rate at the epoch's end)."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    channels_last = recipe.channels_last and cuda
    net = net.to(device, memory_format=torch.channels_last) if channels_last else net.to(device)
    gen = torch.Generator().manual_seed(recipe.seed)
    aug_gen = torch.Generator().manual_seed(recipe.seed + 1)
    augmenting = recipe.crop_padding > 0 or recipe.hflip
    drop_last = len(ds.train) > recipe.batch_size  # no tiny last batch for BN, unless it is the only one
    train = data.DataLoader(ds.train, batch_size=recipe.batch_size, shuffle=True, generator=gen,
                            num_workers=recipe.num_workers, pin_memory=cuda, drop_last=drop_last)  # fmt: skip
    test = data.DataLoader(ds.test, batch_size=recipe.eval_batch_size, num_workers=recipe.num_workers)
    val = None if ds.val is None else data.DataLoader(ds.val, batch_size=recipe.eval_batch_size,
                                                      num_workers=recipe.num_workers)  # fmt: skip
    opt = torch.optim.SGD(_param_groups(net, recipe.weight_decay), lr=recipe.lr, momentum=recipe.momentum,
                          nesterov=recipe.nesterov and recipe.momentum > 0)  # fmt: skip
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    total = recipe.epochs * len(train)
    warmup = int(round(recipe.warmup_epochs * len(train)))
    rows, step = [], 0
    epochs = recipe.epochs if recipe.stop_after is None else min(recipe.epochs, recipe.stop_after)
    for epoch in range(epochs):
        net.train()
        t0 = time.perf_counter()
        seen = loss_sum = correct = 0.0
        for x, y in train:
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warmup, recipe.lr)
            x, y = _to(x, device, channels_last), y.to(device)
            if augmenting:
                x = augment(x, recipe.crop_padding, recipe.hflip, aug_gen)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=recipe.amp and cuda):
                out = net(x)
                loss = loss_fn(out.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += float((out.argmax(1) == y).sum())
        last = epoch == epochs - 1
        ev = evaluate(net, test, device, channels_last) if last or (epoch + 1) % recipe.test_every == 0 else UNSEEN
        vl = evaluate(net, val, device, channels_last) if val is not None else UNSEEN
        rows.append({"epoch": epoch, "lr": opt.param_groups[0]["lr"], "train_loss": loss_sum / seen,
                     "train_top1": correct / seen, "val_loss": vl["loss"], "val_top1": vl["top1"],
                     "test_loss": ev["loss"], "test_top1": ev["top1"], "test_top5": ev["top5"],
                     "seconds": time.perf_counter() - t0})  # fmt: skip
        if progress is not None:
            progress(1)
    return rows
