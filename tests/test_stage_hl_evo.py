"""Stage `hl_evo` on the tiny trained models: real GenCell (CCNF + decoder), artifacts, caching, flow and CLI."""

import pytest

from nasgen.errors import ConfigError
from nasgen.search.config import ConstraintConfig, HLEvoConfig
from nasgen.search.history import from_table
from nasgen.space.macro import HLSequence, MacroArch
from nasgen.stages import ccnf, hl_evo
from nasgen.stages.registry import run
from nasgen.zc.config import ZCConfig

ZC = ZCConfig(batch_size=4, resolution=8, proxies=("naswot", "snip_ssnr", "tcet", "params", "flops"))
CFG = HLEvoConfig(iterations=10, population=4, zc=ZC, levels=(ConstraintConfig(max_params=1_000_000),))


def test_level_artifact_holds_history_best_stats_and_plot(tiny_models):
    st, _, cref = tiny_models
    ref = run("hl_evo", st, ccnf_ref=cref, cfg=CFG, level=CFG.levels[0])
    files = set(st.manifest(hl_evo.STAGE, ref.key)["files"])
    assert {"history.parquet", "best.json", "stats.json", "curve.png"} <= files
    rows = from_table(hl_evo.load_history(st, ref))
    stats = st.read_json(ref, "stats.json")
    assert len(rows) - 1 == stats["accepted"] and stats["iterations"] == 10
    assert stats["accepted"] + stats["discarded_constraint"] + stats["discarded_mutation"] == 10
    sampler = ccnf.load_sampler(st, cref)
    for r in rows:
        seq, macro = HLSequence.from_json(r["hl_sequence"]), MacroArch.from_json(r["macro"])
        assert seq.materialise([x.cell for x in macro.layers]) == macro and r["params"] <= 1_000_000
        assert all(0 <= x.cluster < sampler.clusters.k for x in seq.layers)
    assert st.read_json(ref, "best.json")["fitness"] == max(r["fitness"] for r in rows)
    assert run("hl_evo", st, ccnf_ref=cref, cfg=CFG, level=CFG.levels[0]) == ref  # cached
    other = run("hl_evo", st, ccnf_ref=cref, cfg=CFG, level=ConstraintConfig(max_params=2_000_000))
    assert other.key != ref.key


def test_bad_initial_cluster_is_a_clear_error(tiny_models):
    st, _, cref = tiny_models
    with pytest.raises(ConfigError, match="init_cluster 9 is not a cluster"):
        run("hl_evo", st, ccnf_ref=cref, cfg=CFG.model_copy(update={"init_cluster": 9}), level=CFG.levels[0])


@pytest.mark.usefixtures("prefect_server")
def test_flow_fans_out_levels_and_cli(tiny_models, monkeypatch, capsys):
    from flows.hl_evo import hl_evo_flow
    from flows.options import RunOptions
    from tests.conftest import run_cli

    st, _, cref = tiny_models
    two = {"hl_evo.levels": [{"max_params": 1_000_000}, {"max_params": 2_000_000}], "hl_evo.iterations": 4}
    refs = hl_evo_flow(ccnf_uri=cref.uri, run=RunOptions(profile="smoke", overrides=two))
    assert len(refs) == 2 and {st.read_json(r, "stats.json")["constraint"] for r in refs} == {
        "params<=1000000",
        "params<=2000000",
    }
    code, out, _ = run_cli(monkeypatch, capsys, "hl-evo", cref.uri, "--profile", "smoke", "--set",
                           "hl_evo.levels=[{max_params: 1000000}]", "--set", "hl_evo.iterations=4")  # fmt: skip
    assert code == 0 and refs[0].key in out  # cached
    for args, message in (
        (["hl-evo", cref.uri.replace("/ccnf/", "/gvae/")], "expected a 'ccnf' artifact"),
        (["hl-evo", cref.uri, "--set", "hl_evo.iterations=1"], "invalid overrides"),
        (
            ["hl-evo", cref.uri, "--profile", "smoke", "--set", "hl_evo.levels=[{max_params: 10}]"],
            "violates the constraint",
        ),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 2 and message in err
