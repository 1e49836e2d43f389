"""Stage `ccnf` on a tiny pipeline: artifact contents, caching, load(uri), synonyms / GenCell and their errors."""

import numpy as np
import pytest
import torch

from nasgen.ccnf import GenerationError
from nasgen.config import get_profile
from nasgen.errors import ConfigError
from nasgen.gvae.data import Decoded
from nasgen.stages import ccnf, gvae
from nasgen.stages.ccnf import load, training_data
from nasgen.stages.registry import run
from nasgen.store import upstream_of
from nasgen.zc.conditions import COST_COMPONENTS, exact_costs

GVAE_CFG = get_profile("tiny").gvae
CFG = get_profile("tiny").ccnf


@pytest.fixture(scope="module")
def trained(tiny_models):
    return tiny_models


def test_artifact_holds_weights_history_and_metrics(trained):
    st, gref, ref = trained
    assert {"weights.safetensors", "model.json", "history.parquet", "metrics.json"} <= set(
        st.manifest(ccnf.STAGE, ref.key)["files"]
    )
    m = st.read_json(ref, "metrics.json")
    assert m["cells"] == 40 and m["held_out"] == 10 and m["epochs"] == 3 and m["measured_conditions"] == 16
    assert np.isfinite(m["val_nll_per_dim"]) and m["nfe_forward"] >= 6 and m["nfe_backward"] == 0
    assert 0.0 <= m["generation_success"] <= 1.0 and len(m["cluster_success"]) == 2
    assert all(0 < d <= s for d, s in zip(m["cluster_distinct"], m["cluster_success"]))  # distinct among valid
    assert st.read_parquet(ref, "history.parquet").num_rows == 3
    assert run("ccnf", st, gvae_ref=gref, cfg=CFG) == ref  # cached: same inputs, same key


def test_conditions_are_measured_where_scored_and_predicted_elsewhere(trained, tiny_pipeline):
    st, gref, _ = trained
    _, cref, zref, clref = tiny_pipeline
    model, transform = gvae.load_model(st, gref)
    lat, std, cond, measured = training_data(gref, model, CFG)
    cells, labelled, t_zc, _, _ = gvae.training_data(cref, zref, clref, GVAE_CFG)
    assert lat.shape == std.shape == cond.shape == (40, 4) and bool((std > 0).all())
    assert measured == len(labelled) == 16
    np.testing.assert_allclose(cond[torch.from_numpy(labelled)].numpy(), t_zc, rtol=1e-6)
    others = np.setdiff1d(np.arange(40), labelled)
    with torch.no_grad():
        predicted = model.predictor(lat[others]).numpy()
    zc_cols = [transform.components.index(c) for c in ("naswot", "snip_ssnr")]
    cost_cols = [transform.components.index(c) for c in COST_COMPONENTS]
    np.testing.assert_allclose(cond[others][:, zc_cols].numpy(), predicted[:, zc_cols], rtol=1e-5, atol=1e-6)
    exact = exact_costs([cells[i] for i in others], ccnf.scoring_config_of(gref))  # analytic, never predicted
    np.testing.assert_allclose(transform.inverse(cond[others].numpy())[:, cost_cols], exact, rtol=1e-4)
    _, _, q_only, _ = training_data(gref, model, CFG.model_copy(update={"exact_costs": False}))
    np.testing.assert_allclose(q_only[others].numpy(), predicted, rtol=1e-6)


def test_loaded_sampler_generates_valid_cells_deterministically(trained, tiny_pipeline):
    st, _, ref = trained
    sampler = load(ref.uri)
    ref_cell = gvae.training_data(*tiny_pipeline[1:], GVAE_CFG)[0][0]
    syn = sampler.synonyms(ref_cell, 5, seed=3)
    assert len(syn) == 5 and syn == sampler.synonyms(ref_cell, 5, seed=3)
    fam = sampler.gen_cell(1, 4, seed=0)
    assert len(fam) == 4 and all(c.n_ops >= 1 for c in fam)
    measured = sampler.condition_of([ref_cell], np.array([[900.0, 10.0, 1e5, 1e7]]))
    assert measured.shape == (1, 4)


def test_sampling_errors_are_clear(trained, monkeypatch):
    sampler = load(trained[2].uri)
    with pytest.raises(ConfigError, match="cluster 7 does not exist"):
        sampler.gen_cell(7)
    with pytest.raises(ConfigError, match="n must be at least 1"):
        sampler.gen_cell(0, 0)
    with pytest.raises(ConfigError, match="2 ZC vectors for 1 cells"):
        sampler.condition_of([None], np.ones((2, 4)))
    monkeypatch.setattr(sampler, "draw", lambda cond, gen: [Decoded(None, "dead node")] * len(cond))
    with pytest.raises(GenerationError, match="0 valid cells of cluster 0 of 3 in 32 rounds"):
        sampler.gen_cell(0, 3)


@pytest.mark.usefixtures("prefect_server")
def test_flow_and_cli(trained, monkeypatch, capsys):
    from flows.options import RunOptions
    from flows.stage import run_stage_flow
    from tests.conftest import run_cli

    st, gref, _ = trained
    ref = run_stage_flow("ccnf", upstream=[gref.uri], run=RunOptions(profile="smoke", overrides={"ccnf.epochs": 1}))
    assert ref.uri.startswith(st.root) and st.read_json(ref, "metrics.json")["epochs"] == 1
    code, out, _ = run_cli(monkeypatch, capsys, "ccnf", gref.uri, "--profile", "smoke", "--set", "ccnf.epochs=1")
    assert code == 0 and ref.key in out  # cached: the same artifact
    for args, message in (
        (["ccnf", st.root + "/clusters/abc"], "no committed artifact"),
        (["ccnf", upstream_of(gref, "clusters").uri], "needs a 'gvae' artifact"),
        (["ccnf", gref.uri, "--set", "ccnf.epochs=0"], "invalid overrides"),
        (["ccnf", gref.uri, "--device", "tpu"], "unknown device"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 2 and message in err
