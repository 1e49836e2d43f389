"""Zen-score (Lin et al., 2021; idstcv/ZenNAS ZeroShotProxy/compute_zen_score.py), a baseline of paper Table 1.

Weights are redrawn from N(0, 1) (conv/linear; biases 0, BN affine 1/0), BN in train mode. With x, e ~ N(0, 1)
and x' = x + gamma * e, Delta = mean over the batch of sum |f(x) - f(x')| where f are the feature maps before
global average pooling; score = log Delta + sum over BN layers of log sqrt(mean over channels of sigma^2).
Averaged over ``repeat`` draws. No division by gamma (as in the reference code).

sigma^2, ``bn``:
- ``running_var`` (default, the reference): BN's running variance after the two train-mode passes, from fresh
  running statistics (1 and 0) at the module's momentum: 0.81 + 0.09 v(x) + 0.1 v(x') at momentum 0.1.
- ``batch_var``: the unbiased per-channel batch variance of the clean pass, which is what the paper defines.
The Gaussian weights are passed functionally (the caller's weights are untouched) and drawn from a seeded
generator; the caller's BN statistics are restored afterwards.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm

from nasgen.zc.common import WEIGHT_LAYERS, ZCBatch, preserved_state


class _Features(nn.Module):
    """functional_call entry point for a network's pre-pooling features."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


def gaussian_params(net: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    params: dict[str, torch.Tensor] = {}
    for name, m in net.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(m, WEIGHT_LAYERS):
            w = m.weight
            params[prefix + "weight"] = torch.randn(w.shape, generator=generator, device=w.device, dtype=w.dtype)
            if m.bias is not None:
                params[prefix + "bias"] = torch.zeros_like(m.bias)
        elif isinstance(m, _BatchNorm) and m.weight is not None:
            params[prefix + "weight"] = torch.ones_like(m.weight)
            params[prefix + "bias"] = torch.zeros_like(m.bias)
    return params


ZEN_BN = ("running_var", "batch_var")


def zen(net: nn.Module, batch: ZCBatch, mixup_gamma: float = 1e-2, repeat: int = 1, seed: int = 0,
        bn: str = "running_var") -> float:  # fmt: skip
    if not hasattr(net, "features"):
        raise TypeError("Zen-score needs a network with a features(x) method (pre-pooling feature maps)")
    if bn not in ZEN_BN:
        raise ValueError(f"unknown Zen BN term {bn!r}; expected one of {ZEN_BN}")
    device = batch.inputs.device
    g = torch.Generator(device=device).manual_seed(seed)
    view = _Features(net)
    bns = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    scores = []
    variances: list[float] = []

    def record(_m: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        variances.append(float(inp[0].transpose(0, 1).flatten(1).var(dim=1).mean()))

    with preserved_state(net), torch.inference_mode():
        net.train()
        for m in bns:
            m.reset_running_stats()
        for _ in range(repeat):
            variances.clear()
            params = {f"net.{k}": v for k, v in gaussian_params(net, g).items()}
            x = torch.randn(batch.inputs.shape, generator=g, device=device)
            x2 = x + mixup_gamma * torch.randn(batch.inputs.shape, generator=g, device=device)
            handles = [m.register_forward_pre_hook(record) for m in bns] if bn == "batch_var" else []
            try:
                f1 = functional_call(view, params, (x,))
            finally:
                for h in handles:
                    h.remove()
            f2 = functional_call(view, params, (x2,))
            if bn == "running_var":
                variances = [float(m.running_var.mean()) for m in bns if m.running_var is not None]
            delta = float((f1 - f2).abs().flatten(1).sum(1).mean())
            scores.append(math.log(delta) + sum(0.5 * math.log(v) for v in variances))
    return float(sum(scores) / len(scores))
