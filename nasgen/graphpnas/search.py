"""GraphPNAS's search loop (Section 3.2 and Appendix A): sample, evaluate, keep the best in a replay buffer,
refit the generator on the buffer.

Per step: ``samples_per_step`` graphs, each from the random explorer with probability epsilon (1 for the first
``random_steps`` steps, then ``epsilon0 * epsilon_decay ** ((step - random_steps) // epsilon_every)``), else
from the generator; a graph already evaluated is rejected and redrawn (at most ``max_tries`` times, then the
explorer's draw is taken). The buffer keeps the top ``buffer_keep`` (graph, reward) pairs, or, with
``buffer_share`` (start, end) and a budget, the top share of all evaluated graphs, the share going linearly
from start to end over the budget (the paper's RandWire setting: 30% to 10%); the generator is fitted for
``fit_epochs`` Adam steps on the whole buffer with the reweighted REINFORCE loss (loss.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import numpy as np
import torch

from nasgen.graphpnas.config import GraphPNASConfig
from nasgen.graphpnas.graphs import Graph, GraphSpace
from nasgen.graphpnas.loss import reweighted_loss, standardised
from nasgen.graphpnas.model import Generator


def epsilon(step: int, cfg: GraphPNASConfig) -> float:
    if step < cfg.random_steps:
        return 1.0
    return cfg.epsilon0 * cfg.epsilon_decay ** ((step - cfg.random_steps) // cfg.epsilon_every)


def buffer_keep(evaluated: int, budget: int | None, cfg: GraphPNASConfig) -> int:
    """How many of the best graphs the buffer holds after ``evaluated`` evaluations (at least 2)."""
    if cfg.buffer_share is None or budget is None:
        return cfg.buffer_keep
    start, end = cfg.buffer_share
    share = start + (end - start) * min(evaluated / budget, 1.0)
    return max(2, math.ceil(share * evaluated))


class ReplayBuffer:
    """The top ``keep`` evaluated graphs by reward (ties: the earlier one stays). Every evaluated graph is
    remembered, so a growing ``keep`` (a share of a growing count) can take back one it had left out."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.ranked: list[tuple[Graph, float]] = []

    def add(self, graph: Graph, reward: float) -> None:
        self.ranked.append((graph, reward))
        self.ranked.sort(key=lambda x: -x[1])  # stable: earlier first among equals

    @property
    def items(self) -> list[tuple[Graph, float]]:
        return self.ranked[: self.keep]

    def __len__(self) -> int:
        return len(self.items)


def fit(model: Generator, opt: torch.optim.Optimizer, buffer: ReplayBuffer, cfg: GraphPNASConfig) -> float:
    graphs = [g for g, _ in buffer.items]
    rewards = torch.tensor([r for _, r in buffer.items], dtype=torch.float32)
    adv = standardised(rewards, rewards)
    loss = torch.tensor(0.0)
    for _ in range(cfg.fit_epochs):
        opt.zero_grad()
        loss = reweighted_loss(model.log_likelihood(graphs), adv, cfg.beta)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
    return float(loss.detach())


def search(space: GraphSpace, evaluate: Callable[[Graph], float | None], done: Callable[[], bool],
           explore: Callable[[np.random.Generator], Graph], key: Callable[[Graph], Hashable],
           cfg: GraphPNASConfig, rng: np.random.Generator,
           budget: int | None = None) -> tuple[Generator, ReplayBuffer]:  # fmt: skip
    """Run until ``done()``; ``evaluate`` returns a reward (None: failed or refused, not buffered). ``budget``
    (evaluations) paces a ``buffer_share``. The trained generator and the final buffer are returned (the learnt
    distribution and its best samples)."""
    torch.manual_seed(int(rng.integers(2**31)))
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    model = Generator(space, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    buffer, seen, step = ReplayBuffer(cfg.buffer_keep), set(), 0
    while not done():
        eps = epsilon(step, cfg)
        for _ in range(cfg.samples_per_step):
            g = _draw(model, explore, key, seen, eps, cfg, rng, gen)
            seen.add(key(g))
            r = evaluate(g)
            if r is not None:
                buffer.add(g, r)
            if done():
                break
        buffer.keep = buffer_keep(len(buffer.ranked), budget, cfg)
        if len(buffer) >= 2:
            fit(model, opt, buffer, cfg)
        step += 1
    return model, buffer


def _draw(model, explore, key, seen, eps, cfg, rng, gen) -> Graph:
    for _ in range(cfg.max_tries):
        g = explore(rng) if rng.random() < eps else model.sample(1, gen)[0][0]
        if key(g) not in seen:
            return g
    return explore(rng)
