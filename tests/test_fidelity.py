"""The fidelity study at the tiny profile on small Fashion-MNIST-format files: every network trained at the
reduced recipe per seed and some at the full one, the statistics, and a rerun that trains nothing again."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.fidelity import full_spread, random_networks, rank_agreement, run, settling
from nasgen.errors import ConfigError
from nasgen.search.config import ConstraintConfig
from nasgen.space.cost import macro_cost
from nasgen.store import ArtifactStore
from nasgen.zc.config import ALL_PROXIES
from tests.test_fashion_mnist import fake_fashion


def test_random_networks_are_distinct_and_within_the_budget():
    c = ConstraintConfig(max_params=100_000, max_flops=15_000_000)
    nets, draws = random_networks(4, c, seed=0, max_draws=100_000)
    assert len({m.arch_id for m in nets}) == 4 and draws >= 4
    assert all(macro_cost(m).params <= 100_000 and macro_cost(m).flops <= 15_000_000 for m in nets)
    assert all(m.input_shape == (1, 28, 28) for m in nets)


def test_agreement_is_rank_correlation_over_the_networks_scored_ok():
    ok = [{"status": "ok", "a": a, "b": b, "c": 2.0} for a, b in ((1.0, 5.0), (2.0, 4.0), (3.0, 3.0), (10.0, 1.0))]
    records = [*ok, {"status": "error", "a": -1.0, "b": 9.0, "c": 1.0}, {"status": "ok", "a": float("nan"), "b": 0.0}]
    accuracy = [0.1, 0.2, 0.3, 0.4, 0.9, 0.5]
    out = rank_agreement(records, accuracy, ["a", "b", "c"])
    assert out["spearman"]["a"] == 1.0 and out["kendall"]["a"] == 1.0  # monotone, whatever the scale
    assert out["spearman"]["b"] == pytest.approx(-1) and out["kendall"]["b"] == pytest.approx(-1)  # error left out
    assert out["spearman"]["c"] is None and out["kendall"]["c"] is None  # constant: undefined, not 0
    assert out["networks"] == 5
    assert rank_agreement(records[:2], accuracy[:2], ["a"])["spearman"]["a"] is None  # fewer than 3 networks


def test_settling_ranks_each_epoch_against_the_final_test_accuracy():
    full = [{"test_top1": t, "val_curve": c} for t, c in ((0.9, [0.3, 0.8, 0.9]), (0.8, [0.5, 0.7, 0.8]),
                                                          (0.7, [0.6, 0.75, 0.7]))]  # fmt: skip
    assert settling(full) == pytest.approx([-1.0, 0.5, 1.0])  # reversed, one swap, settled
    assert settling(full[:2]) is None  # under 3 networks: undefined
    flat = [{"test_top1": t, "val_curve": [0.5, t]} for t in (0.7, 0.8, 0.9)]
    assert settling(flat) == [None, 1.0]  # a constant epoch ranks nothing: None, not 0


def test_the_full_recipes_seed_spread_is_the_std_over_each_networks_seeds():
    rows = [{"name": "a", "full": {"val_top1": 90.0, "test_top1": 91.0},
             "full_other_seeds": [{"val_top1": 92.0, "test_top1": 91.0}]},
            {"name": "b", "full": {"val_top1": 80.0, "test_top1": 80.0}}]  # fmt: skip
    s = full_spread(rows)
    assert set(s["networks"]) == {"a"} and s["networks"]["a"]["test_top1"] == [91.0, 91.0]
    assert s["mean_std_val_top1"] == pytest.approx(1.0) and s["mean_std_test_top1"] == 0.0
    assert full_spread(rows[1:]) is None  # no network trained fully at a second seed


def test_the_study_runs_reports_and_resumes(tmp_path):
    root = fake_fashion(tmp_path / "fm", n_train=60, n_test=20)
    store = str(tmp_path / "store")
    sets = {"fidelity.full_seeds": 3, "fidelity.full_seed_networks": 1}  # the first full network at 3 seeds
    out = run(profile="tiny", store=store, root=str(root), threads=1, overrides=sets)
    names = [r["name"] for r in out["networks"]]
    assert names == ["random-0", "random-1", "random-2", "two_conv", "resnet20"]
    assert all(len(r["reduced"]) == 2 for r in out["networks"])
    assert {r["name"] for r in out["networks"] if "full" in r} == {"two_conv", "resnet20", "random-0"}
    two_conv = out["networks"][3]  # a plain-torch reference, trained through the same stage
    assert two_conv["arch_id"].startswith("two_conv-") and two_conv["positions"] is None and two_conv["width"] > 0
    assert all(0 <= run_["val_top1"] <= 100 for r in out["networks"] for run_ in r["reduced"])
    s = out["spread_val_reduced"]
    assert s["across_architectures"] >= 0 and s["across_seeds"] >= 0
    assert out["reduced_vs_full"]["networks"] == 3 and -1 <= out["reduced_vs_full"]["spearman_val_top1"] <= 1
    full = [r["full"] for r in out["networks"] if "full" in r]
    assert len(out["full_epochs_vs_final"]) == len(full[0]["val_curve"]) == out["recipes"]["full"]["epochs"]
    assert [f["val_curve"][-1] for f in full] == [f["val_top1"] for f in full]  # the curve ends at the result
    assert 0 < out["acceptance"] <= 1 and sum(out["positions"]) == 3
    assert all(r["zc"]["status"] == "ok" for r in out["networks"]), [r["zc"]["error"] for r in out["networks"]]
    assert set(out["zc"]["proxies"]) == set(ALL_PROXIES) and out["zc"]["resolution"] == 28
    assert {"zen", "zico", "tcet", "flops"} <= set(out["networks"][0]["zc"])
    agree = out["proxies_vs_accuracy"]
    assert agree["reduced_val_top1"]["networks"] == 5 and agree["reduced_val_top1_random_only"]["networks"] == 3
    assert agree["full_val_top1"]["networks"] == 3
    assert all(v is None or -1 <= v <= 1 for v in agree["reduced_val_top1"]["spearman"].values())
    spread = out["spread_full"]  # the references come first: two_conv is the one trained at 3 seeds
    assert list(spread["networks"]) == ["two_conv"] and len(spread["networks"]["two_conv"]["test_top1"]) == 3
    trained = len(ArtifactStore(store).list("trained"))
    assert trained == 5 * 2 + 3 + 2
    again = run(profile="tiny", store=store, root=str(root), threads=1, overrides=sets)  # all found in the store
    assert len(ArtifactStore(store).list("trained")) == trained
    assert [r["reduced"] for r in again["networks"]] == [r["reduced"] for r in out["networks"]]
    assert np.isfinite(again["seconds_per_reduced_run"])

    # every proxy against the accuracies just trained (the store's networks of this protocol)
    from benchmarks.task_proxies import run as task_proxies

    tp = task_proxies(profile="tiny", store=store, root=str(root), threads=1, near=0.0, plot=str(tmp_path / "t.png"))
    assert tp["distinct_networks"] == 5 and tp["trained_networks"] == 5 + 3  # (network, recipe) rows
    reduced = tp["results"]["b1"]["reduced"]["all"]
    assert reduced["networks"] == 5
    assert {"tcet", "meco", "swap", "az_trainability", "params", "flops", "ensemble_log", "aznas_mean"} <= set(
        reduced["vs_val"]
    )
    mean_val = sorted(np.mean([x["val_top1"] for x in r["reduced"]]) for r in out["networks"])
    assert reduced["val_top1"] == pytest.approx([mean_val[0], mean_val[-1]])
    assert reduced["given_params"]["params"] is None  # nothing is left of size given size
    assert tp["results"]["b1"]["full"]["all"]["networks"] == 3
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="no network"):
        task_proxies(profile="tiny", store=str(tmp_path / "empty"), root=str(root), threads=1)


def test_the_searches_picks_join_the_study_cheapest_full_run_first(tmp_path):
    root = fake_fashion(tmp_path / "fm", n_train=60, n_test=20)
    c = ConstraintConfig(max_params=100_000, max_flops=15_000_000)
    nets, _ = random_networks(3, c, seed=7, max_draws=100_000)
    row = {"arch_id": "", "macro": "", "reduced_seconds": 0.0}
    methods = {"rea": {"networks": [{**row, "arch_id": m.arch_id, "macro": m.to_json(), "reduced_seconds": t}
                                    for m, t in zip(nets[:2], (9.0, 1.0))]},
               "hl_evo": {"networks": [{**row, "arch_id": nets[2].arch_id, "macro": nets[2].to_json(),
                                       "reduced_seconds": 5.0}]},
               "random": {"networks": [{**row, "arch_id": nets[1].arch_id, "macro": nets[1].to_json(),
                                        "reduced_seconds": 1.0}]}}  # fmt: skip
    table1 = tmp_path / "table1.json"
    table1.write_text(json.dumps({"budgets": {"b1": {"per_seed": [{"seed": 0, "methods": methods}]}}}))
    sets = {"fidelity.picks": str(table1), "fidelity.full_networks": 4, "fidelity.networks": 2}
    out = run(profile="tiny", store=str(tmp_path / "store"), root=str(root), threads=1, overrides=sets)
    picks = [r for r in out["networks"] if r["name"].startswith("pick-")]
    assert [r["arch_id"] for r in picks] == [nets[1].arch_id, nets[2].arch_id, nets[0].arch_id]  # cheapest first
    assert picks[0]["methods"] == ["random", "rea"] and picks[1]["methods"] == ["hl_evo"]
    assert {r["name"] for r in out["networks"] if "full" in r} == {
        "two_conv",
        "resnet20",
        *(r["name"] for r in picks[:2]),
    }
    assert out["proxies_vs_accuracy"]["reduced_val_top1_picks_only"]["networks"] == 3
    two = run(
        profile="tiny",
        store=str(tmp_path / "store"),
        root=str(root),
        threads=1,
        overrides={**sets, "fidelity.max_picks": 2},
    )  # every run found in the store
    assert [r["arch_id"] for r in two["networks"] if r["name"].startswith("pick-")] == [
        nets[1].arch_id,
        nets[2].arch_id,
    ]
    table1.write_text("{}")
    with pytest.raises(ConfigError, match="fidelity.picks: .* is not a bench table1 result with budget 'b1'"):
        run(profile="tiny", store=str(tmp_path / "store"), root=str(root), threads=1, overrides=sets)
