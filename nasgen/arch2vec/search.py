"""Searches on a frozen architecture embedding (dissertation ch. 3, "Architecture Search Strategies"): the
candidates are the rows of an embedding table and an oracle answers one value per row; nothing is decoded, so
every proposal is a real architecture.

- ``rl_search``: REINFORCE. A 1-layer LSTM controller reads the current architecture's embedding and outputs
  the mean of a Gaussian policy with fixed covariance; the sampled action's nearest unvisited embedding (L2) is
  the next architecture and its answer / 100 the reward. After each episode of ``episode`` architectures the
  controller takes one Adam step on mean(−log π(a_t) (G_t − baseline)), G_t the return discounted by
  ``discount`` within the episode, and its LSTM state is reset; the walk goes on from the last architecture.
  The authors' code computes the discounted returns and then uses the raw rewards (as ``discount = 0``); this
  follows the text. The start architecture is drawn at random and not queried (as in their code).
- ``bo_search``: DNGO with expected improvement. ``bo_init`` random architectures, then rounds of: DNGO refit
  on every answer so far (answers / 100), EI over ``ei_best`` on every unvisited row, the ``bo_top`` highest
  queried.

- ``dngo_ls_search``: CATE-DNGO-LS (dissertation ch. 4): the BO loop with DNGO refit for ``ls_epochs``, and after
  each round's ``bo_top`` proposals, for every top-``bo_top`` architecture of the pool (by answer) that is not
  one of them, its nearest unvisited embedding is queried too (5 to 10 new architectures per round). The
  authors' code also restarts from new random architectures after 20 rounds without improvement; not here.

All stop when the oracle's budget is spent. The oracle is anything with ``query(row) -> value`` and ``left``;
``reward`` maps its answers to the searches' scale (default: accuracy in percent -> fraction, as the authors').
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch
from torch import nn

from nasgen.arch2vec.config import LatentSearchConfig
from nasgen.search.dngo import DNGO, expected_improvement

REWARD_SCALE = 100.0  # the oracle answers accuracy in percent; both searches work on fractions, as the authors'
Reward = Callable[[float], float]


def fraction(value: float) -> float:
    return value / REWARD_SCALE


class RowOracle(Protocol):
    left: int

    def query(self, index: int) -> float: ...


class Controller(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(dim, hidden)
        self.out = nn.Linear(hidden, dim)
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.state = self.cell(x[None], self.state)
        return self.out(self.state[0])[0]


def discounted_returns(rewards: list[float], discount: float) -> torch.Tensor:
    """G_t = Σ_k discount^k r_{t+k} over the rest of the episode."""
    out, g = [], 0.0
    for r in reversed(rewards):
        g = r + discount * g
        out.append(g)
    return torch.tensor(out[::-1])


def nearest_unvisited(table: torch.Tensor, point: torch.Tensor, visited: np.ndarray) -> int:
    d = torch.linalg.vector_norm(table - point, dim=1)
    d[torch.from_numpy(visited)] = torch.inf
    return int(torch.argmin(d))


def rl_search(oracle: RowOracle, table: np.ndarray, rng: np.random.Generator, cfg: LatentSearchConfig,
              reward: Reward = fraction) -> None:  # fmt: skip
    emb = torch.as_tensor(np.asarray(table), dtype=torch.float32)
    gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    torch.manual_seed(int(rng.integers(2**63 - 1)))
    policy = Controller(emb.shape[1], cfg.controller_hidden)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.rl_lr)
    visited = np.zeros(len(emb), dtype=bool)
    state = emb[int(rng.integers(len(emb)))]
    while oracle.left > 0 and not visited.all():
        log_probs, rewards = [], []
        for _ in range(min(cfg.episode, oracle.left)):
            mean = policy(state)
            action = (mean + cfg.policy_std * torch.randn(mean.shape, generator=gen)).detach()
            log_probs.append(torch.distributions.Normal(mean, cfg.policy_std).log_prob(action).sum())
            row = nearest_unvisited(emb, action, visited)
            visited[row] = True
            rewards.append(reward(oracle.query(row)))
            state = emb[row]
            if visited.all():
                break
        advantage = discounted_returns(rewards, cfg.discount) - cfg.baseline
        loss = -(torch.stack(log_probs) * advantage).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        policy.state = None


def bo_search(oracle: RowOracle, table: np.ndarray, rng: np.random.Generator, cfg: LatentSearchConfig,
              reward: Reward = fraction, local_search: bool = False) -> None:  # fmt: skip
    table = np.asarray(table, dtype=np.float32)
    emb = torch.from_numpy(table)
    visited = np.zeros(len(table), dtype=bool)
    rows: list[int] = []
    answers: list[float] = []

    def ask(row: int) -> None:
        visited[row] = True
        rows.append(row)
        answers.append(reward(oracle.query(row)))

    for row in rng.choice(len(table), size=min(cfg.bo_init, oracle.left, len(table)), replace=False):
        ask(int(row))
    dngo = cfg.dngo.model_copy(update={"epochs": cfg.ls_epochs}) if local_search else cfg.dngo
    while oracle.left > 0 and not visited.all():
        model = DNGO(dngo, seed=int(rng.integers(2**31))).fit(table[rows], np.asarray(answers))
        free = np.flatnonzero(~visited)
        mean, std = model.predict(table[free])
        ei = expected_improvement(mean, std, cfg.ei_best)
        new = [int(free[k]) for k in np.argsort(-ei, kind="stable")[: min(cfg.bo_top, oracle.left)]]
        for row in new:
            ask(row)
        if not local_search:
            continue
        top = [rows[k] for k in np.argsort(-np.asarray(answers), kind="stable")[: cfg.bo_top]]
        for row in (r for r in top if r not in new):
            if oracle.left <= 0 or visited.all():
                break
            ask(nearest_unvisited(emb, emb[row], visited))


def dngo_ls_search(oracle: RowOracle, table: np.ndarray, rng: np.random.Generator, cfg: LatentSearchConfig,
                   reward: Reward = fraction) -> None:  # fmt: skip
    bo_search(oracle, table, rng, cfg, reward, local_search=True)
