"""Learning curves (NAS-Bench-x11): SVD round trip, the surrogate on curves of known structure, the
dissertation's metrics against hand-computed values, LCE, the curve table stage and the simulated searches."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nasgen.curves import multifidelity, surrogate
from nasgen.curves.config import LCEConfig, MultiFidelityConfig, SurrogateConfig
from nasgen.curves.encoding import NAMES, encode
from nasgen.curves.lce import LcSVR, few_epochs, wpm_extrapolate
from nasgen.curves.metrics import kendall_pq, kl_divergence, mean_curve_metrics, r2
from nasgen.curves.svd import CurveSVD, reconstruction_mse
from nasgen.curves.table import check_one_protocol, features, split
from nasgen.errors import ConfigError
from nasgen.search.config import ConstraintConfig
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch
from nasgen.space.network import build_network
from nasgen.stages import curves as curves_stage
from nasgen.stages import trained as trained_stage
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore
from nasgen.train.config import DatasetConfig, TrainRecipe
from nasgen.train.datasets import load_dataset
from nasgen.train.loop import train_network
from nasgen.zc.config import ZCConfig

CELL = Cell.from_graph(["input", "conv_3", "skip", "output"], [(0, 1), (1, 2), (0, 2), (2, 3)])


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(2, 12)), elements=st.floats(-1, 1)))
def test_svd_round_trip_is_exact_at_full_rank(s):
    svd = CurveSVD.fit(s, min(s.shape))
    assert np.allclose(svd.decompress(svd.compress(s)), s, atol=1e-9)
    assert svd.compress(s).shape == (s.shape[0], min(s.shape))


def test_svd_truncation_keeps_a_rank_k_matrix_and_refuses_bad_input():
    rng = np.random.default_rng(0)
    low = rng.normal(size=(30, 2)) @ rng.normal(size=(2, 10))  # rank 2
    svd = CurveSVD.fit(low, 2)
    assert np.allclose(svd.decompress(svd.compress(low)), low)
    mse = reconstruction_mse(low, low, [1, 2, 3])
    assert mse[1] > 1e-6 and mse[2] < 1e-20 and mse[3] < 1e-20
    with pytest.raises(ConfigError, match="k=11"):
        CurveSVD.fit(low, 11)
    with pytest.raises(ConfigError, match="finite"):
        CurveSVD.fit(np.full((3, 3), np.nan), 1)


def test_kendall_and_r2_match_hand_computed_values():
    assert kendall_pq([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)  # 2 concordant, 1 discordant
    assert kendall_pq([1, 1, 2], [1, 2, 3]) == 1.0  # the tied pair is neither
    assert kendall_pq([3, 2, 1], [1, 2, 3]) == -1.0
    assert r2([1, 2, 3], [1, 2, 3]) == 1.0
    assert r2([2, 2, 2], [1, 2, 3]) == pytest.approx(0.0)  # the mean: SS_res = SS_tot
    assert r2([1, 2, 4], [1, 2, 3]) == pytest.approx(1 - 1 / 2)
    m = mean_curve_metrics(np.array([[1, 1.0], [2, 3.0], [3, 2.0]]), np.array([[1, 1.0], [2, 2.0], [3, 3.0]]))
    assert m["r2_avg"] == pytest.approx((1 + (1 - 2 / 2)) / 2) and m["kt_final"] == pytest.approx(1 / 3)
    assert m["kt_avg"] == pytest.approx((1 + 1 / 3) / 2) and m["r2_final"] == pytest.approx(0.0)


def test_kl_is_the_dissertations_formula():
    t = np.array([[0.0, 1.0], [2.0, 1.5]])  # epoch 0: mean 1, var 2; epoch 1: mean 1.25, var 0.125
    p = np.array([[0.0, 1.0], [4.0, 1.5]])  # epoch 0: mean 2, var 8; epoch 1 as the truth
    first = 0.5 * (math.log(8 / 2) - 1 + (1 - 2) ** 2 / 8 + 2 / 8)
    out = kl_divergence(t, p)
    assert out["final"] == pytest.approx(0.0) and out["avg"] == pytest.approx(first / 2)
    # the matrix form with diagonal covariances, E_max = 2
    st_, sp = np.diag(t.var(0, ddof=1)), np.diag(p.var(0, ddof=1))
    d = t.mean(0) - p.mean(0)
    matrix = (np.log(np.linalg.det(sp) / np.linalg.det(st_)) - 2 + d @ np.linalg.inv(sp) @ d
              + np.trace(np.linalg.inv(sp) @ st_)) / (2 * 2)  # fmt: skip
    assert out["avg"] == pytest.approx(matrix)
    with pytest.raises(ConfigError, match="two true"):
        kl_divergence(t[:1], p)


def synthetic_curves(n=120, epochs=12, noise=0.01, seed=0):
    """Curves c * (1 - exp(-t / tau)) + noise: c and tau are functions of the two features."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(n, 2))
    c, tau = 0.6 + 0.3 * x[:, 0], 1.0 + 3.0 * x[:, 1]
    t = np.arange(1, epochs + 1)
    mean = c[:, None] * (1 - np.exp(-t[None] / tau[:, None]))
    return x, mean, mean + rng.normal(0, noise, size=mean.shape)


