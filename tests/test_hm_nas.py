"""HM-NAS (dissertation ch. 2): the mixed op and edge weights (Eqs. 2.1-2.2), the straight-through masks
(Eqs. 2.3-2.4), derivation into each space, fine-tuning from the supernet's weights, the stages and the
strategy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nasgen.config import get_profile
from nasgen.errors import ConfigError, CorruptArtifactError, InvalidCellError
from nasgen.hm_nas.config import SupernetConfig
from nasgen.hm_nas.derive import (
    graphnet_from_masks,
    graphnet_heuristic,
    graphnet_macro,
    nb201_from_masks,
    nb201_heuristic,
)
from nasgen.hm_nas.masks import HierarchicalMasks, masked_weight_names
from nasgen.hm_nas.mixed import MixedOp, binarize, edge_weights, op_weights
from nasgen.hm_nas.supernet import build_supernet, graphnet_edges, target_groups
from nasgen.hm_nas.training import (
    FixedMasks,
    Masked,
    apply_masks,
    arch_update_probability,
    finetune,
    fix_weights,
    learn_masks,
    saved_bytes,
    train_supernet,
)
from nasgen.nb201.arch import EDGES, OPS, check
from nasgen.space.canonical import MAX_OPS
from nasgen.space.network import build_network
from nasgen.space.ops import build_op, op_by_name
from nasgen.train.config import DatasetConfig

SYNTHETIC = DatasetConfig(name="synthetic", val_fraction=0.25)
SMALL = dict(subset=64, epochs=2, warmup_epochs=1, batch_size=16, nodes=3, candidates=("skip", "conv_3", "sep_conv_3"),
             layers=((8, 1), (16, 2)), nb201_channels=8, dataset=SYNTHETIC)  # fmt: skip


def small(space: str = "graphnet", **kw) -> SupernetConfig:
    return SupernetConfig(space=space, **{**SMALL, **kw})


def images(n: int = 48, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 16, 16, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    return torch.utils.data.TensorDataset(x, y)


# --- Eqs. 2.1-2.2 -----------------------------------------------------------------------------------------------


def test_a_mixed_op_with_one_hot_alpha_is_the_chosen_op():
    torch.manual_seed(0)
    ops = [build_op(op_by_name(n).index, 8) for n in ("conv_3", "sep_conv_3", "avg_pool_3")]
    mixed = MixedOp(ops).eval()
    x = torch.randn(2, 8, 6, 6)
    for k in range(3):
        alpha = torch.full((3,), -math.inf)
        alpha[k] = 0.0  # softmax exactly one-hot
        assert torch.equal(mixed(x, op_weights(alpha)), ops[k](x))


def test_a_mixed_op_is_the_softmax_weighted_sum_and_a_masked_op_contributes_nothing():
    torch.manual_seed(1)
    ops = [build_op(op_by_name(n).index, 4) for n in ("conv_1", "skip")]
    mixed, x = MixedOp(ops).eval(), torch.randn(1, 4, 5, 5)
    alpha = torch.tensor([0.3, -0.2])
    w = torch.softmax(alpha, 0)
    torch.testing.assert_close(mixed(x, op_weights(alpha)), w[0] * ops[0](x) + w[1] * x)
    torch.testing.assert_close(mixed(x, op_weights(alpha, torch.tensor([0.0, 1.0]))), w[1] * x)


def test_edge_weights_are_a_softmax_within_each_target_node():
    edges = graphnet_edges(3)
    assert edges == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 4))
    groups = target_groups(edges)
    assert groups == [(0, 1), (1, 3), (3, 6), (6, 10)]
    beta = torch.randn(len(edges))
    w = edge_weights(beta, groups)
    for a, b in groups:
        torch.testing.assert_close(w[a:b].sum(), torch.tensor(1.0))
        torch.testing.assert_close(w[a:b], torch.softmax(beta[a:b], 0))
    assert target_groups(EDGES) == [(0, 1), (1, 3), (3, 6)]  # NB-201's string order is by target node


# --- Eq. 2.4: the straight-through binariser --------------------------------------------------------------------


def test_the_binariser_thresholds_forward_and_passes_gradients_straight_through():
    real = torch.tensor([0.001, 0.005, 0.006, 0.02], requires_grad=True)
    hard = binarize(real, 0.005)
    assert hard.tolist() == [0.0, 0.0, 1.0, 1.0]  # H(m - tau): 0 at the threshold itself
    (hard * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert real.grad.tolist() == [1.0, 2.0, 3.0, 4.0]  # d/dm of the binary mask's use, unchanged


def test_the_masks_receive_gradients_through_the_masked_supernet_and_all_ones_masks_change_nothing():
    torch.manual_seed(0)
    net = build_supernet(small(), 3, 4).eval()
    masks = HierarchicalMasks(net, init=1e-2, threshold=5e-3)
    x = torch.randn(4, 3, 16, 16)
    torch.testing.assert_close(masks(net, x), net(x))  # every mask above tau: the supernet itself
    masks(net, x).sum().backward()
    assert masks.ops.grad.abs().sum() > 0 and masks.edges.grad.abs().sum() > 0
    names = masked_weight_names(net)
    assert names and all(masks.weights[n.replace(".", "__")].grad is not None for n in names)
    assert all(p.grad is None or p.grad.abs().sum() > 0 for p in [net.alpha])  # alpha not frozen here: also a grad


def test_a_mask_below_tau_removes_its_op_edge_or_weight():
    torch.manual_seed(0)
    net = build_supernet(small(), 3, 4).eval()
    masks = HierarchicalMasks(net, init=1e-2, threshold=5e-3)
    with torch.no_grad():
        masks.ops.fill_(-1.0)
        masks.ops[:, 0] = 1.0  # every node keeps op 0 only (skip)
    x = torch.randn(2, 3, 16, 16)
    ops = torch.zeros_like(net.alpha)
    ops[:, 0] = 1.0
    torch.testing.assert_close(masks(net, x), net(x, op_mask=ops))
    name = masked_weight_names(net)[0]
    with torch.no_grad():
        masks.weights[name.replace(".", "__")].fill_(0.0)
    assert masks.kept()[name].sum() == 0


# --- derivation: valid in its space -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_masks_derive_a_valid_graphnet_cell_or_say_why_not(nodes, seed):
    cfg = SupernetConfig(nodes=nodes)
    g = torch.Generator().manual_seed(seed)
    alpha = torch.randn(nodes, len(cfg.candidates), generator=g)
    ops = (torch.rand(nodes, len(cfg.candidates), generator=g) < 0.4).float()
    edges = (torch.rand(len(graphnet_edges(nodes)), generator=g) < 0.6).float()
    try:
        cell = graphnet_from_masks(alpha, ops, edges, cfg)
    except InvalidCellError as e:
        assert "no operation on an input -> output path" in str(e)
        return
    assert 1 <= len(cell.ops) <= MAX_OPS
    kept_ops = {cfg.candidates[k] for j in range(nodes) for k in range(len(cfg.candidates)) if ops[j, k]}
    assert {op_by_name(n).index for n in kept_ops} >= set(cell.ops)
    macro = graphnet_macro(cell, cfg, (1, 28, 28), 10)
    assert build_network(macro)(torch.randn(1, 1, 28, 28)).shape == (1, 10)


def test_a_node_keeping_two_ops_becomes_two_parallel_op_nodes():
    cfg = SupernetConfig(nodes=1, candidates=("conv_3", "sep_conv_3", "skip"))
    ops = torch.tensor([[1.0, 1.0, 0.0]])
    edges = torch.ones(len(graphnet_edges(1)))  # (0, 1), (0, 2), (1, 2)
    cell = graphnet_from_masks(torch.zeros(1, 3), ops, edges, cfg)
    names = sorted(c for c in cell.to_dict()["nodes"] if c not in ("input", "output"))
    assert names == ["conv_3", "sep_conv_3"]
    assert set(cell.edges) == {(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)}  # both fed by the input, both to the output


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_masks_and_the_heuristic_derive_valid_nb201_architectures(seed):
    g = torch.Generator().manual_seed(seed)
    alpha, beta = torch.randn(6, 5, generator=g), torch.randn(6, generator=g)
    ops, edges = (torch.rand(6, 5, generator=g) < 0.5).float(), (torch.rand(6, generator=g) < 0.7).float()
    arch = nb201_from_masks(alpha, ops, edges)
    assert check(arch) == arch
    for e in range(6):
        if arch[e] != "none":
            k = OPS.index(arch[e])
            assert edges[e] and ops[e, k] and all(alpha[e, k] >= alpha[e, j] for j in range(1, 5) if ops[e, j])
    for multi in (True, False):
        h = nb201_heuristic(alpha, beta, multi)
        assert check(h) == h and h[0] != "none" and h[1] != "none" and h[2] != "none"  # nodes 1 and 2: <= 2 inputs
        assert sum(o == "none" for o in h[3:]) == 1  # node 3 keeps its 2 most confident of 3 inputs


def test_the_heuristic_keeps_the_likeliest_op_and_the_two_strongest_inputs():
    alpha = torch.zeros(6, 5)
    alpha[:, OPS.index("nor_conv_3x3")] = 2.0
    alpha[:, OPS.index("none")] = 5.0  # DARTS ignores `none` when choosing the op
    beta = torch.zeros(6)
    beta[3] = -3.0  # edge (0, 3): the weakest input of node 3 (multi-level)
    arch = nb201_heuristic(alpha, beta, multi=True)
    assert arch == ("nor_conv_3x3",) * 3 + ("none", "nor_conv_3x3", "nor_conv_3x3")
    cfg = SupernetConfig(nodes=3, candidates=("skip", "conv_3"), encoding="multi")
    alpha = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    beta = torch.zeros(len(graphnet_edges(3)))
    beta[3] = -5.0  # (0, 3): node 3 keeps (1, 3) and (2, 3)
    cell = graphnet_heuristic(alpha, beta, cfg)
    assert cell.to_dict()["nodes"] == ["input", "conv_3", "skip", "conv_3", "output"]
    assert (0, 3) not in cell.edges and {(1, 3), (2, 3), (1, 4), (2, 4), (3, 4)} <= set(cell.edges)


# --- the loops ----------------------------------------------------------------------------------------------------


def test_arch_updates_become_rarer_and_stop():
    p = [arch_update_probability(t, 10) for t in range(12)]
    assert p[0] == 1.0 and p[10] == 0.0 and p[11] == 0.0 and all(a >= b for a, b in zip(p, p[1:]))


def test_bilevel_training_learns_alpha_and_beta_only_on_their_images_after_the_warm_up():
    cfg = small(epochs=2, warmup_epochs=1)
    net = build_supernet(cfg, 3, 4)
    a0, b0 = net.alpha.detach().clone(), net.beta.detach().clone()
    rows = train_supernet(net, images(48, 0), images(16, 1), cfg)
    assert rows[0]["arch_updates"] == 0 and rows[1]["arch_updates"] > 0
    assert not torch.equal(net.alpha, a0) and not torch.equal(net.beta, b0)
    single = build_supernet(small(encoding="single"), 3, 4)
    b0 = single.beta.detach().clone()
    train_supernet(single, images(48, 0), images(16, 1), small(encoding="single"))
    assert torch.equal(single.beta, b0) and single.arch_parameters() == [single.alpha]


def test_fine_tuning_starts_from_the_supernet_weights_and_keeps_masked_weights_at_zero():
    torch.manual_seed(0)
    cfg, hm = small(), get_profile("tiny").hm_nas
    net = build_supernet(cfg, 3, 4)
    train_supernet(net, images(48, 0), images(16, 1), cfg)
    masks, rows = learn_masks(net, images(48, 2), hm, 16, 0)
    assert len(rows) == hm.mask_epochs and 0 <= rows[-1]["weights_kept"] <= 1
    kept = masks.kept()
    name = masked_weight_names(net)[1]
    kept[name][0] = 0.0  # at least one masked weight
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    searched = apply_masks(net, kept)
    module, attr = name.rsplit(".", 1)
    start = getattr(net.get_submodule(module), attr)
    torch.testing.assert_close(start, before[name] * kept[name])  # the supernet's weights, masked
    assert isinstance(searched, FixedMasks)
    finetune(searched, images(48, 2), hm, 16, 0)
    fix_weights(net)
    w = dict(net.named_parameters())[name]
    assert torch.all(w[kept[name] == 0] == 0) and not torch.equal(w, before[name])  # masked stay 0, the rest moved
    assert torch.equal(net.alpha, before["alpha"]) and torch.equal(net.beta, before["beta"])  # frozen


def test_masked_evaluation_sees_the_masks():
    net = build_supernet(small(), 3, 4).eval()
    masks = HierarchicalMasks(net, 1e-2, 5e-3)
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(Masked(net, masks)(x), masks(net, x))


def test_activation_memory_is_counted_and_grows_with_the_batch():
    net = build_supernet(small(), 3, 4)
    a = saved_bytes(net, torch.randn(4, 3, 16, 16), torch.zeros(4, dtype=torch.long))
    b = saved_bytes(net, torch.randn(8, 3, 16, 16), torch.zeros(8, dtype=torch.long))
    assert 0 < a < b and all(p.grad is None for p in net.parameters())


def test_a_bad_config_is_named():
    with pytest.raises(ValidationError, match="unknown operation 'conv_9'"):
        SupernetConfig(candidates=("conv_9",))
    with pytest.raises(ValidationError, match="warmup_epochs 3 leaves no epoch"):
        SupernetConfig(epochs=3, warmup_epochs=3)
    with pytest.raises(ValidationError, match="layers are"):
        SupernetConfig(layers=((12, 1),))


# --- the stages and the strategy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("space", ["graphnet", "nb201"])
def test_the_stages_train_mask_derive_and_fine_tune_once(tmp_path, space):
    from nasgen.stages import registry
    from nasgen.store import ArtifactStore, store_of

    st = ArtifactStore(str(tmp_path))
    cfg = small(space)
    ref = registry.run("supernet", st, cfg=cfg)
    s = store_of(ref).read_json(ref, "summary.json")
    assert len(s["rows"]) == cfg.epochs and s["activation_bytes_per_batch"] > 0 and 0 <= s["val_top1"] <= 1
    assert ("nb201" if space == "nb201" else "cell") in s["heuristic"]
    hm = get_profile("tiny").hm_nas
    h = registry.run("hm_nas", st, supernet_ref=ref, cfg=hm)
    assert registry.run("hm_nas", st, supernet_ref=ref, cfg=hm) == h  # cached
    out = store_of(h).read_json(h, "summary.json")
    d = out["derived"]
    if space == "nb201":
        assert check(tuple(p.split("~")[0] for node in d["nb201"].split("+") for p in node.strip("|").split("|")))
    else:
        from nasgen.space.macro import MacroArch

        macro = MacroArch.from_dict(d["macro"])
        assert [(x.channels, x.stride) for x in macro.layers] == list(cfg.layers)
    assert set(out["finetuned"]) == {"val_top1", "test_top1"} and out["supernet"]["val_top1"] == s["val_top1"]
    assert out["nonzero_weights"] <= s["weights"]


def test_a_corrupt_supernet_and_a_dataset_without_validation_are_named(tmp_path):
    from nasgen.stages import registry, supernet
    from nasgen.store import ArtifactStore

    st = ArtifactStore(str(tmp_path))
    with pytest.raises(ConfigError, match="validation split"):
        registry.run("supernet", st, cfg=small(dataset=DatasetConfig(name="synthetic")))
    ref = registry.run("supernet", st, cfg=small(epochs=2))
    st.fs.pipe_file(st.file_path("supernet", ref.key, supernet.WEIGHTS), b"\x00" * 64)
    with pytest.raises(CorruptArtifactError):
        supernet.load_supernet(ref)


def test_the_strategy_asks_the_objective_about_the_derived_architecture_once():
    from nasgen.nb201.oracle import Oracle
    from nasgen.nb201.space import NB201Space
    from nasgen.search.strategies import run

    seen = []

    def one_shot(seed: int):
        seen.append(seed)
        return 7, {"seconds": 1.0}

    values = np.arange(15_625, dtype=float)
    oracle = Oracle.from_table(values, 5)
    report = run("hm_nas", NB201Space(one_shot=one_shot), oracle, np.random.default_rng(0))
    assert oracle.history == [(7, 7.0)] and report == {"seconds": 1.0} and len(seen) == 1
    with pytest.raises(ConfigError, match=r"needs \['one_shot'\]"):
        run("hm_nas", NB201Space(), Oracle.from_table(values, 5), np.random.default_rng(0))


# --- the benchmark ------------------------------------------------------------------------------------------------


def test_the_benchmark_narrows_an_over_budget_derivation_and_reads_the_table1_picks(tmp_path):
    import json

    from benchmarks.hm_nas import _beside, _graphnet_row, _nb201_row
    from nasgen.nb201.data import accuracy_table
    from nasgen.search.config import ConstraintConfig
    from nasgen.space.cost import macro_cost

    cfg = SupernetConfig(layers=((64, 1), (128, 2)))
    cell = {"nodes": ["input", "conv_3", "conv_5", "output"], "edges": [[0, 1], [1, 2], [2, 3]]}
    trained = []
    row = _graphnet_row({"cell": cell}, cfg, ConstraintConfig(max_params=100_000, max_flops=15_000_000),
                        lambda m: trained.append(m) or {"reduced_val_top1": 0.5})  # fmt: skip
    assert row["params"] > 100_000 and 0 < row["width_factor"] < 1 and row["fitted_params"] <= 100_000
    assert macro_cost(trained[0]).params == row["fitted_params"] and row["reduced_val_top1"] == 0.5
    r = _nb201_row({"nb201": "x", "nb201_index": 0}, accuracy_table())
    assert r["cifar10_test_top1"] == accuracy_table().loc[0, "test_top1"]
    for seed, v in ((0, 0.8), (1, 0.9)):
        (tmp_path / f"t{seed}.json").write_text(
            json.dumps(
                {
                    "budgets": {
                        "b1": {
                            "summary": {
                                "hl_evo": {"best_reduced_val_top1": {"mean": v}},
                                "raw_evo": {"best_reduced_val_top1": None},
                            }
                        }
                    }
                }
            )
        )
    b = _beside(str(tmp_path / "t*.json"))
    assert b["best_reduced_val_top1"] == {"hl_evo": pytest.approx({"mean": 0.85, "std": 0.05, "n": 2})}


@pytest.mark.slow
def test_the_benchmark_runs_at_the_tiny_profile(tmp_path):
    from benchmarks.hm_nas import run

    out = run(profile="tiny", store=str(tmp_path), plot=str(tmp_path / "h.png"))
    assert set(out["spaces"]) == {"graphnet", "nb201"} and (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    for space, seeds in out["spaces"].items():
        d = seeds[0]["derivations"]
        assert set(d) == {"masks (HM-NAS)", "multi-level + DARTS heuristic", "single-level + DARTS heuristic"}
        key = "cifar10_test_top1" if space == "nb201" else "reduced_val_top1"
        assert all(0 <= r[key] <= 100 for r in d.values())
