"""arch2vec on GraphNet cells (nasgen.arch2vec.graphnet): type and kernel heads, padding, strict decoding,
pre-training that reconstructs held-out cells, and the `arch2vec_graphnet` stage."""

import numpy as np
import pytest
import torch

from nasgen.arch2vec.config import Arch2VecConfig
from nasgen.arch2vec.graphnet import GRAPHNET, OUTPUT_CLASS, PAD_CLASS, decode, encode
from nasgen.arch2vec.model import Arch2Vec
from nasgen.arch2vec.training import train
from nasgen.search.config import DNGOConfig
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import sample_codes

SMALL = Arch2VecConfig(hidden=(64, 64, 16), latent=16, epochs=15, prior_samples=500)


def _cells(n: int, seed: int = 0) -> list[Cell]:
    codes = sample_codes(np.random.default_rng(seed), n, SamplerConfig())
    return [Cell.from_code(int(c)) for c in codes]


def test_every_cell_round_trips_through_the_two_heads():
    cells = _cells(500)
    adj, labels = encode(cells)
    assert labels.shape == (500, 8, 2) and {c.n_ops for c in cells} == set(range(1, 7))
    for c, a, lab in zip(cells, adj, labels):
        assert decode(a, lab) == c
        assert (lab[c.n_nodes :, 0] == PAD_CLASS).all() and lab[c.n_nodes - 1, 0] == OUTPUT_CLASS


def test_decode_rejects_what_is_not_a_cell():
    c = Cell.from_graph(["input", "conv_3", "skip", "output"], [(0, 1), (1, 2), (2, 3)])
    (adj,), (lab,) = encode([c])
    bad_kernel = lab.copy()
    bad_kernel[2, 1] = 2  # skip with a kernel
    edge_to_pad = adj.copy()
    edge_to_pad[1, 5] = 1
    early_output = lab.copy()
    early_output[1, 0] = OUTPUT_CLASS  # output at slot 1: no op before it
    pad_inside = lab.copy()
    pad_inside[1] = (PAD_CLASS, 0)
    for a, lb in ((adj, bad_kernel), (edge_to_pad, lab), (adj, early_output), (adj, pad_inside)):
        assert decode(a, lb) is None
    dead = adj.copy()
    dead[1, 2] = 0  # the conv no longer reaches the output, the skip not reachable
    assert decode(dead, lab) is None


def test_heads_read_type_and_kernel():
    model = Arch2Vec(GRAPHNET.heads, SMALL)
    labels, adj = (torch.from_numpy(t) for t in encode(_cells(4))[::-1])
    logits, _ = model.decode(model.encode(labels, adj)[0])
    assert [lg.shape[-1] for lg in logits] == [13, 4]


def test_pretraining_learns_labels_and_beats_the_empty_graph_on_edges():
    cells = _cells(3000, seed=1)
    model, m = train(cells, SMALL, encoding=GRAPHNET)
    assert m["held_out"] == 300 and m["train_loss"][-1] < m["train_loss"][0]
    pads = np.mean([8 - c.n_nodes for c in cells]) / 8
    assert m["label_accuracy"] > max(pads, 0.75)  # more than "every slot is padding"
    no_edge = 1 - np.mean([len(c.edges) for c in cells]) / 28  # accuracy of predicting no edge anywhere
    assert m["edge_accuracy"] > no_edge
    assert 0.0 <= m["reconstruction"] <= 1.0 and 0.0 <= m["validity"] <= 1.0 and "validity_reference" not in m


def test_stage_embeds_every_cell_of_the_artifact(tmp_path):
    from nasgen.config import get_profile
    from nasgen.stages import arch2vec as stage
    from nasgen.stages import registry
    from nasgen.stages.pipeline import build
    from nasgen.store import ArtifactStore

    store, prof = ArtifactStore(str(tmp_path)), get_profile("tiny")
    cells_ref = build(store, prof, upto="cells")["cells"]
    ref = registry.run("arch2vec_graphnet", store, cells_ref=cells_ref, cfg=prof.arch2vec)
    emb = stage.embeddings(ref)
    assert emb.shape == (prof.cells.n, prof.arch2vec.latent) and ref.rows == prof.cells.n
    assert stage.load_model(ref).heads == GRAPHNET.heads


def _cell_search(method, cells, table, constraint, budget, cfg):
    """One seeded run of ``method`` over alpha_x of ``cells`` (both encoders' tables are ``table``)."""
    from nasgen.config import get_profile
    from nasgen.search.config import StrategyConfig
    from nasgen.search.graphnet import GraphNetSpace, MacroObjective
    from nasgen.search.objective import ZCObjective
    from nasgen.search.strategies import run

    zc = get_profile("smoke").hl_evo.zc
    space = GraphNetSpace(zc.input_shape, zc.classes, cells=cells, tables={"arch2vec": table, "cate": table})
    objective = MacroObjective(ZCObjective(zc), constraint, budget, method)
    run(method, space, objective, np.random.default_rng(0), StrategyConfig(latent=cfg))
    return objective.result


@pytest.mark.parametrize("method", ["arch2vec_rl", "arch2vec_bo", "cate_dngo_ls"])
def test_cell_search_spends_its_budget_on_distinct_networks_within_the_constraint(method):
    from nasgen.search.config import ConstraintConfig, LatentSearchConfig

    cells = _cells(40, seed=2)
    table = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    level = ConstraintConfig(max_params=300_000)
    cfg = LatentSearchConfig(episode=3, bo_init=3, bo_top=2, dngo=DNGOConfig(hidden=8, epochs=3))
    res = _cell_search(method, cells, table, level, 6, cfg)
    assert res.evaluations == 6 and len({r["arch_id"] for r in res.history}) == 6
    assert all(r["params"] <= 300_000 and r["positions"] == 17 for r in res.history)
    assert res.best.fitness == max(r["fitness"] for r in res.history)
    assert res.discarded_constraint == sum(r > 300_000 for r in _alpha_x_params(cells))  # dropped, not scored


def test_cell_search_names_an_impossible_constraint():
    from nasgen.errors import ConfigError
    from nasgen.search.config import ConstraintConfig, LatentSearchConfig

    cells, table = _cells(5), np.zeros((5, 4), np.float32)
    with pytest.raises(ConfigError, match="no architecture of the graphnet pool of arch2vec is admitted"):
        _cell_search("arch2vec_rl", cells, table, ConstraintConfig(max_params=10), 3, LatentSearchConfig())


def _alpha_x_params(cells):
    from nasgen.config import get_profile
    from nasgen.space.cost import macro_cost
    from nasgen.space.macro import reference_macro

    zc = get_profile("smoke").hl_evo.zc
    return [macro_cost(reference_macro(c, zc.input_shape, zc.classes)).params for c in cells]
