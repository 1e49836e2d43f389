"""Search strategies on NAS-Bench-201, each a function of (oracle, rng, cfg) that queries until the budget is
spent. The same strategy runs under either protocol: the oracle answers validation accuracy or a zero-cost
proxy. ``STRATEGIES`` is the table a new method registers in.

- ``random``: distinct uniform draws from the 15,625 architectures (or from a given pool).
- ``rea``: regularised evolution (Real et al. 2019) as NB201 runs it: a population of random architectures,
  then per cycle a tournament of ``rea_sample`` members, the winner's child by one mutation, the oldest removed.
- ``reinforce``: REINFORCE (Williams 1992) on independent categorical logits per edge (NB201's policy), Adam,
  reward = the oracle's answer / 100 minus an exponential-moving-average baseline.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import torch

from nasgen.graphpnas.graphs import Graph
from nasgen.graphpnas.search import search as graphpnas_search
from nasgen.nb201.arch import EDGES, OPS, SPACE_SIZE, from_index, to_index
from nasgen.nb201.config import NB201SearchConfig
from nasgen.nb201.graphs import graph_space, to_arch
from nasgen.nb201.oracle import BudgetExhausted, Oracle

Strategy = Callable[[Oracle, np.random.Generator, NB201SearchConfig], None]


def random_index(rng: np.random.Generator) -> int:
    return int(rng.integers(SPACE_SIZE))


def mutate(index: int, rng: np.random.Generator) -> int:
    """One edge's operation changed to another one (NB201's mutation): always a different architecture."""
    ops = list(from_index(index))
    e = int(rng.integers(len(EDGES)))
    ops[e] = OPS[(OPS.index(ops[e]) + 1 + int(rng.integers(len(OPS) - 1))) % len(OPS)]
    return to_index(ops)


def random_search(oracle: Oracle, rng: np.random.Generator, cfg: NB201SearchConfig,
                  pool: Sequence[int] | None = None) -> None:  # fmt: skip
    """Distinct architectures in random order until the budget (or the pool) is spent."""
    candidates = np.arange(SPACE_SIZE) if pool is None else np.asarray(pool)
    for i in rng.choice(candidates, size=min(oracle.left, len(candidates)), replace=False):
        oracle.query(int(i))


def regularised_evolution(oracle: Oracle, rng: np.random.Generator, cfg: NB201SearchConfig) -> None:
    population: deque[tuple[int, float]] = deque()
    try:
        while len(population) < cfg.rea_population:
            i = random_index(rng)
            population.append((i, oracle.query(i)))
        while True:
            picks = rng.choice(len(population), size=cfg.rea_sample, replace=False)
            parent = max((population[int(k)] for k in picks), key=lambda m: m[1])[0]
            child = mutate(parent, rng)
            population.append((child, oracle.query(child)))
            population.popleft()
    except BudgetExhausted:
        return


def reinforce(oracle: Oracle, rng: np.random.Generator, cfg: NB201SearchConfig) -> None:
    gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    logits = torch.zeros(len(EDGES), len(OPS), requires_grad=True)
    opt = torch.optim.Adam([logits], lr=cfg.reinforce_lr)
    baseline = None
    m = cfg.reinforce_baseline_momentum
    while oracle.left > 0:
        probs = torch.softmax(logits, dim=-1)
        choice = torch.multinomial(probs.detach(), 1, generator=gen).squeeze(1)
        reward = oracle.query(to_index([OPS[int(c)] for c in choice])) / 100.0
        advantage = 0.0 if baseline is None else reward - baseline  # against the baseline before this reward
        baseline = reward if baseline is None else m * baseline + (1 - m) * reward
        log_prob = torch.log(probs[torch.arange(len(EDGES)), choice]).sum()
        opt.zero_grad()
        (-advantage * log_prob).backward()
        opt.step()


def graphpnas(oracle: Oracle, rng: np.random.Generator, cfg: NB201SearchConfig) -> None:
    """GraphPNAS (nasgen.graphpnas) on arch2vec's 8-node op DAG of NB-201: only op types are generated; the
    reward is the oracle's answer; the explorer draws uniform architectures."""
    space = graph_space()

    def explore(r: np.random.Generator) -> Graph:
        return Graph(tuple(int(o) for o in r.integers(len(OPS), size=len(EDGES))), space.fixed_edges)

    def evaluate(g: Graph) -> float:
        return oracle.query(to_index(to_arch(g)))

    graphpnas_search(space, evaluate, lambda: oracle.left <= 0, explore, lambda g: g.ops, cfg.graphpnas, rng)


STRATEGIES: dict[str, Strategy] = {
    "random": random_search,
    "rea": regularised_evolution,
    "reinforce": reinforce,
    "graphpnas": graphpnas,
}


def run_strategy(name: str, oracle: Oracle, seed: int, cfg: NB201SearchConfig) -> tuple[int, float]:
    """Run strategy ``name`` to the end of the oracle's budget; the best architecture and its answer."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown NB-201 search strategy {name!r}; expected one of {list(STRATEGIES)}")
    STRATEGIES[name](oracle, np.random.default_rng(seed), cfg)
    return oracle.best()
