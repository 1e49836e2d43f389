"""HL-Evo (Algorithm 1) and the baselines: mutation validity, phases, constraints, determinism, history I/O."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.config import with_overrides
from nasgen.errors import ConfigError, MutationNotApplicable
from nasgen.search.config import ConstraintConfig, HLEvoConfig
from nasgen.search.history import from_table, to_table
from nasgen.search.hl_evo import DEPTH_MUTATIONS, MUTATIONS, PHASES, initial_candidate, mutate
from nasgen.search.hl_evo import search as hl_evo
from nasgen.search.hl_random import random_sequence
from nasgen.search.objective import ZCObjective
from nasgen.search.strategies import search_graphnet
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.cost import Cost, cell_cost, macro_cost, skeleton_cost
from nasgen.space.macro import HLSequence, MacroArch
from nasgen.space.sampling import random_macro, unique_codes
from nasgen.zc.config import ZCConfig

ZC = ZCConfig(batch_size=4, resolution=8, proxies=("naswot", "snip_ssnr", "tcet", "params", "flops"))
CFG = HLEvoConfig(iterations=24, population=6, zc=ZC, levels=(ConstraintConfig(max_params=300_000),))
K = 3
FAMILIES = [[Cell.from_code(int(c)) for c in unique_codes(5, s, SamplerConfig(batch_size=512))[0]] for s in range(K)]


def gen_cell(cluster: int, rng: np.random.Generator) -> Cell:
    """A stand-in GenCell: a draw from a fixed family of valid cells per cluster (the CCNF is tested elsewhere)."""
    family = FAMILIES[cluster]
    return family[int(rng.integers(len(family)))]


def family_of(cell: Cell) -> set[int]:
    return {k for k, fam in enumerate(FAMILIES) if cell in fam}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from(PHASES), st.booleans())
def test_mutations_keep_sequences_valid_and_cells_in_their_cluster(seed, phase, depth):
    rng = np.random.default_rng(seed)
    cand = initial_candidate(CFG, 1, gen_cell, rng)
    for _ in range(5):
        parent = cand
        try:
            cand = mutate(cand, rng, phase, gen_cell, K, depth)
        except MutationNotApplicable:  # deleting the only position, inserting a 21st
            continue
        assert cand.macro == cand.seq.materialise([x.cell for x in cand.macro.layers])
        for hl, layer in zip(cand.seq.layers, cand.macro.layers):
            assert hl.cluster in family_of(layer.cell)
        if phase == "exploitation" and cand.mutation not in DEPTH_MUTATIONS:
            assert [x.cluster for x in cand.seq.layers] == [x.cluster for x in parent.seq.layers]
            assert cand.mutation in MUTATIONS["exploitation"]


@pytest.fixture(scope="module")
def evaluator():
    return ZCObjective(ZC)


def _run(evaluator, cfg=CFG, constraint=None):
    return hl_evo(cfg, constraint or cfg.levels[0], evaluator, gen_cell, K, init_cluster=0)


def test_phases_constraints_and_population_rules(evaluator):
    res = _run(evaluator)
    rows = res.history
    assert rows[0]["phase"] == "init" and rows[0]["positions"] == 3
    for r in rows[1:]:
        assert r["mutation"] in MUTATIONS[r["phase"]] + DEPTH_MUTATIONS
        assert r["params"] <= 300_000  # violators never enter the population or the history
    phases = [r["phase"] for r in rows[1:]]
    assert phases == sorted(phases, key=PHASES.index)  # exploration strictly before exploitation
    assert len(rows) - 1 + res.discarded_constraint + res.discarded_mutation == CFG.iterations
    assert res.best.fitness == max(r["fitness"] for r in rows)
    assert res.evaluations <= len(rows)  # repeated networks are scored once


def test_runs_are_deterministic_under_a_seed(evaluator):
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    a, b = _run(ZCObjective(ZC)), _run(ZCObjective(ZC))
    assert strip(a.history) == strip(b.history)
    c = _run(evaluator, CFG.model_copy(update={"seed": 1}))
    assert strip(c.history) != strip(a.history)


def test_history_round_trips_through_parquet(evaluator, tmp_path):
    rows = _run(evaluator).history
    pq.write_table(to_table(rows, ZC.proxies), tmp_path / "h.parquet")
    back = from_table(pq.read_table(tmp_path / "h.parquet"))
    assert back == rows
    first = back[-1]
    macro = MacroArch.from_json(first["macro"])
    assert (
        macro.arch_id == first["arch_id"]
        and HLSequence.from_json(first["hl_sequence"]).materialise([x.cell for x in macro.layers]) == macro
    )
    assert pq.read_table(tmp_path / "h.parquet").schema.field("tcet").type == pa.float64()


def test_impossible_or_mismatched_searches_fail_clearly(evaluator):
    with pytest.raises(ConfigError, match="violates the constraint params<=10"):
        _run(evaluator, constraint=ConstraintConfig(max_params=10))
    with pytest.raises(ConfigError, match="init_cluster 5 is not a cluster"):
        hl_evo(CFG, CFG.levels[0], evaluator, gen_cell, K, init_cluster=5)
    with pytest.raises(ConfigError, match="cannot be scored"):
        hl_evo(CFG.model_copy(update={"zc": ZC.model_copy(update={"resolution": 16})}), CFG.levels[0], evaluator,
               gen_cell, K, init_cluster=0)  # fmt: skip
    with pytest.raises(ConfigError, match="must be among the ZC proxies"):
        ZCObjective(ZC.model_copy(update={"proxies": ("naswot", "params")}))


def test_baselines_share_budget_constraint_and_row_format(evaluator):
    budget = 6
    rs = search_graphnet("random", CFG, CFG.levels[0], ZCObjective(ZC), budget)
    assert rs.evaluations == budget and all(r["params"] <= 300_000 for r in rs.history)
    init = initial_candidate(CFG, 0, gen_cell, np.random.default_rng(0)).macro
    ev = search_graphnet("raw_evo", CFG, CFG.levels[0], ZCObjective(ZC), start=init)
    assert all(r["params"] <= 300_000 and r["hl_sequence"] is None for r in ev.history)
    assert {r["mutation"] for r in ev.history[1:]} <= {"channels", "stride", "cell", *DEPTH_MUTATIONS}
    assert set(rs.history[0]) == set(ev.history[0]) == set(_run(evaluator).history[0])
    json.loads(ev.history[-1]["macro"])


@pytest.mark.parametrize("objective", ["zen", "zico"])
def test_zen_and_zico_objectives_drive_the_search(objective):
    cfg = with_overrides(CFG, "search", iterations=6, population=3, objective=objective)
    assert cfg.objective == objective and objective in cfg.zc.proxies  # added to the scored proxies
    ev = ZCObjective(cfg.zc, objective=cfg.objective)
    res = hl_evo(cfg, cfg.levels[0], ev, gen_cell, K, init_cluster=0)
    for r in res.history:
        assert r["fitness"] == r[objective] and np.isfinite(r["fitness"])
    assert res.best.fitness == max(r[objective] for r in res.history)


def test_an_objective_must_be_known_and_scored():
    with pytest.raises(ConfigError, match="unknown search objective 'accuracy'"):
        ZCObjective(ZC, objective="accuracy")
    assert "zen" in HLEvoConfig(objective="zen", zc=ZC).zc.proxies  # naming the objective scores it
    with pytest.raises(ConfigError, match="invalid search parameters"):
        with_overrides(CFG, "search", objective="accuracy")
    assert with_overrides(CFG, "search", objective=None) == CFG
    assert "meco_opt" in CFG.zc.proxies and CFG.objective == "meco_opt"  # the default objective is scored
    assert HLEvoConfig(objective="tcet", zc=ZC).zc.proxies == ZC.proxies  # T-CET: what a T-CET config scored
    assert HLEvoConfig(objective="tcet") == HLEvoConfig(objective="tcet", zc=ZCConfig())


HL_RANDOM = CFG.model_copy(update={"strategy": "hl_random", "iterations": 8})


def test_random_hl_sequences_are_admitted_networks_of_their_families(evaluator):
    level = ConstraintConfig(max_params=100_000, max_flops=2_000_000)
    res = _run(evaluator, HL_RANDOM, level)
    rows = res.history
    assert len(rows) == 8 and {r["phase"] for r in rows} == {"random"}  # one row per admitted network
    for r in rows:
        assert r["params"] <= 100_000 and r["flops"] <= 2_000_000
        seq, macro = HLSequence.from_json(r["hl_sequence"]), MacroArch.from_json(r["macro"])
        assert all(hl.cluster in family_of(x.cell) for hl, x in zip(seq.layers, macro.layers))
    assert res.discarded_constraint > 0  # most uniform draws break 100k params
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(_run(ZCObjective(ZC), HL_RANDOM, level).history) == strip(rows)
    with pytest.raises(ConfigError, match="random HL sequences find almost no network within params<=10"):
        _run(evaluator, HL_RANDOM, ConstraintConfig(max_params=10))


def test_random_sequences_draw_every_depth_family_and_stride():
    rng = np.random.default_rng(0)
    seqs = [random_sequence(rng, [0, 2], (1, 28, 28), 10) for _ in range(400)]
    assert {len(q.layers) for q in seqs} == set(range(1, 21))  # uniform over 1..20 positions
    assert {x.cluster for q in seqs for x in q.layers} == {0, 2}  # only the families given
    assert {x.stride for q in seqs for x in q.layers} == {1, 2}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31))
def test_a_skeleton_costs_no_more_than_any_network_on_it(seed):
    rng = np.random.default_rng(seed)
    macro = random_macro(rng, max_layers=6, input_shape=(1, 28, 28))
    bound = skeleton_cost(macro.input_shape, macro.classes, [(x.channels, x.stride) for x in macro.layers])
    cost = macro_cost(macro)
    assert bound.params <= cost.params and bound.flops <= cost.flops
    # what the cells add is exactly each cell's ops at its position's channels and resolution
    cells = macro_cost(macro) + Cost(-bound.params, -bound.flops)
    assert cells.params == sum(cell_cost(x.cell, x.channels, 1, 1).params for x in macro.layers)


def test_a_skeleton_cost_by_hand():
    # stem 3x3 conv 1->8 with BN: 72 + 16 params, 72 MACs x 16 pixels; no projection; classifier 8->2
    assert skeleton_cost((1, 4, 4), 2, [(8, 1)]) == Cost(72 + 16 + 16 + 2, 72 * 16 + 16)