@pytest.mark.parametrize("model", ["lgb", "mlp", "gp"])
def test_the_surrogate_learns_curves_of_known_structure(model):
    x, mean, y = synthetic_curves()
    cfg = SurrogateConfig(model=model, noise="std", components=3, lgb={"n_estimators": 200})
    s = surrogate.fit(x[:90], y[:90], cfg)
    m = mean_curve_metrics(s.mean(x[90:]), mean[90:])
    assert m["r2_final"] > 0.8 and m["kt_final"] > 0.6, m
    assert np.allclose(s.sigma, 0.01, atol=0.005)  # the std noise model finds the noise put in


def test_noise_models_sample_curves_of_the_right_shape_and_scale():
    x, mean, y = synthetic_curves(noise=0.02)
    rng = np.random.default_rng(1)
    for noise in ("std", "window", "gkde"):
        s = surrogate.fit(x, y, SurrogateConfig(model="gp", noise=noise, components=3))
        draws = s.sample(x[:4], 200, rng)
        assert draws.shape == (200, 4, 12)
        assert 0.01 < draws.std(axis=0).mean() < 0.04, noise
    with pytest.raises(ConfigError, match="more curves"):
        surrogate.fit(x[:8], y[:8], SurrogateConfig(model="gp", noise="gkde", components=3))
    with pytest.raises(ConfigError, match="needs more than 6 curves"):
        surrogate.fit(x[:5], y[:5], SurrogateConfig())


def test_window_std_is_the_windows_sample_std():
    r = np.array([[0.0, 1.0, 0.0, 1.0, 5.0]])
    w = surrogate.window_std(r, 3)
    assert w[0, 0] == pytest.approx(np.std([0, 1, 0], ddof=1)) and w[0, 2] == pytest.approx(np.std([1, 0, 1], ddof=1))
    assert w[0, 4] == pytest.approx(np.std([0, 1, 5], ddof=1))


def test_lcsvr_extrapolates_curves_whose_end_follows_from_their_start():
    x, mean, y = synthetic_curves(n=150, noise=0.002)
    cfg = LCEConfig(few_fraction=0.25)
    model = LcSVR.fit(x[:100], y[:100], cfg)
    assert model.few == 3
    pred = model.predict(x[100:], y[100:])
    assert np.corrcoef(pred, mean[100:, -1])[0, 1] > 0.95
    with pytest.raises(ConfigError, match="extrapolates from 3"):
        model.predict(x[:2], y[:2, :2])


def test_wpm_extrapolates_a_power_law_curve():
    t = np.arange(1, 21)
    curve = 0.9 - 0.5 * t**-0.7
    pred = wpm_extrapolate(curve[:5], 20, LCEConfig())
    assert abs(pred - curve[-1]) < 0.03 and pred > curve[4]
    assert wpm_extrapolate(np.array([0.3]), 20, LCEConfig()) == 0.3  # nothing fits one point: the last value


