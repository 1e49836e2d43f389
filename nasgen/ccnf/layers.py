"""The dynamics network g(u, t, c) of a CCNF block: ConcatSquashLinear layers with tanh between them.

ConcatSquash (FFJORD; PointFlow's conditional form): the context (t, c) enters every layer twice, as a
sigmoid gate on the linear map of u and as an additive bias, so time and condition can re-weight every
hidden unit instead of only shifting the input.
"""

from __future__ import annotations

import torch
from torch import nn


class ConcatSquashLinear(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, dim_context: int):
        super().__init__()
        self.layer = nn.Linear(dim_in, dim_out)
        self.gate = nn.Linear(dim_context, dim_out)
        self.bias = nn.Linear(dim_context, dim_out, bias=False)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.layer(x) * torch.sigmoid(self.gate(context)) + self.bias(context)


class DynamicsNet(nn.Module):
    """``layers`` ConcatSquashLinear layers dim -> hidden -> ... -> dim; the context is [t, c]."""

    def __init__(self, dim: int, cond_dim: int, hidden: int, layers: int):
        super().__init__()
        widths = [dim] + [hidden] * (layers - 1) + [dim]
        self.layers = nn.ModuleList(ConcatSquashLinear(a, b, 1 + cond_dim) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, t: torch.Tensor, u: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        context = torch.cat([t.expand(len(u), 1).to(u), cond], dim=1)
        for i, layer in enumerate(self.layers):
            u = layer(u, context)
            if i < len(self.layers) - 1:
                u = torch.tanh(u)
        return u
