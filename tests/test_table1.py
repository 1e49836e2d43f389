"""`bench table1` at the tiny profile on synthetic Fashion-MNIST files: every method searches the budget,
its pick is trained (reduced, then full), the report and plot come out, and a rerun trains nothing new."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.search import methods
from benchmarks.table1 import EXTRA, best_so_far, fitting_start, run
from nasgen.errors import ConfigError
from nasgen.search.config import ConstraintConfig, HLEvoConfig
from nasgen.space.cell import Cell
from nasgen.store import ArtifactStore
from tests.test_fashion_mnist import fake_fashion

pytestmark = pytest.mark.heavy  # a minute or more: started first (tests/conftest.py)


def test_alpha0_is_narrowed_until_it_meets_the_budget():
    cell = Cell.from_graph(["input", "conv_3", "output"], [(0, 1), (1, 2)])
    cfg = HLEvoConfig(init_layers=((256, 1), (512, 2)))
    fit = fitting_start(cfg, 0, lambda k, rng: cell, ConstraintConfig(max_params=200_000))
    assert fit.init_layers == ((64, 1), (128, 2))  # two halvings
    with pytest.raises(ConfigError, match="alpha_0 meets params<=10 at no width"):
        fitting_start(cfg, 0, lambda k, rng: cell, ConstraintConfig(max_params=10))


def test_an_unknown_method_is_named_before_anything_runs(tmp_path):
    for sets, what in (({}, "method"), ({"table1.full_methods": ["hl_evo", "evo"]}, "full_methods")):
        with pytest.raises(ConfigError, match=f"unknown table1 {what}.*'evo'"):
            run(profile="tiny", store=str(tmp_path), only=["rea", *(["evo"] if not sets else [])], overrides=sets)


def test_best_so_far_keeps_the_improvements_in_search_order():
    scores = [(1, 3.0), (2, float("-inf")), (3, 2.0), (4, 5.0), (5, 5.0), (6, float("nan")), (7, 6.0)]
    assert best_so_far(scores) == [[1, 3.0], [4, 5.0], [7, 6.0]]  # a tie or a failed score is no improvement
    assert best_so_far([(1, float("-inf"))]) == []


def test_table1_runs_every_method_trains_their_picks_and_resumes(tmp_path):
    root = str(fake_fashion(tmp_path / "fm", n_train=60, n_test=20))
    store = str(tmp_path / "store")
    every = [*methods(), *EXTRA]
    chosen = [m for m in every if m != "cate_dngo_ls"]  # CATE finds no params partner among tiny's 40 cells
    out = run(profile="tiny", store=store, root=root, threads=1, plot=str(tmp_path / "t.png"), only=chosen)
    json.dumps(out)
    b1 = out["budgets"]["b1"]
    assert out["methods"] == chosen
    for m, s in b1["summary"].items():
        row = b1["per_seed"][0]["methods"][m]
        if "error" in row:  # said, not hidden (e.g. the tiny SG generates nothing within the budget)
            assert s["errors"] == [row["error"]]
            continue
        assert all(n["params"] <= 100_000 and n["flops"] <= 15_000_000 for n in row["networks"]), m
        if row["networks"]:
            assert "full" in max(row["networks"], key=lambda n: n["reduced_val_top1"]), m
            curve = row["best_objective_curve"]  # the best objective against evaluations ends at the best
            assert curve[-1][1] == row["best_objective"] and [e for e, _ in curve] == sorted({e for e, _ in curve}), m
            assert all(1 <= n["found_at"] <= max(row["evaluations"], 1) for n in row["networks"]), m
    assert b1["summary"]["random_100"]["evaluations"]["mean"] == 3
    history = out["sg_history"]  # the ablation's SG learnt from random HL sequences, not HL-Evo's histories
    assert history["random_sg_uri"] != history["sg_uri"]
    assert b1["summary"]["hl_evo"]["full_test_top1"] is not None
    nets = [n for r in b1["per_seed"][0]["methods"].values() for n in r["networks"]]
    assert all(n["zc"]["status"] == "ok" and {"zen", "zico", "tcet"} <= set(n["zc"]) for n in nets)
    agree = b1["proxies_vs_reduced_val"]
    assert agree["networks"] == len({n["arch_id"] for n in nets}) and {"tcet", "positions"} <= set(agree["spearman"])
    full = [n for n in nets if "full" in n]
    if len({n["arch_id"] for n in full}) >= 3:
        assert -1 <= b1["reduced_vs_full"]["spearman_val_top1"] <= 1
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    trained = len(ArtifactStore(store).list("trained"))
    again = run(profile="tiny", store=store, root=root, threads=1, only=["random_100"],
                overrides={"table1.full_methods": ["random_100"]})  # fmt: skip
    assert len(ArtifactStore(store).list("trained")) == trained  # every training found in the store
    assert again["budgets"]["b1"]["summary"]["hl_evo"]["full_test_top1"] is None  # not among full_methods
    assert "sg_uri" not in again["sg_history"]  # no SG + CCNF asked: its histories are not built
    assert again["budgets"]["b1"]["summary"]["random_100"] == b1["summary"]["random_100"] | {
        "search_seconds": again["budgets"]["b1"]["summary"]["random_100"]["search_seconds"]
    }
    later = run(profile="tiny", store=store, root=root, threads=1, only=["random_100"],
                overrides={"table1.first_seed": 1, "table1.full": False})  # fmt: skip
    assert [s["seed"] for s in later["budgets"]["b1"]["per_seed"]] == [1]  # one seed more, another sitting


def test_latency_generate_compares_a_latency_budget_with_params_only_generation(tmp_path):
    from benchmarks.latency_generate import run as latency_generate

    root = str(fake_fashion(tmp_path / "fm", n_train=60, n_test=20))
    out = latency_generate(profile="tiny", store=str(tmp_path / "store"), root=root, threads=1, n=8,
                           quantiles="0.5")  # fmt: skip
    json.dumps(out)
    q = out["budgets"]["q0.5"]
    limit = q["max_latency_ms"]
    assert limit == pytest.approx(float(np.quantile(out["unconstrained"]["predicted_ms"], 0.5)))
    lat, base = q["latency"], q["params_only"]
    assert all(p <= limit for p in lat["predicted_ms"]) and len(lat["measured_ms"]) == lat["fitting"] >= 1
    assert base["request"] == {"max_params": max(c["params"] for c in lat["chosen"])}
    for r in (lat, base):
        assert 0 <= r["share_within_measured"] <= 1 and 0 <= r["top1_reduced_val_top1"] <= 1
    with pytest.raises(ConfigError, match="--quantiles"):
        latency_generate(profile="tiny", store=str(tmp_path / "store"), root=root, quantiles="1.5")