def test_few_epochs_bounds():
    assert few_epochs(15, 0.2) == 3 and few_epochs(10, 0.01) == 1 and few_epochs(3, 0.99) == 2
    with pytest.raises(ConfigError, match="cannot be extrapolated"):
        few_epochs(1, 0.2)


def test_encoding_reads_size_shape_and_cell_make_up():
    m = MacroArch.from_triples([(CELL, 16, 1), (CELL, 32, 2)], (1, 28, 28), 10)
    e = dict(zip(NAMES, encode(m)))
    cost = macro_cost(m)
    assert e["log10_params"] == pytest.approx(math.log10(cost.params)) and e["positions"] == 2 and e["stride2"] == 1
    assert e["log2_last_channels"] == 5 and e["mean_op_nodes"] == 2 and e["mean_edges"] == 4
    assert sum(v for k, v in e.items() if k.startswith("type_")) == pytest.approx(1.0)


def _table(archs_seeds):
    rows = []
    for a, seeds in archs_seeds.items():
        rows += [{"arch_id": a, "seed": s, "recipe": "{}", "dataset": "{}", "epochs": 3} for s in seeds]
    return pd.DataFrame(rows)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=4, max_size=30), st.integers(0, 5))
def test_split_keeps_networks_whole_and_holds_out_every_multi_seed_network(seeds, seed):
    t = _table({f"a{i}": range(k) for i, k in enumerate(seeds)})
    if sum(k > 1 for k in seeds) >= len(seeds):
        with pytest.raises(ConfigError):
            split(t, 0.2, seed)
        return
    train, test = split(t, 0.2, seed)
    assert not set(t["arch_id"][train]) & set(t["arch_id"][test])
    assert {f"a{i}" for i, k in enumerate(seeds) if k > 1} <= set(t["arch_id"][test])


def test_one_protocol_per_table():
    t = _table({"a": [0], "b": [0]})
    assert check_one_protocol(t) == ({}, {})
    t.loc[1, "recipe"] = json.dumps({"epochs": 4})
    with pytest.raises(ConfigError, match="one recipe"):
        check_one_protocol(t)


def test_partial_run_is_the_prefix_of_the_full_run_and_test_every_skips_the_test_set():
    ds = load_dataset("synthetic", synthetic_shape=(3, 8, 8), synthetic_classes=4, synthetic_samples=48)
    from nasgen.train.datasets import with_validation

    ds = with_validation(ds, 0.25, 0)
    full = TrainRecipe(epochs=4, batch_size=16, lr=0.05, warmup_epochs=1, test_every=4)
    net = MacroArch.from_triples([(CELL, 8, 1), (CELL, 16, 2)], (3, 8, 8), 4)

    def rows(recipe):
        torch.manual_seed(0)
        return train_network(build_network(net), ds, recipe)

    whole, part = rows(full), rows(full.model_copy(update={"stop_after": 2}))
    assert len(part) == 2 and [r["val_top1"] for r in part] == [r["val_top1"] for r in whole[:2]]
    assert [r["train_loss"] for r in part] == [r["train_loss"] for r in whole[:2]]
    assert math.isnan(whole[0]["test_top1"]) and not math.isnan(whole[-1]["test_top1"])
    assert not math.isnan(part[-1]["test_top1"])  # a partial run is tested after its last epoch


def test_new_recipe_fields_leave_earlier_trained_keys_unchanged():
    net = MacroArch.from_triples([(CELL, 8, 1)], (3, 8, 8), 4)
    data, recipe = DatasetConfig(name="synthetic"), TrainRecipe(epochs=3)
    assert not {"test_every", "stop_after"} & set(trained_stage.recipe_config(recipe))
    k = trained_stage.key(net, data, recipe)
    assert trained_stage.key(net, data, recipe.model_copy(update={"stop_after": 1})) != k
    assert trained_stage.key(net, data, recipe.model_copy(update={"test_every": 3})) != k


