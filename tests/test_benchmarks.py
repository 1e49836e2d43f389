"""The model benchmarks end to end at the smoke profile: every figure the README quotes is in their JSON."""

import pytest

pytestmark = pytest.mark.heavy  # a minute or more: started first (tests/conftest.py)


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory):
    return str(tmp_path_factory.mktemp("bench"))


def test_ccnf_benchmark_reports_table8_and_throughput(smoke_store, tmp_path):
    from benchmarks.ccnf import SCALES, run

    out = run(profile="smoke", store=smoke_store, n=4, plot=str(tmp_path / "t8.png"), typical=2, per_ref=3)
    typ = out["typical_references"]
    assert typ["references"] == 2 and set(typ["l1_mean"]) == {"ccnf", "neighbourhood_0.5", "neighbourhood_1.0"}
    methods = out["methods"]
    assert {"random", "ccnf", *(f"neighbourhood_{s}" for s in SCALES)} <= set(methods)
    for m in methods.values():
        assert m["attempts"] == 4 and 0 <= m["success"] <= 1 and m["valid"] <= m["attempts"]
    assert set(out["reference"]["zc"]) == {"naswot", "snip_ssnr", "params", "flops"}
    assert out["throughput"]["latents_per_second"] > 0 and out["throughput"]["nfe_per_solve"] >= 6
    assert (tmp_path / "t8.png").read_bytes()[:4] == b"\x89PNG" and set(out["goals_met"]) == {
        "ccnf_success_0.99",
        "ccnf_tighter_than_neighbourhood_0.5",
        "ccnf_tighter_than_neighbourhood_1.0",
    }


def test_search_benchmark_compares_every_strategy_on_one_budget(smoke_store, tmp_path):
    from benchmarks.search import methods, run

    out = run(profile="smoke", store=smoke_store, seeds=2, plot=str(tmp_path / "s.png"))
    assert set(out["methods"]) == set(methods()) and out["constraint"] == "params<=1000000"
    for m in out["methods"].values():
        assert len(m["best_per_seed"]) == 2 and len(m["curve_mean"]) == len(out["budgets"])
        assert all(p <= 1_000_000 for p in m["best_params_per_seed"])
    hl, rnd = out["methods"]["hl_evo"], out["methods"]["random"]
    assert rnd["evaluations_per_seed"] == hl["evaluations_per_seed"]  # random search gets HL-Evo's budget
    for m in ("rea", "graphpnas", "arch2vec_rl", "arch2vec_bo", "cate_dngo_ls"):  # and every search without its own
        assert out["methods"][m]["evaluations_per_seed"] == hl["evaluations_per_seed"], m
    assert out["arch2vec"]["pool"] == out["cate"]["pool"] == 500 and 0 <= out["arch2vec"]["edge_accuracy"] <= 1
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_generators_benchmark_compares_cell_generators_at_equal_evaluations(smoke_store, tmp_path):
    from benchmarks.generators import METHODS, run

    out = run(profile="smoke", store=smoke_store, seeds=1, plot=str(tmp_path / "g.png"))
    assert set(out["methods"]) == set(METHODS)
    rows = {m: out["methods"][m]["per_seed"][0] for m in METHODS}
    budget = rows["graphpnas"]["evaluations"]
    assert budget == out["config"]["evaluations"] and rows["random"]["evaluations"] == budget
    assert all(0 < rows[m]["evaluations"] <= budget for m in METHODS)  # the CCNF may waste out first
    for m in METHODS:
        s = rows[m]["samples"]
        assert s["samples"] == out["config"]["diversity_samples"] and 0 <= s["uniqueness"] <= 1
        assert 1 <= s.get("families", 1) <= out["families"]
        assert rows[m]["best"] >= rows[m]["top10_mean"]
    assert rows["graphpnas"]["samples"]["validity"] == rows["random"]["samples"]["validity"] == 1.0
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_encoder_comparison_on_graphnet_t_cet(smoke_store):
    from benchmarks.encodings import run_graphnet

    out = run_graphnet(profile="smoke", store=smoke_store, seeds=1, train_sizes=(8,))
    assert {r["encoding"] for r in out["results"].values()} == {"adjacency", "arch2vec", "gvae", "cate"}
    assert out["scored_cells"] >= 9 and out["test_size"] == out["scored_cells"] - 8
    for r in out["results"].values():  # a predictor that predicts a constant has no rank correlation: counted
        assert -1 <= r["spearman"]["mean"] <= 1 or r["constant_predictions"] == 1, r


