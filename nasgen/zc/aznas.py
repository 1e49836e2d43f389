"""AZ-NAS's proxies (Lee & Ham, CVPR 2024; cvlab-yonsei/AZ-NAS, NB201/ZeroShotProxy/compute_az_nas_score.py).

On the network's *stage features* F_0 .. F_L (the stem's output and each cell block's output, before the head;
nasgen.zc.aznas.stage_modules), from one train-mode forward (BN on batch statistics) of the batch:

- expressivity: sum over l of the entropy of the normalised eigenvalues of F_l's channel covariance (positions
  and samples pooled: X = F_l as (B*H*W, C), centred, X^T X / (B*H*W)); natural log, + 1e-8 inside it;
- progressivity: min over l >= 1 of (e_l - e_{l-1});
- trainability: for each l >= 1, a Rademacher vector g_out of F_l's shape is pulled back to F_{l-1}
  (g_in = J^T g_out), reduced blocks' g_in pixel-unshuffled to F_l's resolution; sigma = the largest singular
  value of G_in^T G_out / (B*H*W); score_l = -sigma - 1/(sigma + 1e-6) + 2 (0 at sigma = 1); -inf where the
  block is the identity (g_in == g_out); the mean over l;
- complexity: FLOPs (the record's ``flops``).
The four are combined by rank (nasgen.zc.ensemble), which needs a population, not one network.

Differences from the reference, on purpose: eigenvalues in float64 and clamped at 0 (the reference's fp32
round-off negatives turn a whole network's score into NaN, then -inf); a resolution that does not divide
(7 -> 4 at 28x28 inputs) is zero-padded up to a multiple before the unshuffle (NB-201's 32 -> 16 -> 8 always
divides). The weights and the batch are the caller's: the reference draws kaiming-normal weights and a noise
batch of 64, nasgen's record uses its seeded network and the ZC config's batch (expressivity and
progressivity are scale-free; trainability sees the init through the Jacobians).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from nasgen.zc.common import ZCBatch, preserved_state

AZ_PROXIES: tuple[str, ...] = ("az_expressivity", "az_progressivity", "az_trainability")
_EPS_LOG = 1e-8
_EPS_SIGMA = 1e-6


def stage_modules(net: nn.Module) -> list[nn.Module]:
    """The modules whose outputs are the stage features: ``stem`` and each block of ``cells`` (nasgen's macro
    networks and the NB-201 network); for any other network, its Conv2d layers in module order."""
    stem, cells = getattr(net, "stem", None), getattr(net, "cells", None)
    if isinstance(stem, nn.Module) and isinstance(cells, nn.Sequential):
        return [stem, *cells]
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


@contextlib.contextmanager
def stage_features(net: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collect the stage features (autograd graph kept) of whatever forward runs inside the block."""
    modules = stage_modules(net)
    if len(modules) < 2:
        raise ValueError(f"AZ-NAS needs at least 2 stage features; the network has {len(modules)}")
    found: dict[nn.Module, torch.Tensor] = {}

    def hook(m: nn.Module, _inp, out: torch.Tensor) -> None:
        if m in found:
            raise ValueError("a stage module ran twice in one forward pass")
        found[m] = out

    feats: list[torch.Tensor] = []
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        yield feats
    finally:
        for h in handles:
            h.remove()
    if found:  # the block ran a forward: hand the features over in stage order
        missing = [m for m in modules if m not in found]
        if missing:
            raise ValueError(f"{len(missing)} stage modules were not called in the forward pass")
        feats.extend(found[m] for m in modules)


def expressivity_of(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of one feature map's channel covariance."""
    c = feature.shape[1]
    x = feature.detach().to(torch.float64).movedim(1, -1).reshape(-1, c)
    x = x - x.mean(0)
    lam = torch.linalg.eigvalsh(x.T @ x / x.shape[0]).clamp_min(0.0)
    total = lam.sum()
    if not total > 0:  # an all-constant feature (e.g. a block of `none` ops): no information
        return -math.inf
    p = lam / total
    return float(-(p * torch.log(p + _EPS_LOG)).sum())


def block_trainability(f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator) -> float:
    """-sigma - 1/sigma + 2 of one block's pulled-back Rademacher vector (0 when the block keeps scale)."""
    g_out = torch.randint(0, 2, f_out.shape, generator=generator).to(f_out) * 2 - 1
    (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    (hi, wi), (ho, wo) = g_in.shape[-2:], g_out.shape[-2:]
    if (hi, wi) != (ho, wo):
        r = max(math.ceil(hi / ho), math.ceil(wi / wo))
        g_in = F.pad(g_in, (0, wo * r - wi, 0, ho * r - hi))
        g_in = F.pixel_unshuffle(g_in, r)
    gi = g_in.detach().to(torch.float64).movedim(1, -1).reshape(-1, g_in.shape[1])
    go = g_out.detach().to(torch.float64).movedim(1, -1).reshape(-1, g_out.shape[1])
    sigma = float(torch.linalg.matrix_norm(gi.T @ go / gi.shape[0], ord=2))
    return -sigma - 1 / (sigma + _EPS_SIGMA) + 2


def from_features(feats: list[torch.Tensor], seed: int = 0) -> dict[str, float]:
    """The three AZ-NAS proxies of one forward's stage features (trainability needs their autograd graph)."""
    e = [expressivity_of(f) for f in feats]
    g = torch.Generator().manual_seed(seed)
    with torch.enable_grad():
        t = [block_trainability(feats[i - 1], feats[i], g) for i in range(len(feats) - 1, 0, -1)]
    return {
        "az_expressivity": float(sum(e)),
        "az_progressivity": float(min(b - a for a, b in zip(e, e[1:]))),
        "az_trainability": float(sum(t) / len(t)),
    }


def aznas(net: nn.Module, batch: ZCBatch, seed: int = 0) -> dict[str, float]:
    """AZ-NAS's expressivity, progressivity and trainability of ``net`` on ``batch`` (one train-mode pass)."""
    with preserved_state(net), torch.enable_grad():
        net.train()
        with stage_features(net) as feats:
            net(batch.inputs)
        return from_features(feats, seed)
