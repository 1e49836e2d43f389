"""The hierarchical method on NB-201: the `cells` stage on NB-201's space, CCNF candidates kept to that space,
the families ranked by the zero-cost record, and the benchmark entry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.config import bench_profile
from nasgen.ccnf.sampling import GenerationError
from nasgen.config import get_profile
from nasgen.errors import ConfigError
from nasgen.gvae.data import Decoded
from nasgen.nb201.arch import from_index, to_string
from nasgen.nb201.cell import BEST_CIFAR10, cell_index, nb201_cell, nb201_codes, nb201_indices
from nasgen.nb201.config import NB201HierarchyConfig
from nasgen.nb201.data import accuracy_table
from nasgen.search.hierarchy import cell_candidates
from nasgen.search.strategy import CellDraws
from nasgen.space.cell import Cell
from nasgen.space.config import NB201_CELLS, SampleCellsConfig
from nasgen.stages import cells as cell_stage
from nasgen.stages import nb201_hierarchy as hierarchy
from nasgen.stages.pipeline import run_cells
from nasgen.store import ArtifactStore
from tests.conftest import run_cli

OUTSIDE = Cell.from_graph(["input", "mbconv_e6_5", "output"], [(0, 1), (1, 2)])  # no NB-201 op: not in the space


def test_the_nb201_stream_is_a_seeded_order_of_its_distinct_cells():
    codes = nb201_codes(0)
    assert len(codes) == len(set(codes.tolist())) == len(cell_index()) == NB201_CELLS
    assert set(nb201_codes(1).tolist()) == set(codes.tolist()) and not np.array_equal(nb201_codes(1), codes)
    assert np.array_equal(nb201_codes(0), codes)
    for c in codes[:50].tolist():
        indices = nb201_indices(Cell.from_code(c))
        assert indices and all(nb201_cell(to_string(from_index(i))).code == c for i in indices)
    assert nb201_indices(OUTSIDE) == ()


def test_the_cells_stage_on_nb201_writes_a_prefix_of_that_stream(tmp_path):
    store = ArtifactStore(str(tmp_path))
    cfg = SampleCellsConfig(space="nb201", n=30, shard_size=12, seed=3)
    ref = run_cells(store, cfg)
    table = cell_stage.load_cells(store, ref)
    assert table.column("code").to_numpy().tolist() == nb201_codes(3)[:30].tolist()
    assert table.column("position").to_pylist() == list(range(30)) and len(cell_stage.load_shard_refs(store, ref)) == 3
    assert store.manifest(ref.stage, ref.key)["config"]["space"] == "nb201"
    graphnet = SampleCellsConfig(n=30, shard_size=12, seed=3)
    assert cell_stage.key(graphnet) != ref.key and cell_stage.shard_key(graphnet, 0) != cell_stage.shard_key(cfg, 0)


def test_the_graphnet_cells_key_does_not_see_the_space_field():
    """``space`` arrived after GraphNet artifacts were stored: their keys are those of the config without it."""
    from nasgen.store import content_key

    cfg = get_profile("demo").cells
    assert cell_stage.key(cfg) == content_key(cell_stage.STAGE, cfg.model_dump(mode="json", exclude={"space"}))


def test_impossible_nb201_sizes_are_refused(monkeypatch, capsys):
    with pytest.raises(ValueError, match="exceeds the 8764 distinct cells of NAS-Bench-201"):
        SampleCellsConfig(space="nb201", n=NB201_CELLS + 1)
    with pytest.raises(ValueError, match="labelled=50 exceeds the 40 cells"):
        NB201HierarchyConfig(cells=40, labelled=50)
    code, _, err = run_cli(monkeypatch, capsys, "cells", "--profile", "tiny", "--set", "cells.space=nb201",
                           "--set", "cells.n=9000")  # fmt: skip
    assert code == 2 and "8764 distinct cells" in err


class ScriptedSampler:
    """Decodes a fixed sequence (cycled): what the CCNF + G-VAE would return, to check the bookkeeping."""

    def __init__(self, script: list[Cell | None]):
        self.script, self.calls = script, 0

    def draw(self, cond: torch.Tensor, gen: torch.Generator) -> list[Decoded]:
        out = []
        for _ in range(len(cond)):
            out.append(Decoded(self.script[self.calls % len(self.script)]))
            self.calls += 1
        return out


def _nb201(i: int) -> Cell:
    return Cell.from_code(int(nb201_codes(0)[i]))


def test_candidates_are_distinct_nb201_cells_and_misses_are_counted():
    a, b = _nb201(0), _nb201(1)
    sampler = ScriptedSampler([a, None, OUTSIDE, a, b, None])

    def draws(s):
        return CellDraws(s, torch.zeros(4), nb201_indices, draw_batch=3, max_draws=60)

    found = cell_candidates(draws(sampler), 2, seed=0, space="nb201")
    assert [c.code for c in found.cells] == [a.code, b.code]
    assert (found.drawn, found.valid, found.in_space) == (6, 4, 3)  # stops after the batch that gave n cells
    few = cell_candidates(draws(ScriptedSampler([a, OUTSIDE])), 5, seed=0, space="nb201")
    assert [c.code for c in few.cells] == [a.code] and few.drawn == 60  # max_draws bounds a run
    with pytest.raises(GenerationError, match="no nb201 cell among 60 CCNF samples"):
        cell_candidates(draws(ScriptedSampler([OUTSIDE, None])), 5, seed=0, space="nb201")


def test_the_hierarchical_entry_spends_one_zc_evaluation_per_candidate_cell():
    from benchmarks.nb201_search import Context, methods
    from nasgen.nb201.scoring import ProxyValues

    cfg = bench_profile("tiny").nb201_search
    cells = [_nb201(i) for i in range(6)]
    ctx = Context(cfg, accuracy_table()["valid_top1"].to_numpy(),
                  ProxyValues("alpha_x", get_profile("tiny").nb201_proxies.zc, proxies=(cfg.hierarchy.proxy,)),
                  np.arange(10), conditions={c: hierarchy.Condition(c, torch.zeros(4), {})
                                             for c in cfg.hierarchy.conditions})  # fmt: skip
    for m in (m for m in methods(cfg) if m.pretrained):
        ctx.sampler = ScriptedSampler([*cells, OUTSIDE])  # type: ignore[assignment]
        oracle = m.search(ctx, 0)
        assert oracle.queries == cfg.hierarchy.budget == oracle.info["distinct_cells"]
        realised = [nb201_cell(to_string(from_index(i))).code for i, _ in oracle.history]
        assert realised == [c.code for c in cells[: cfg.hierarchy.budget]]


def test_families_are_ranked_by_the_zero_cost_record_and_reported_with_accuracy(tmp_path):
    prof = get_profile("tiny")
    refs = hierarchy.pretrain(ArtifactStore(str(tmp_path)), prof, bench_profile(prof.name).nb201_search)
    assert refs["cells"].rows == bench_profile(prof.name).nb201_search.hierarchy.cells
    proxy = bench_profile(prof.name).nb201_search.hierarchy.proxy
    members = hierarchy.family_members(refs["zc"], refs["clusters"], proxy)
    medians = hierarchy.family_medians(refs["zc"], refs["clusters"], proxy)
    assert medians == {k: float(np.median(members[members.cluster == k][proxy])) for k in medians}
    test = accuracy_table()["test_top1"]
    fam = hierarchy.family_accuracy(refs["zc"], refs["clusters"], proxy, test)
    assert sum(f["cells"] for f in fam.values()) == len(members)
    cid = members["cell_id"].iloc[0]
    one = test.iloc[list(nb201_indices(Cell.from_id(cid)))].mean()
    k = int(members["cluster"].iloc[0])
    assert fam[k]["test_max"] >= one >= 0 and fam[k][f"median_{proxy}"] == medians[k]
    sampler, conds = hierarchy.load(refs, bench_profile(prof.name).nb201_search.hierarchy)
    assert conds["family"].detail["family"] == max(medians, key=medians.get)
    assert conds["best_cell"].detail["nb201"] == BEST_CIFAR10 and conds["best_cell"].vector.shape == (4,)
    with pytest.raises(ConfigError, match="has no 'zen' column"):
        hierarchy.family_medians(refs["zc"], refs["clusters"], "zen")


def test_nb201s_own_dedup_key_reproduces_its_6466_unique_architectures():
    """The NB-201 paper reports 6,466 unique topologies; its key folds skip-connects, GraphNet cells keep them."""
    from nasgen.nb201.arch import SPACE_SIZE, unique_expression

    keys = {unique_expression(from_index(i)) for i in range(SPACE_SIZE)}
    assert len(keys) == 6466 and NB201_CELLS > len(keys)
    assert unique_expression(from_index(0)) == "#+#+#"