def test_cate_pairing_comparison_trains_both_pairings_on_the_same_scored_cells(smoke_store):
    from benchmarks.encodings import run_pairing
    from nasgen.config import get_profile

    prof = get_profile("smoke")
    prof = prof.model_copy(update={"cate": prof.cate.model_copy(update={"pair_delta": 0.5, "test_fraction": 0.25})})
    labelled = prof.zc.n_labelled
    out = run_pairing(prof, smoke_store, seeds=1, labelled=labelled, zc_delta=3.0, train_sizes=(8,))
    assert {r["encoding"] for r in out["results"].values()} == {"cate_params", "cate_zc"}
    assert out["cate"]["params"]["pair_by"] == "params" and out["cate"]["zc"]["pair_by"] == "zc"
    assert all(c["train_pairs"] > 0 for c in out["cate"].values())
    assert out["test_size"] == out["scored_cells"] - 8 and out["scored_cells"] <= labelled


def test_generate_benchmark_reports_goals_and_the_comparison(smoke_store):
    from benchmarks.generate import run

    out = run(profile="smoke", store=smoke_store, seeds=1, n=8)
    s, seed = out["summary"], out["per_seed"][0]
    assert seed["generated"] == 8 and s["validity"] == 1.0 and 0 < s["satisfaction"] <= 1
    assert set(s["goals_met"]) == {"validity_100%", "satisfaction_95%", "latency_120s"}
    assert set(seed["best_objective"]) == {"sg_ccnf", "raw_evo", "random"} and seed["best_params"] <= 1_000_000
    assert s["hl_evo_full_budget"]["evaluations"] >= 1 and s["latency_seconds"] > 0


def test_evaluate_benchmark_trains_each_methods_picks(smoke_store, tmp_path):
    from benchmarks.evaluate import METHODS, run

    out = run(profile="smoke", store=smoke_store, seeds=1, n=6, top_k=2, epochs=1, max_params=500_000,
              dataset="synthetic", plot=str(tmp_path / "e.png"))  # fmt: skip
    seed = out["per_seed"][0]
    assert out["input_shape"] == [3, 16, 16] and set(out["summary"]) == set(METHODS)
    for m in METHODS:
        nets = seed["methods"][m]["networks"]
        assert 1 <= len(nets) <= 2 and len({x["arch_id"] for x in nets}) == len(nets)
        assert all(x["params"] <= 500_000 and 0 <= x["test_top1"] <= 1 for x in nets)
        assert [x["objective"] for x in nets] == sorted((x["objective"] for x in nets), reverse=True)
        assert seed["methods"][m]["best_test_top1"] == max(x["test_top1"] for x in nets)
    assert out["trained_networks"] == sum(len(seed["methods"][m]["networks"]) for m in METHODS)
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_top_networks_keeps_distinct_best_within_the_budget():
    from benchmarks.evaluate import top_networks
    from nasgen.search.evolution import SearchResult
    from nasgen.space.cell import Cell
    from nasgen.space.macro import MacroArch

    cell = Cell.from_graph(["input", "conv_3", "output"], [(0, 1), (1, 2)])
    macros = [MacroArch.from_triples([(cell, ch, 1)]) for ch in (8, 16, 32)]
    res = SearchResult()
    for i, (m, fit) in enumerate([(macros[0], 1.0), (macros[0], 1.0), (macros[1], 3.0), (macros[2], 9.0)]):
        res.history.append({"arch_id": m.arch_id, "macro": m.to_json(), "fitness": fit, "evaluations": i + 1})
    res.history.append({"arch_id": "x", "macro": "", "fitness": float("-inf"), "evaluations": 1})
    top = top_networks(res, budget=3, k=3)  # the 9.0 network came after the budget
    assert [(m.arch_id, f) for m, f in top] == [(macros[1].arch_id, 3.0), (macros[0].arch_id, 1.0)]


