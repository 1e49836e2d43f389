"""arch2vec-RL, arch2vec-BO and CATE-DNGO-LS (nasgen.search.arch2vec_rl, .arch2vec_bo, .cate_dngo_ls) on frozen
embedding tables: the return maths, the nearest-unvisited step, budget and distinctness, and both beating random
search on a smooth landscape."""

import numpy as np
import pytest
import torch

from nasgen.nb201.oracle import Oracle
from nasgen.search.arch2vec_bo import bo_search
from nasgen.search.arch2vec_rl import discounted_returns, rl_search
from nasgen.search.cate_dngo_ls import dngo_ls_search
from nasgen.search.config import DNGOConfig, LatentSearchConfig
from nasgen.search.latent import nearest_unvisited

CFG = LatentSearchConfig(dngo=DNGOConfig(epochs=30))
GRID = np.array([(x, y) for x in range(40) for y in range(40)], dtype=np.float32) / 4  # 1,600 points, 10 x 10
TARGET = np.array([8.0, 2.0])


class RowOracle:
    """Accuracy-like answers (percent) falling with the distance to TARGET, over the rows of GRID."""

    def __init__(self, budget: int) -> None:
        self.values = 100 - 5 * np.linalg.norm(GRID - TARGET, axis=1)
        self.left, self.asked = budget, []

    def query(self, row: int) -> float:
        assert self.left > 0
        self.left -= 1
        self.asked.append(row)
        return float(self.values[row])


def test_discounted_returns_sum_the_rest_of_the_episode():
    assert discounted_returns([1.0, 0.0, 2.0], 0.5).tolist() == pytest.approx([1.5, 1.0, 2.0])
    assert discounted_returns([0.3, 0.7], 0.0).tolist() == pytest.approx([0.3, 0.7])


def test_nearest_unvisited_skips_visited_rows():
    table = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    visited = np.array([True, False, False])
    assert nearest_unvisited(table, torch.tensor([0.1, 0.0]), visited) == 1
    visited[1] = True
    assert nearest_unvisited(table, torch.tensor([0.1, 0.0]), visited) == 2


@pytest.mark.parametrize("search", [rl_search, bo_search, dngo_ls_search])
def test_search_spends_the_budget_on_distinct_architectures(search):
    table = np.random.default_rng(0).normal(size=(15_625, 16)).astype(np.float32)
    oracle = Oracle.from_table(np.random.default_rng(1).uniform(80, 92, 15_625), budget=40)
    search(oracle, table, np.random.default_rng(2), CFG)
    asked = [i for i, _ in oracle.history]
    assert oracle.left == 0 and len(set(asked)) == 40


def test_search_stops_when_every_row_was_asked():
    oracle = RowOracle(budget=100)
    rl_search(oracle, GRID[:10], np.random.default_rng(0), CFG)
    assert sorted(oracle.asked) == list(range(10)) and oracle.left == 90


def _best_found(search, seed: int, budget: int) -> float:
    oracle = RowOracle(budget)
    search(oracle, GRID, np.random.default_rng(seed), CFG)
    return max(oracle.values[r] for r in oracle.asked)


def _random_best(seed: int, budget: int) -> float:
    values = RowOracle(budget).values
    return float(values[np.random.default_rng(seed).choice(len(GRID), budget, replace=False)].max())


def test_bo_finds_better_architectures_than_random_on_a_smooth_landscape():
    bo = np.mean([_best_found(bo_search, s, 40) for s in range(3)])
    rand = np.mean([_random_best(s, 40) for s in range(20)])
    assert bo > rand and bo > 99.0  # the optimum is 100; random's 40 draws reach about 98


@pytest.mark.parametrize("search", [bo_search, dngo_ls_search])
def test_dngo_ls_adds_neighbours_of_the_pool_top_each_round(search, monkeypatch):
    import nasgen.search.arch2vec_bo as module

    fits, real = [], module.DNGO

    class Spy(real):
        def fit(self, x, y):
            fits.append(len(y))
            return super().fit(x, y)

    monkeypatch.setattr(module, "DNGO", Spy)
    oracle = RowOracle(budget=60)
    search(oracle, GRID, np.random.default_rng(0), CFG)
    per_round = np.diff(fits)
    if search is bo_search:
        assert (per_round == CFG.bo_top).all()
    else:  # 5 EI picks plus a neighbour of each pool top-5 member that is not one of them: 5 to 10
        assert ((per_round >= CFG.bo_top) & (per_round <= 2 * CFG.bo_top)).all() and per_round.max() > CFG.bo_top
    assert max(oracle.values[oracle.asked]) > 99.0


def test_rl_walks_towards_better_architectures():
    oracle = RowOracle(budget=320)
    rl_search(oracle, GRID, np.random.default_rng(0), CFG.model_copy(update={"policy_std": 0.5}))
    rewards = oracle.values[oracle.asked]
    assert rewards[-64:].mean() > rewards[:64].mean()
