"""REINFORCE (Williams 1992) on independent categorical logits per decision of the space (NB201's policy: one
of 5 ops per edge), Adam, reward = the objective's answer / 100 minus an exponential-moving-average baseline."""

from __future__ import annotations

import numpy as np
import torch

from nasgen.search.config import StrategyConfig
from nasgen.search.strategy import Objective, Space, fraction


def reinforce(space: Space, objective: Objective, rng: np.random.Generator, cfg: StrategyConfig) -> None:
    gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    n, k = space.decisions
    logits = torch.zeros(n, k, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=cfg.reinforce.lr)
    baseline = None
    m = cfg.reinforce.baseline_momentum
    while objective.left > 0:
        probs = torch.softmax(logits, dim=-1)
        choice = torch.multinomial(probs.detach(), 1, generator=gen).squeeze(1)
        reward = fraction(objective.query(space.from_decisions(choice.tolist())))
        advantage = 0.0 if baseline is None else reward - baseline  # against the baseline before this reward
        baseline = reward if baseline is None else m * baseline + (1 - m) * reward
        log_prob = torch.log(probs[torch.arange(n), choice]).sum()
        opt.zero_grad()
        (-advantage * log_prob).backward()
        opt.step()
