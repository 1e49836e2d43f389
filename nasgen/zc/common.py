"""Pieces every proxy shares: the fixed input batch, the layers proxies look at, the binary-code Gram
matrix of NASWOT and T-CET with its singular-matrix policy, SSNR, and two context managers that let a
proxy run on the caller's network without copying it and without leaving a trace on it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from nasgen.errors import ConfigError
from nasgen.zc.config import ZCConfig

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
    """The config's batch: data-free noise (standard normal pixels, a normalised image's statistics, and
    uniform labels) or ``cfg.batch_size`` images of a local dataset's training split with their labels.

    Drawn on the CPU from ``cfg.seed`` and then moved, so every device scores the same numbers.
    """
    g = torch.Generator().manual_seed(cfg.seed)
    if cfg.data == "noise":
        x = torch.randn((cfg.batch_size, *cfg.input_shape), generator=g)
        y = torch.randint(0, cfg.classes, (cfg.batch_size,), generator=g)
    else:
        x, y = _dataset_batch(cfg, g)
    return ZCBatch(x.to(device), y.to(device))


def _dataset_batch(cfg: ZCConfig, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    from nasgen.train.datasets import load_dataset

    ds = load_dataset(cfg.data, root=cfg.data_root, size=cfg.resolution if cfg.data == "digits" else None)
    if ds.classes != cfg.classes:
        raise ConfigError(f"ZC data {cfg.data!r} has {ds.classes} classes but the ZC config scores {cfg.classes}")
    c = ds.input_shape[0]
    if cfg.in_channels % c:
        raise ConfigError(f"ZC data {cfg.data!r} has {c} channels; the input needs {cfg.in_channels}")
    images, labels = ds.train.tensors
    if cfg.batch_size > len(labels):
        raise ConfigError(f"ZC batch of {cfg.batch_size} exceeds the {len(labels)} training images of {cfg.data!r}")
    pick = torch.randperm(len(labels), generator=g)[: cfg.batch_size]
    x = images[pick]
    if x.shape[-2:] != (cfg.resolution, cfg.resolution):
        x = torch.nn.functional.interpolate(x, size=(cfg.resolution,) * 2, mode="bilinear", align_corners=False)
    return x.repeat(1, cfg.in_channels // c, 1, 1).contiguous(), labels[pick].clone()


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


GRAM_POLICIES = ("exact", "rank", "slogdet")


def gram_logdet(k: torch.Tensor, policy: str = "exact") -> torch.Tensor:
    """log det of (a batch of) binary Gram matrices; singular ones score 0.

    K is an integer positive semi-definite matrix: its determinant is an integer, 0 or >= 1, so log det is 0
    or >= 0 exactly. Floating point cannot always tell which: a non-singular K's smallest eigenvalue can lie
    far below any rank tolerance (it is only bounded by 1 / the product of the others), and a singular K's
    slogdet is round-off of either sign.
    - ``exact`` (default): eigenvalues where K is clearly non-singular (smallest eigenvalue above numpy's
      matrix_rank tolerance max(eig) * B * eps); below it, the exact integer determinant (``exact_logdet``).
    - ``rank``: 0 below that tolerance, without the exact check (nasgen before the NB-201 benchmark).
    - ``slogdet``: slogdet's value as the references take it (BayesWatch; alethiometer's safe_hooklogdet):
      0 only where slogdet reports an exactly singular matrix (sign 0), round-off values kept.
    """
    if policy == "slogdet":
        sign, logdet = torch.linalg.slogdet(k)
        return torch.where(sign == 0, torch.zeros_like(logdet), logdet)
    if policy not in GRAM_POLICIES:
        raise ValueError(f"unknown singular-Gram policy {policy!r}; expected one of {GRAM_POLICIES}")
    eig = torch.linalg.eigvalsh(k)
    b = k.shape[-1]
    tol = eig[..., -1] * b * torch.finfo(torch.float64).eps
    doubtful = eig[..., 0] <= tol
    logdet = torch.log(eig.clamp_min(torch.finfo(torch.float64).tiny)).sum(-1).clamp_min(0.0)
    logdet = torch.where(doubtful, torch.zeros_like(logdet), logdet)
    if policy == "exact" and bool(doubtful.any()):
        flat_k, flat_d, out = k.reshape(-1, b, b), doubtful.reshape(-1), logdet.reshape(-1).clone()
        for i in torch.nonzero(flat_d).flatten().tolist():
            out[i] = exact_logdet(flat_k[i])
        logdet = out.reshape(logdet.shape)
    return logdet


def exact_logdet(k: torch.Tensor) -> float:
    """log det of an integer matrix from its exact determinant (fraction-free Bareiss elimination over Python
    ints); 0 when the determinant is 0. Entries must be integers below 2^53, which binary Gram matrices are."""
    m = [[int(v) for v in row] for row in k.detach().cpu().to(torch.float64).tolist()]
    n, sign, prev = len(m), 1, 1
    for i in range(n - 1):
        if m[i][i] == 0:
            j = next((j for j in range(i + 1, n) if m[j][i] != 0), None)
            if j is None:
                return 0.0
            m[i], m[j], sign = m[j], m[i], -sign
        pivot, row = m[i][i], m[i]
        for j in range(i + 1, n):
            rj, f = m[j], m[j][i]
            for c in range(i + 1, n):
                rj[c] = (rj[c] * pivot - f * row[c]) // prev
        prev = pivot
    det = sign * m[n - 1][n - 1]
    return math.log(det) if det > 0 else 0.0


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
