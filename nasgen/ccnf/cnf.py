"""CNF blocks and the conditional flow p(u | c) over G-VAE latents (paper Eq. 4).

Direction convention: ``log_prob`` maps data to noise (each CNF block integrates s from 1 to 0 carrying the
log-determinant, moving batch norms apply their affine map), so log p(x | c) = log N(y; 0, I) + sum of
log-determinants; ``sample`` runs the chain backwards from N(0, I) noise without any divergence.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from nasgen.ccnf.config import CCNFConfig
from nasgen.ccnf.layers import DynamicsNet
from nasgen.ccnf.normalization import MovingBatchNorm1d
from nasgen.ccnf.odefunc import ODEFunc
from nasgen.errors import ConfigError

FIXED_GRID = ("rk4", "euler")


class CNFBlock(nn.Module):
    def __init__(self, dim: int, cond_dim: int, cfg: CCNFConfig):
        super().__init__()
        net = DynamicsNet(dim, cond_dim, cfg.hidden, cfg.layers)
        self.func = ODEFunc(net, cfg.divergence, cfg.end_time, cfg.train_end_time)
        self.cfg = cfg

    def _solve(self, u, logdet, cond, s_from: float, s_to: float, noise, with_divergence: bool):
        f, cfg = self.func, self.cfg
        f.cond, f.noise, f.with_divergence = cond, noise, with_divergence
        f.create_graph = with_divergence and (self.training or torch.is_grad_enabled())
        ts = torch.tensor([s_from, s_to], dtype=u.dtype, device=u.device)
        kw: dict = {"method": cfg.solver, "atol": cfg.atol, "rtol": cfg.rtol}
        if cfg.solver in FIXED_GRID:
            kw["options"] = {"step_size": 1.0 / cfg.fixed_steps}
        state = (u, logdet)
        if cfg.adjoint and torch.is_grad_enabled():
            out = odeint_adjoint(f, state, ts, adjoint_params=tuple(self.parameters()), **kw)
        else:
            out = odeint(f, state, ts, **kw)
        return out[0][-1], out[1][-1]

    def forward(self, x: torch.Tensor, cond: torch.Tensor, noise: torch.Tensor | None):
        """data -> noise: (y, log|det dy/dx|) per row."""
        y, logdet = self._solve(x, x.new_zeros(len(x), 1), cond, 1.0, 0.0, noise, True)
        return y, logdet.squeeze(-1)

    def transport(self, u: torch.Tensor, cond: torch.Tensor, to_data: bool) -> torch.Tensor:
        """u moved noise -> data (``to_data``) or data -> noise, without the divergence."""
        s_from, s_to = (0.0, 1.0) if to_data else (1.0, 0.0)
        return self._solve(u, u.new_zeros(len(u), 1), cond, s_from, s_to, None, False)[0]


class CCNF(nn.Module):
    def __init__(self, dim: int, cond_dim: int, cfg: CCNFConfig):
        super().__init__()
        self.dim, self.cond_dim, self.cfg = dim, cond_dim, cfg
        chain: list[nn.Module] = [MovingBatchNorm1d(dim, cfg.bn_momentum)] if cfg.batch_norm else []
        for _ in range(cfg.blocks):
            chain.append(CNFBlock(dim, cond_dim, cfg))
            if cfg.batch_norm:
                chain.append(MovingBatchNorm1d(dim, cfg.bn_momentum))
        self.chain = nn.ModuleList(chain)

    @property
    def blocks(self) -> list[CNFBlock]:
        return [m for m in self.chain if isinstance(m, CNFBlock)]

    @property
    def nfe(self) -> int:
        """Function evaluations since the last ``reset_nfe`` (all blocks)."""
        return sum(b.func.nfe for b in self.blocks)

    def reset_nfe(self) -> None:
        for b in self.blocks:
            b.func.nfe = 0

    def end_times(self) -> list[float]:
        return [float(b.func.end_time.detach()) for b in self.blocks]

    def check(self, x: torch.Tensor | None, cond: torch.Tensor) -> None:
        if cond.ndim != 2 or cond.shape[1] != self.cond_dim:
            raise ConfigError(f"CCNF condition must have shape (N, {self.cond_dim}), got {tuple(cond.shape)}")
        if x is not None and (x.ndim != 2 or x.shape[1] != self.dim or len(x) != len(cond)):
            raise ConfigError(
                f"CCNF input must have shape ({len(cond)}, {self.dim}) to match its conditions, got {tuple(x.shape)}"
            )

    def log_prob(self, x: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """log p(x | c) per row (nats). Hutchinson noise comes from ``generator`` (a CPU generator)."""
        self.check(x, cond)
        y, total = x, x.new_zeros(len(x))
        for m in self.chain:
            if isinstance(m, CNFBlock):
                noise = None
                if self.cfg.divergence == "hutchinson":
                    noise = (torch.randint(0, 2, y.shape, generator=generator) * 2 - 1).to(y)
                y, logdet = m(y, cond, noise)
            else:
                y, logdet = m(y)
            total = total + logdet
        base = -0.5 * (y.pow(2) + math.log(2 * math.pi)).sum(dim=1)
        return base + total

    def nll(self, x: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return -self.log_prob(x, cond, generator).mean()

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, generator: torch.Generator | None = None, temperature: float = 1.0):
        """One latent per condition row: N(0, temperature^2 I) noise (from the CPU ``generator``) run from noise
        to data; temperature < 1 (Glow) trades diversity for samples from the denser part of p(u | c)."""
        self.check(None, cond)
        u = torch.randn(len(cond), self.dim, generator=generator).to(cond) * temperature
        return self.invert(u, cond)

    @torch.no_grad()
    def invert(self, y: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Noise -> data for given noise ``y`` (the inverse of ``log_prob``'s map in eval mode)."""
        for m in reversed(self.chain):
            y = m.transport(y, cond, to_data=True) if isinstance(m, CNFBlock) else m.inverse(y)
        return y

    def to_noise(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Data -> noise without the divergence (invertibility checks, latent-space diagnostics)."""
        self.check(x, cond)
        for m in self.chain:
            if isinstance(m, CNFBlock):
                x = m.transport(x, cond, to_data=False)
            else:
                x = m(x)[0]
        return x