def test_curve_table_stage_gathers_runs_with_encoding_and_zc(tmp_path):
    store = ArtifactStore(str(tmp_path))
    data = DatasetConfig(name="synthetic", val_fraction=0.25)
    recipe = TrainRecipe(epochs=3, batch_size=32, lr=0.05, warmup_epochs=0)
    nets = [MacroArch.from_triples([(CELL, c, 1)], (3, 16, 16), 4) for c in (8, 16)]
    refs = [run_stage("trained", store, macro=n, dataset=data, recipe=recipe.model_copy(update={"seed": s}))
            for n in nets for s in (0, 1)]  # fmt: skip
    zc = ZCConfig(in_channels=3, resolution=16, classes=4, batch_size=8, proxies=("naswot", "synflow"))
    ref = run_stage("curves", store, trained_refs=refs, zc=zc)
    t = curves_stage.table(ref)
    assert len(t) == 4 and t["arch_id"].nunique() == 2 and sorted(t["seed"]) == [0, 0, 1, 1]
    assert all(len(v) == 3 for v in t["val_top1"]) and len(t["encoding"][0]) == len(NAMES)
    x = features(t, ("naswot", "synflow"))
    assert x.shape == (4, len(NAMES) + 2) and np.isfinite(x).all()
    assert t.groupby("arch_id")["zc_naswot"].nunique().max() == 1  # one record per network
    assert run_stage("curves", store, trained_refs=list(reversed(refs)), zc=zc) == ref  # order is not the key
    with pytest.raises(ConfigError, match="no ZC column"):
        features(t, ("tcet",))
    with pytest.raises(ConfigError, match="gathers `trained`"):
        run_stage("curves", store, trained_refs=[ref], zc=zc)

    # lce selection: partial runs of the table's recipe (cached `trained` artifacts), extrapolated
    runs = []

    def partial_run(macro, dataset, recipe):
        runs.append(recipe.stop_after)
        return run_stage("trained", store, macro=macro, dataset=dataset, recipe=recipe)

    for method in ("svr", "wpm"):
        cfg = LCEConfig(method=method, zc=("naswot", "synflow"), few_fraction=0.34)
        predict = curves_stage.lce_extrapolator(ref, cfg, partial_run)
        assert 0 <= predict(nets[0]) <= 1
    assert runs == [1, 1]
    from nasgen.train.config import SelectionConfig
    from nasgen.train.selection import Ranked, select

    ranked = [Ranked(n, t) for n, t in zip(nets, (2.0, 1.0))]
    guess = {nets[0].arch_id: 0.4, nets[1].arch_id: 0.7}
    chosen, rows = select(ranked, SelectionConfig(strategy="lce", top_n=2), None, lambda m: guess[m.arch_id])
    assert chosen == nets[1] and [r["predicted_final_val_top1"] for r in rows] == [0.4, 0.7]
    with pytest.raises(ConfigError, match="selection.curves"):
        select(ranked, SelectionConfig(strategy="lce"), None)


class _FlatSurrogate:
    """A surrogate stand-in whose curves are known: final value = log params / 10, rising linearly."""

    def mean(self, x):
        return np.outer(x[:, 0] / 10, np.linspace(0.2, 1, 5))

    def sample(self, x, draws, rng):
        return np.repeat(self.mean(x)[None], draws, axis=0)


def test_simulated_training_counts_epochs_once_per_architecture():
    sim = multifidelity.SimulatedTraining(_FlatSurrogate(), np.random.default_rng(0))
    m = MacroArch.from_triples([(CELL, 16, 1)], (1, 28, 28), 10)
    sim.train(m, 2)
    sim.train(m, 5)
    sim.train(m, 3)
    assert sim.spent == 5 and sim.truth(m) == pytest.approx(encode(m)[0] / 10)


