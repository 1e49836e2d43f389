"""Right-hand side of a CNF block's ODE on the state (u, logdet), in rescaled time s in [0, 1].

Solving t in [0, T] as s = t / T with du/ds = T g(u, sT, c) makes the end time T an ordinary parameter
of the function: the adjoint method then differentiates it like any weight. The second state component
accumulates T tr(dg/du), so integrating s from 1 to 0 (data -> noise) ends at log|det d u_0 / d u_T|.
The trace is exact (D backward passes: tests, small D) or Hutchinson's estimate e^T J e with one
Rademacher e per solve (Grathwohl et al., 2019), drawn by the caller so it is fixed along the solve.
"""

from __future__ import annotations

import torch
from torch import nn

from nasgen.ccnf.layers import DynamicsNet


class ODEFunc(nn.Module):
    def __init__(self, net: DynamicsNet, divergence: str, end_time: float, train_end_time: bool):
        super().__init__()
        self.net = net
        self.divergence = divergence
        self.sqrt_end_time = nn.Parameter(torch.tensor(end_time).sqrt(), requires_grad=train_end_time)  # T = s^2 > 0
        self.cond: torch.Tensor | None = None  # (N, C), set per solve
        self.noise: torch.Tensor | None = None  # (N, D) Rademacher draws, set per solve (hutchinson)
        self.with_divergence = True
        self.create_graph = False  # the trace must be differentiable (training, adjoint backward)
        self.nfe = 0

    def forward(self, s: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        self.nfe += 1
        u = state[0]
        end_time = self.end_time
        t = s * end_time
        if not self.with_divergence:  # sampling: only u moves
            return end_time * self.net(t, u, self.cond), torch.zeros_like(state[1])
        with torch.enable_grad():
            if not u.requires_grad:
                u = u.detach().requires_grad_(True)
            g = self.net(t, u, self.cond)
            trace = self._trace(g, u)
        return end_time * g, (end_time * trace).unsqueeze(-1)

    @property
    def end_time(self) -> torch.Tensor:
        return self.sqrt_end_time**2

    def _trace(self, g: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        keep = self.create_graph
        if self.divergence == "exact":
            cols = [
                torch.autograd.grad(g[:, i].sum(), u, create_graph=keep, retain_graph=True)[0][:, i]
                for i in range(u.shape[1])
            ]
            return torch.stack(cols, dim=1).sum(dim=1)
        vjp = torch.autograd.grad(g, u, self.noise, create_graph=keep)[0]
        return (vjp * self.noise).sum(dim=1)