def test_nb201_benchmark_reports_every_proxy_published_figures_naslib_choices_and_families(monkeypatch, tmp_path):
    import benchmarks.nb201 as nb

    full = nb.naslib_proxies()
    monkeypatch.setattr(nb, "naslib_proxies", lambda: full.iloc[:8])  # 8 of NASLib's 491: seconds, not minutes
    out = nb.run(n=24, seed=1, profile="smoke", store=str(tmp_path / "store"), ablation_n=6, z_with="meco",
                 plot=str(tmp_path / "nb.png"), scores=str(tmp_path / "s.parquet"), progress=False)  # fmt: skip
    assert out["archs"] == 24 and set(out["correlations"]) == {"alpha_x", "nb201"}
    for network in ("alpha_x", "nb201"):
        assert set(out["correlations"][network]) == {"valid", "test"}
        assert set(nb.SCORED) <= set(out["correlations"][network]["test"])
        assert out["seconds_per_arch"][network] > 0
    assert out["published_spearman"]["synflow"] == 0.737 and out["naslib"]["archs"] == 8
    assert set(out["naslib"]["agreement_spearman"]) == {"snip", "synflow", "params", "flops"}
    assert set(out["choices"]) == {"gram_singular", "zen_bn", "data"}
    assert {"rank", "slogdet"} <= set(out["choices"]["gram_singular"])
    fam = out["families"]["snip_ssnr_mean"]
    assert (
        sum(f["size"] for f in fam["families"]) == out["scored"]["alpha_x"] and 0 <= fam["test_variance_explained"] <= 1
    )
    assert (tmp_path / "nb.png").read_bytes()[:4] == b"\x89PNG"
    z = out["z_families"]  # z(x), then z(x) with MeCo as a fifth component
    assert set(z) == {"z(x)", "z(x)+meco"} and z["z(x)+meco"]["components"][-1] == "meco"
    assert z["z(x)"]["families"] == fam["families"]  # the same GMM as the families above
    import pandas as pd

    assert set(pd.read_parquet(tmp_path / "s.parquet")["network"]) == {"alpha_x", "nb201"}


def test_nb201_benchmark_of_chosen_proxies_on_image_batches_with_intervals_and_ensembles(tmp_path):
    import benchmarks.nb201 as nb
    from nasgen.errors import ConfigError
    from nasgen.zc.ensemble import ENSEMBLES

    wanted = sorted({*ENSEMBLES["ensemble"], "params"})
    out = nb.run(n=8, seed=2, profile="smoke", store=str(tmp_path / "store"), progress=False, data="digits",
                 proxies=",".join(wanted), extras=False, plot=str(tmp_path / "nb.png"))  # fmt: skip
    assert out["zc"]["data"] == "digits" and "families" not in out and "naslib" not in out
    got = out["with_intervals"]["nb201"]["test"]
    assert {"ensemble_log", "ensemble_mean", "aznas_log", "aznas_mean", "meco", "swap"} <= set(got)
    for v in got.values():
        lo, hi = v["spearman_95"]
        assert lo <= hi and -1 <= lo and hi <= 1
    assert out["published_sota"]["aznas"][0] == 0.9127
    assert (tmp_path / "nb.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="unknown"):
        nb.run(n=2, profile="smoke", store=str(tmp_path / "store"), proxies="meco,nope", progress=False)
    one = nb.run(n=8, seed=2, profile="smoke", store=str(tmp_path / "store"), progress=False, data="digits",
                 proxies=",".join(wanted), networks="nb201")  # fmt: skip
    assert list(one["with_intervals"]) == ["nb201"] and "families" not in one  # the extras need both networks
    assert one["with_intervals"]["nb201"] == out["with_intervals"]["nb201"]  # the same cached scores
