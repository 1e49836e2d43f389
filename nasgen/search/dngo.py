"""DNGO (Snoek et al. 2015): a network's last hidden layer as adaptive basis functions, Bayesian linear regression
on them — the surrogate of arch2vec-BO and CATE-DNGO (dissertation chs. 3-4), a GP's role at linear cost in the
number of observations.

The network (``hidden_layers`` tanh layers of ``hidden`` units, then one linear output) is fit by Adam on the
squared error; its last hidden layer plus a constant is the basis Φ. With weight prior N(0, α⁻¹ I) and noise
precision β, the posterior of the weights is N(m, A⁻¹), A = αI + βΦᵀΦ, m = βA⁻¹Φᵀy, and the predictive at φ is
N(φᵀm, φᵀA⁻¹φ + 1/β) (Bishop 2006, 3.53-3.59). α and β maximise the log marginal likelihood (Bishop 3.86) over a
bounded box in log space. Inputs are standardised per column on the training set (pybnn's default); outputs are
standardised only when ``normalize_output`` (arch2vec-BO does not).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import optimize
from scipy.stats import norm
from torch import nn

from nasgen.errors import NasgenError
from nasgen.search.config import DNGOConfig


class BayesianLinearRegression:
    """Bayesian linear regression on fixed features, α and β by maximum marginal likelihood (or given)."""

    def __init__(self, log_bounds: tuple[float, float] = (-10.0, 15.0)) -> None:
        self.log_bounds = log_bounds

    def fit(self, phi: np.ndarray, y: np.ndarray, alpha: float | None = None, beta: float | None = None):
        self.phi, self.y = np.asarray(phi, float), np.asarray(y, float).ravel()
        if alpha is None or beta is None:
            x0 = np.array([0.0, np.log(1.0 / max(np.var(self.y), 1e-12))])
            res = optimize.minimize(lambda p: -self.log_marginal_likelihood(*np.exp(p)), x0, method="L-BFGS-B",
                                    bounds=[self.log_bounds] * 2)  # fmt: skip
            alpha, beta = np.exp(res.x)
        self.alpha, self.beta = float(alpha), float(beta)
        a = self.alpha * np.eye(self.phi.shape[1]) + self.beta * self.phi.T @ self.phi
        self.a_inv = np.linalg.inv(a)
        self.m = self.beta * self.a_inv @ self.phi.T @ self.y
        return self

    def log_marginal_likelihood(self, alpha: float, beta: float) -> float:
        n, d = self.phi.shape
        a = alpha * np.eye(d) + beta * self.phi.T @ self.phi
        m = beta * np.linalg.solve(a, self.phi.T @ self.y)
        e = 0.5 * beta * np.sum((self.y - self.phi @ m) ** 2) + 0.5 * alpha * m @ m
        _, logdet = np.linalg.slogdet(a)
        return float(0.5 * d * np.log(alpha) + 0.5 * n * np.log(beta) - e - 0.5 * logdet - 0.5 * n * np.log(2 * np.pi))

    def predict(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance (weights' and noise's)."""
        phi = np.asarray(phi, float)
        return phi @ self.m, np.einsum("nd,de,ne->n", phi, self.a_inv, phi) + 1.0 / self.beta


class DNGO:
    def __init__(self, cfg: DNGOConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.seed = seed

    def _basis(self, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            h = self.body(x).numpy()
        return np.hstack([h, np.ones((len(h), 1))])

    def fit(self, x: np.ndarray, y: np.ndarray) -> DNGO:
        x, y = np.asarray(x, np.float32), np.asarray(y, np.float64).ravel()
        if len(x) < 2 or len(x) != len(y):
            raise NasgenError(f"DNGO needs at least 2 observations with one target each, got {len(x)} and {len(y)}")
        c = self.cfg
        self.x_mean, self.x_std = x.mean(0), x.std(0) + 1e-8
        self.y_mean, self.y_std = (y.mean(), y.std() + 1e-8) if c.normalize_output else (0.0, 1.0)
        xt = torch.from_numpy((x - self.x_mean) / self.x_std)
        yt = torch.from_numpy(((y - self.y_mean) / self.y_std).astype(np.float32))
        gen = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        layers: list[nn.Module] = []
        width = x.shape[1]
        for _ in range(c.hidden_layers):
            layers += [nn.Linear(width, c.hidden), nn.Tanh()]
            width = c.hidden
        self.body = nn.Sequential(*layers)
        head = nn.Linear(width, 1)
        opt = torch.optim.Adam([*self.body.parameters(), *head.parameters()], lr=c.lr)
        for _ in range(c.epochs):
            for b in torch.randperm(len(xt), generator=gen).split(c.batch_size):
                loss = (head(self.body(xt[b])).squeeze(1) - yt[b]).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.blr = BayesianLinearRegression().fit(self._basis(xt), yt.numpy())
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation in the targets' units."""
        xt = torch.from_numpy((np.asarray(x, np.float32) - self.x_mean) / self.x_std)
        mean, var = self.blr.predict(self._basis(xt))
        return mean * self.y_std + self.y_mean, np.sqrt(var) * self.y_std


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """EI of maximisation over ``best``: σ (u Φ(u) + φ(u)), u = (μ − best) / σ. arch2vec's code passes the
    predictive variance where σ goes; this takes the standard deviation."""
    std = np.maximum(np.asarray(std, float), 1e-12)
    u = (np.asarray(mean, float) - best) / std
    return std * (u * norm.cdf(u) + norm.pdf(u))
