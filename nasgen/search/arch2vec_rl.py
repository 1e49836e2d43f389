"""arch2vec-RL (dissertation ch. 3): REINFORCE over a frozen embedding table (``table:arch2vec``).

A 1-layer LSTM controller reads the current architecture's embedding and outputs the mean of a Gaussian
policy with fixed covariance; the sampled action's nearest unvisited embedding (L2) is the next architecture
and its reward the next reward. After each episode of ``episode`` architectures the controller takes one Adam
step on mean(−log π(a_t) (G_t − baseline)), G_t the return discounted by ``discount`` within the episode, and
its LSTM state is reset; the walk goes on from the last architecture. The authors' code computes the
discounted returns and then uses the raw rewards (as ``discount = 0``); this follows the text. The start
architecture is drawn at random and not queried (as in their code).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasgen.search.config import LatentSearchConfig, StrategyConfig
from nasgen.search.latent import Reward, RowOracle, nearest_unvisited, table_oracle
from nasgen.search.strategy import Objective, Space, fraction


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


def arch2vec_rl(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> None:
    oracle, table, reward = table_oracle(space, objective, "arch2vec")
    rl_search(oracle, table, rng, cfg.latent, reward)
