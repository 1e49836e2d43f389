"""The one search interface: every strategy of STRATEGIES runs on every space that offers its needs (NB-201 and
GraphNet) within the objective's budget, both search benchmarks pick a new entry up, the refactor kept the
seeded streams of the committed results, and misuse is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasgen.config import get_profile
from nasgen.errors import ConfigError
from nasgen.nb201.cell import nb201_codes, nb201_indices
from nasgen.nb201.config import NB201SearchConfig
from nasgen.nb201.data import accuracy_table
from nasgen.nb201.oracle import Oracle
from nasgen.nb201.space import NB201Space
from nasgen.search.config import ConstraintConfig, HLEvoConfig, LatentSearchConfig, StrategyConfig
from nasgen.search.graphnet import GraphNetSpace, MacroObjective
from nasgen.search.hl_evo import initial_candidate
from nasgen.search.objective import ZCObjective
from nasgen.search.strategies import STRATEGIES, run, search_graphnet, supported
from nasgen.search.strategy import CellDraws, HLView, Strategy, draws, family_draws
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import unique_codes

TINY = get_profile("tiny")
ZC = TINY.hl_evo.zc
LATENT = LatentSearchConfig(episode=3, bo_init=3, bo_top=2, ls_epochs=2).model_copy(
    update={"dngo": LatentSearchConfig().dngo.model_copy(update={"hidden": 8, "epochs": 3})}
)
CELLS = [Cell.from_code(int(c)) for c in unique_codes(12, 3, SamplerConfig(batch_size=512))[0]]


@pytest.fixture(scope="module")
def valid() -> np.ndarray:
    return accuracy_table()["valid_top1"].to_numpy()


class Decoded:
    def __init__(self, cell: Cell) -> None:
        self.cell, self.ok = cell, True


class FirstCells:
    """A stand-in CCNF: decodes NB-201 cells in a fixed order."""

    def __init__(self) -> None:
        self.cells = [Cell.from_code(int(c)) for c in nb201_codes(0)[:20]]

    def draw(self, cond: torch.Tensor, gen: torch.Generator) -> list[Decoded]:
        return [Decoded(self.cells[i % len(self.cells)]) for i in range(len(cond))]


def nb201_space() -> NB201Space:
    table = np.random.default_rng(0).normal(size=(15_625, 4)).astype(np.float32)
    cell_draws = CellDraws(FirstCells(), torch.zeros(4), nb201_indices, draw_batch=8, max_draws=64)
    return NB201Space(tables={"arch2vec": table, "cate": table}, cell_draws=cell_draws)


def gen_cell(cluster: int, rng: np.random.Generator) -> Cell:
    return CELLS[4 * cluster + int(rng.integers(4))]


def graphnet_space() -> GraphNetSpace:
    cfg = HLEvoConfig(zc=ZC)
    view = HLView(gen_cell, 3, 0)
    scored = HLView(family_draws({k: CELLS[4 * k : 4 * k + 4] for k in range(2)}), 3, 0)  # family 2: no cells

    alpha0 = initial_candidate(cfg, 0, gen_cell, np.random.default_rng(0)).macro
    table = np.random.default_rng(0).normal(size=(len(CELLS), 4)).astype(np.float32)
    views = {"ccnf": view, "graphpnas": view, "scored": scored}
    return GraphNetSpace(ZC.input_shape, ZC.classes, start=alpha0, cells=CELLS,
                         tables={"arch2vec": table, "cate": table}, hl=views)  # fmt: skip


SETTINGS = StrategyConfig(
    evo=HLEvoConfig(iterations=6, population=3, zc=ZC),
    rea=NB201SearchConfig().rea.model_copy(update={"population": 3, "sample": 2}),
    latent=LATENT,
    graphpnas=TINY.graphpnas.graphpnas,
)


def test_every_space_offers_what_its_strategies_need():
    assert {s.name for s in supported(nb201_space().capabilities())} == set(STRATEGIES) - {
        "hl_evo", "raw_evo", "hl_evo_graphpnas", "hl_evo_scored_cells", "hm_nas"}  # fmt: skip
    assert {s.name for s in supported(graphnet_space().capabilities())} == set(STRATEGIES) - {
        "reinforce", "hierarchy", "hm_nas"}  # fmt: skip
    assert not supported(set())
    # HM-NAS runs where a space is given a one-shot search (a supernet's stages: tests/test_hm_nas.py)
    assert "hm_nas" in {s.name for s in supported(nb201_space().capabilities() | {"one_shot"})}


@pytest.mark.parametrize("name", [s.name for s in supported(nb201_space().capabilities())])
def test_every_strategy_spends_an_nb201_budget_exactly(valid, name):
    o = Oracle.from_table(valid, 8)
    cfg = StrategyConfig(latent=LATENT, graphpnas=NB201SearchConfig().graphpnas, rea=SETTINGS.rea)
    run(name, nb201_space(), o, np.random.default_rng(1), cfg)
    assert o.queries == 8 and o.best() == max(o.history, key=lambda h: h[1])


@pytest.mark.parametrize("name", [s.name for s in supported(graphnet_space().capabilities())])
def test_every_strategy_searches_graphnet_within_the_constraint_and_budget(name):
    level = ConstraintConfig(max_params=400_000)
    own = STRATEGIES[name].own_budget
    goal = MacroObjective(ZCObjective(ZC), level, None if own else 5, name)
    run(name, graphnet_space(), goal, np.random.default_rng(0), SETTINGS)
    res = goal.result
    assert res.history and all(r["params"] <= 400_000 for r in res.history)
    assert res.best.fitness == max(r["fitness"] for r in res.history)
    if own:  # Algorithm 1's T iterations: the initial network and at most one row per iteration
        assert len(res.history) <= SETTINGS.evo.iterations + 1
    else:
        assert res.evaluations == 5


def test_the_no_ccnf_ablation_draws_only_its_familys_scored_cells():
    goal = MacroObjective(ZCObjective(ZC), ConstraintConfig(max_params=400_000), None, "hl_evo_scored_cells")
    run("hl_evo_scored_cells", graphnet_space(), goal, np.random.default_rng(0), SETTINGS)
    for row in goal.result.history:
        assert all(c in {x.cell_id for x in CELLS[:8]} for c in row["cells"])  # families 0 and 1 only
    assert goal.result.discarded_mutation >= 0  # a change to family 2 (no cells) is a spent iteration


def test_a_new_strategy_is_one_entry_and_both_benchmarks_run_it(monkeypatch, valid):
    """A hill climber written against the interface alone: both benchmarks list it, it runs on both spaces."""
    from benchmarks import nb201_search
    from benchmarks import search as graphnet_search

    def hill_climb(space, objective, rng, cfg):
        best = next(draws(space, objective, rng))
        value = objective.query(best)
        while objective.left > 0:
            child = space.mutate(best, rng)
            if objective.admits(child) and (v := objective.query(child)) > value:
                best, value = child, v

    entry = Strategy("hill_climb", hill_climb, ("sample", "mutate"), "first-improvement hill climbing")
    monkeypatch.setitem(STRATEGIES, "hill_climb", entry)
    assert "hill_climb" in graphnet_search.methods()
    cfg = NB201SearchConfig(queries=6, oracle_runs=2)
    method = next(m for m in nb201_search.methods(cfg) if m.name == "hill_climb")
    assert method.protocol == "oracle" and method.runs == 2
    ctx = nb201_search.Context(cfg, valid, proxies=None, pool=np.arange(10))  # type: ignore[arg-type]
    assert method.search(ctx, 0).queries == 6
    goal = MacroObjective(ZCObjective(ZC), ConstraintConfig(max_params=400_000), 3, "hill_climb")
    run("hill_climb", graphnet_space(), goal, np.random.default_rng(0))
    assert goal.result.evaluations == 3


def test_the_refactor_kept_the_seeded_streams(valid):
    """The first 12 queries of seed 0, the same before the one interface (nasgen.nb201.search, checked side by
    side on 2026-12-06): committed NB-201 results reproduce."""
    expected = {
        "random": [13281, 258, 7981, 9946, 4807, 2738, 4213, 639, 10146, 12705, 14261, 1175],
        "rea": [13291, 9952, 7986, 4215, 4809, 640, 1175, 258, 2738, 12707, 12722, 1180],
        "reinforce": [5381, 13385, 2712, 4151, 11143, 5705, 13916, 2479, 10066, 4997, 7161, 12191],
    }
    for name, queries in expected.items():
        o = Oracle.from_table(valid, 12)
        run(name, NB201Space(), o, np.random.default_rng(0), NB201SearchConfig().strategies(LatentSearchConfig()))
        assert [i for i, _ in o.history] == queries, name


def test_one_random_search_draws_a_pool_without_replacement_and_refuses_without_evaluating(valid):
    o = Oracle.from_table(valid, 50)
    run("random", NB201Space(pool=np.arange(100, 120)), o, np.random.default_rng(0))
    assert sorted(i for i, _ in o.history) == list(range(100, 120))  # the pool is smaller than the budget
    cfg = HLEvoConfig(zc=ZC)
    res = search_graphnet("random", cfg, ConstraintConfig(max_params=60_000), ZCObjective(ZC), 4)
    assert res.evaluations == 4 and res.discarded_constraint > 0  # over-budget draws were skipped, not scored
    with pytest.raises(ConfigError, match="almost no architecture the objective admits"):
        search_graphnet("random", cfg, ConstraintConfig(max_params=10), ZCObjective(ZC), 4)


def test_misuse_is_named(valid):
    with pytest.raises(ConfigError, match="unknown search strategy 'bo'"):
        run("bo", NB201Space(), Oracle.from_table(valid, 2), np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"needs \['start'\] of the space; nb201 offers"):
        run("raw_evo", NB201Space(), Oracle.from_table(valid, 2), np.random.default_rng(0))
    goal = MacroObjective(ZCObjective(ZC), ConstraintConfig(), 2, "random")
    other = GraphNetSpace((3, 32, 32), 10)
    with pytest.raises(ConfigError, match="cannot be scored by a ZC config"):
        run("random", other, goal, np.random.default_rng(0))