def test_lce_stops_networks_predicted_below_the_bar_and_the_searches_spend_their_budget():
    cfg = MultiFidelityConfig(budget_epochs=100, warmup=2, top_fraction=0.5, rea={"population": 4, "sample": 2},
                              local_neighbours=3)  # fmt: skip
    constraint = ConstraintConfig(max_params=10**7, max_flops=10**10)
    space = multifidelity.PooledSpace((1, 8, 8), 10)
    sim = multifidelity.SimulatedTraining(_FlatSurrogate(), np.random.default_rng(0))
    score = multifidelity.Evaluator(sim, constraint, 5, 1, lambda m, partial: float(partial[-1] * 5), cfg)
    rng = np.random.default_rng(0)
    nets = [space.sample(rng) for _ in range(12)]
    [score.query(n) for n in nets]
    assert len(score.finals) < 12  # some were stopped at E_few
    assert sim.spent == 5 * len(score.finals) + 1 * (12 - len(score.finals)) - 0
    for algo in ("rea", "local_search"):
        for fidelity in ("single", "wpm"):
            out = multifidelity.search(
                algo, fidelity, space, constraint, _FlatSurrogate(), None, 5, LCEConfig(), cfg, seed=1
            )
            assert out["epochs"] >= cfg.budget_epochs and out["final_truth"] is not None
            assert [t for t, _ in out["trace"]] == sorted(t for t, _ in out["trace"])


def test_the_benchmark_analysis_runs_on_a_table_of_known_curves():
    """bench curves' analysis end to end on a synthetic table of real B1 networks whose curves follow their size."""
    from benchmarks.curve_analysis import analyse, plot_png
    from nasgen.config import resolve_profile
    from nasgen.space.config import SamplerConfig
    from nasgen.space.sampling import random_macro

    rng = np.random.default_rng(0)
    nets = [random_macro(rng, SamplerConfig(), 3, (8, 16, 24), (1, 28, 28), 10) for _ in range(40)]
    rows = []
    for i, m in enumerate(nets):
        e = encode(m)
        for s in range(3 if i < 4 else 1):
            c = 0.5 + 0.08 * e[0] + 0.01 * rng.standard_normal()
            curve = c * (1 - np.exp(-np.arange(1, 11) / 2.0)) + 0.005 * rng.standard_normal(10)
            rows.append({"arch_id": m.arch_id, "seed": s, "recipe": "{}", "dataset": "{}", "epochs": 10,
                         "encoding": e.tolist(), "val_top1": curve.tolist(), "params": macro_cost(m).params,
                         **{f"zc_{p}": float(e[0] + rng.standard_normal()) for p in SurrogateConfig().zc}})  # fmt: skip
    prof = resolve_profile("tiny", overrides={"multifidelity.runs": 1, "multifidelity.budget_epochs": 60,
                                              "multifidelity.pool": 5, "surrogate.lgb.n_estimators": 20})  # fmt: skip
    out = analyse(pd.DataFrame(rows), prof, ConstraintConfig(max_params=100_000, max_flops=15_000_000))
    assert out["table"]["networks"] == 40 and out["table"]["few"] == 2
    grid = out["surrogate"]
    assert len(grid["rows"]) == 9 and grid["kl_networks"] == 4 and all(r["kl_avg"] is not None for r in grid["rows"])
    assert max(r["r2_final"] for r in grid["rows"]) > 0.5  # the final value follows log params
    sel = out["lce"]["selection"]
    assert sel["oracle"]["mean_regret"] == 0 and sel["svr"]["epochs"] == 10 * 2 + 10
    assert set(out["multifidelity"]) == {f"{a}_{f}" for a in ("rea", "local_search") for f in ("single", "svr", "wpm")}
    assert plot_png(out, pd.DataFrame(rows))[:4] == b"\x89PNG"
    json.dumps(out, allow_nan=True)  # the benchmark prints it


def test_lce_selection_without_a_curve_table_is_one_clear_cli_error(monkeypatch, capsys):
    from tests.conftest import run_cli

    code, _, err = run_cli(monkeypatch, capsys, "select-and-train", "file:///nowhere/generate/x", "--strategy", "lce")
    assert code == 2 and "--curves" in err and err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run_cli(monkeypatch, capsys, "select-and-train", "file:///nowhere/generate/x", "--strategy", "best")
    assert code == 2 and "strategy" in err and "Traceback" not in err
