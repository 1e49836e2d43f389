"""ZiCo (Li et al., 2023; SLDGroup/ZiCo ZeroShotProxy/compute_zico.py), a baseline of paper Table 1.

The batch is split into ``splits`` equal parts (the reference iterates over that many data batches); for each
part, the gradient of the cross-entropy w.r.t. every conv/linear weight is taken (BN in train mode, gradients
reset between parts). Per weight: mean |g| and std g over the parts (population std, as numpy's default);
per layer: log of sum over weights with std > 0 of mean|g| / std; score = sum over layers (a layer whose
sum is 0 is skipped, as in the reference).

The alethiometer port calls zero_grad() once and so accumulates gradients across parts; nasgen follows the
original, where each part's gradient is its own sample.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nasgen.zc.common import ZCBatch, preserved_state, weight_layers


def zico(net: nn.Module, batch: ZCBatch, splits: int = 2) -> float:
    n = batch.inputs.shape[0]
    if splits < 2 or splits > n:
        raise ValueError(f"ZiCo needs 2 <= splits <= batch size ({n}), got {splits}")
    layers = weight_layers(net)
    weights = [m.weight for m in layers]
    per_part: list[tuple[torch.Tensor, ...]] = []
    with preserved_state(net), torch.enable_grad():
        net.train()
        for idx in torch.tensor_split(torch.arange(n, device=batch.inputs.device), splits):
            loss = F.cross_entropy(net(batch.inputs[idx]), batch.targets[idx])
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
            per_part.append(tuple(torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads)))
    score = 0.0
    for i in range(len(layers)):
        g = torch.stack([p[i].reshape(-1) for p in per_part]).to(torch.float64)
        std = g.std(dim=0, unbiased=False)
        nz = std > 0
        ratio = float((g.abs().mean(dim=0)[nz] / std[nz]).sum())
        if ratio > 0:
            score += math.log(ratio)
    return score
