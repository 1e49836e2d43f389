"""Pieces every proxy shares: the fixed input batch, the layers proxies look at, the binary-code Gram
matrix of NASWOT and T-CET with its singular-matrix policy, SSNR, and two context managers that let a
proxy run on the caller's network without copying it and without leaving a trace on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from nasgen.config import ZCConfig

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear)
# float32 holds every integer below 2^24 exactly: up to that many units a Gram matrix of +-1 codes is exact.
_EXACT_F32 = 2**24


@dataclass(frozen=True)
class ZCBatch:
    """The fixed data every proxy of one config sees: images (B, C, H, W) and class labels (B,)."""

    inputs: torch.Tensor
    targets: torch.Tensor

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.inputs.shape[1:])


def make_batch(cfg: ZCConfig, device: str | torch.device = "cpu") -> ZCBatch:
    """Data-free batch: standard normal pixels (a normalised image's statistics) and uniform labels.

    Drawn on the CPU from ``cfg.seed`` and then moved, so every device scores the same numbers.
    """
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.randn((cfg.batch_size, *cfg.input_shape), generator=g)
    y = torch.randint(0, cfg.classes, (cfg.batch_size,), generator=g)
    return ZCBatch(x.to(device), y.to(device))


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """Conv and linear layers in module order: the layers SNIP, synflow, ZiCo and T-CET are defined on."""
    return [m for m in net.modules() if isinstance(m, WEIGHT_LAYERS)]


def binary_gram(x: torch.Tensor) -> torch.Tensor:
    """K[i, j] = number of units on which samples i and j have the same code 1[x > 0] (float64, B x B).

    This is NASWOT's C C^T + (1-C)(1-C)^T in one product: with S = 2C - 1 in {-1, +1},
    K = (n + S S^T) / 2. The +-1 product is exact in float32 up to 2^24 units (beyond, float64 is used).
    """
    flat = x.detach().reshape(x.shape[0], -1)
    n = flat.shape[1]
    dtype = torch.float32 if n < _EXACT_F32 else torch.float64
    s = torch.sign(flat.to(dtype))  # one pass; torch.where(x > 0, 1.0, -1.0) is several times slower on CPU
    if torch.count_nonzero(s) != s.numel():  # exact zeros (rare) have code 0, i.e. -1: sign(sign(x) - 1/2)
        s.sub_(0.5).sign_()
    return (s @ s.T).to(torch.float64).add_(n).mul_(0.5)


def gram_logdet(k: torch.Tensor) -> torch.Tensor:
    """log det of (a batch of) binary Gram matrices, with the singular-matrix policy of nasgen.

    K is an integer positive semi-definite matrix, so when it is non-singular its determinant is an
    integer >= 1 and log det >= 0. A singular K (numerical rank below B, numpy's matrix_rank tolerance
    max(eig) * B * eps) therefore gets 0, the exact lower bound of the non-singular values, instead of
    -inf (BayesWatch's slogdet) or a round-off-dominated finite number (what slogdet returns for most
    singular matrices). Classifier outputs with fewer than B - 1 units are always singular and score 0.
    """
    eig = torch.linalg.eigvalsh(k)
    b = k.shape[-1]
    tol = eig[..., -1] * b * torch.finfo(torch.float64).eps
    singular = eig[..., 0] <= tol
    logdet = torch.log(eig.clamp_min(torch.finfo(torch.float64).tiny)).sum(-1).clamp_min(0.0)
    return torch.where(singular, torch.zeros_like(logdet), logdet)


def ssnr(s: torch.Tensor) -> float:
    """Saliency signal-to-noise ratio of one layer: sum(s) / std(s), std unbiased (= n * mean / std).

    As in the reference (alethiometer), a layer whose std is zero or undefined (one weight) contributes sum(s).
    """
    s = s.detach().reshape(-1).to(torch.float64)
    total = s.sum()
    if s.numel() < 2:
        return float(total)
    sigma = s.std()
    if not torch.isfinite(sigma) or sigma == 0:
        return float(total)
    return float(total / sigma)


@contextlib.contextmanager
def preserved_state(net: nn.Module) -> Iterator[nn.Module]:
    """Restore train/eval mode and BN running statistics afterwards.

    Train-mode passes update running statistics; without this, a later eval-mode proxy (T-CET) would see
    different numbers depending on what ran before. Copies only the BN buffers (a few KB), not the network.
    """
    modes = {m: m.training for m in net.modules()}
    saved = {
        m: [b.detach().clone() for b in m.buffers(recurse=False)] for m in net.modules() if isinstance(m, _BatchNorm)
    }
    try:
        yield net
    finally:
        with torch.no_grad():
            for m, bufs in saved.items():
                for b, old in zip(m.buffers(recurse=False), bufs):
                    b.copy_(old)
        for m, mode in modes.items():
            m.training = mode


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


@contextlib.contextmanager
def bn_bypassed(net: nn.Module) -> Iterator[nn.Module]:
    """Run without batch norm (synflow's "BN removed") by shadowing each BN's forward, no copy of the net."""
    bns = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    for m in bns:
        m.forward = _identity
    try:
        yield net
    finally:
        for m in bns:
            del m.forward


def layer_weight_names(net: nn.Module) -> dict[nn.Module, str]:
    """Conv/linear layer -> the name of its weight in ``net.named_parameters()``."""
    return {
        m: f"{name}.weight" if name else "weight" for name, m in net.named_modules() if isinstance(m, WEIGHT_LAYERS)
    }
