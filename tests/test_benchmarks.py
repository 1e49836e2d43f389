"""The model benchmarks end to end at the smoke profile: every figure the README quotes is in their JSON."""

import pytest


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory):
    return str(tmp_path_factory.mktemp("bench"))


def test_ccnf_benchmark_reports_table8_and_throughput(smoke_store, tmp_path):
    from benchmarks.ccnf import SCALES, run

    out = run(profile="smoke", store=smoke_store, n=4, plot=str(tmp_path / "t8.png"))
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


def test_search_benchmark_compares_three_methods_on_one_budget(smoke_store, tmp_path):
    from benchmarks.search import METHODS, run

    out = run(profile="smoke", store=smoke_store, seeds=2, plot=str(tmp_path / "s.png"))
    assert set(out["methods"]) == set(METHODS) and out["constraint"] == "params<=1000000"
    for m in out["methods"].values():
        assert len(m["best_per_seed"]) == 2 and len(m["curve_mean"]) == len(out["budgets"])
        assert all(p <= 1_000_000 for p in m["best_params_per_seed"])
    hl, rnd = out["methods"]["hl_evo"], out["methods"]["random"]
    assert rnd["evaluations_per_seed"] == hl["evaluations_per_seed"]  # random search gets HL-Evo's budget
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_generate_benchmark_reports_goals_and_the_comparison(smoke_store):
    from benchmarks.generate import run

    out = run(profile="smoke", store=smoke_store, seeds=1, n=8)
    s, seed = out["summary"], out["per_seed"][0]
    assert seed["generated"] == 8 and s["validity"] == 1.0 and 0 < s["satisfaction"] <= 1
    assert set(s["goals_met"]) == {"validity_100%", "satisfaction_95%", "latency_120s"}
    assert set(seed["best_tcet"]) == {"sg_ccnf", "raw_evo", "random"} and seed["best_params"] <= 1_000_000
    assert s["hl_evo_full_budget"]["evaluations"] >= 1 and s["latency_seconds"] > 0
