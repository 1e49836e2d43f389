"""Moving batch norm (FFJORD), an invertible affine layer between CNF blocks.

y = (x - m) / sqrt(v + eps) * exp(w) + b with the batch's statistics while training (running averages
are updated then; the first batch initialises them) and the running ones in eval mode, so sampling
(always eval) inverts exactly what the trained density evaluates. It standardises G-VAE latents, whose
scale is arbitrary, before the ODE sees them.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-4


class MovingBatchNorm1d(nn.Module):
    def __init__(self, dim: int, momentum: float):
        super().__init__()
        self.momentum = momentum
        self.weight = nn.Parameter(torch.zeros(dim))  # log-scale
        self.bias = nn.Parameter(torch.zeros(dim))
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training:
            return self.running_mean, self.running_var
        mean, var = x.mean(0), x.var(0, unbiased=False)
        with torch.no_grad():  # the first batch sets the statistics: no slow drift from the 0/1 start
            rate = 1.0 if int(self.steps) == 0 else self.momentum
            self.running_mean.lerp_(mean.detach(), rate)
            self.running_var.lerp_(var.detach(), rate)
            self.steps += 1
        return mean, var

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(y, log|det dy/dx|) per row."""
        mean, var = self._stats(x)
        y = (x - mean) * torch.rsqrt(var + EPS) * torch.exp(self.weight) + self.bias
        logdet = (self.weight - 0.5 * torch.log(var + EPS)).sum()
        return y, logdet.expand(len(x))

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """x of y under the running statistics (the eval-mode map)."""
        return (y - self.bias) * torch.exp(-self.weight) * torch.sqrt(self.running_var + EPS) + self.running_mean
