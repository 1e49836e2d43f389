"""Stage `gvae` on a tiny pipeline: artifact contents, load(uri), held-out honesty, flow and CLI."""

import numpy as np
import pytest
import torch

from nasgen.gvae import encode
from nasgen.gvae.config import GVAEConfig
from nasgen.stages import cells, gvae
from nasgen.stages.gvae import load
from nasgen.stages.registry import run
from nasgen.store import ArtifactStore
from tests.conftest import run_cli

CFG = GVAEConfig(layers=2, hidden=16, latent=4, epochs=3, batch_size=16, labelled_batch_size=8, prior_samples=50,
                 val_fraction=0.25)  # fmt: skip


@pytest.fixture(scope="module")
def pipeline(tiny_pipeline):
    return tiny_pipeline


def test_artifact_holds_weights_config_history_metrics_and_plot(pipeline):
    st, cref, zref, clref = pipeline
    ref = run("gvae", st, cells_ref=cref, zc_ref=zref, clusters_ref=clref, cfg=CFG)
    files = st.manifest(gvae.STAGE, ref.key)["files"]
    assert {"weights.safetensors", "model.json", "history.parquet", "metrics.json", "held_out.json", "tsne.png"} <= set(
        files
    )
    m = st.read_json(ref, "metrics.json")
    for k in ("reconstruction", "validity", "uniqueness", "novelty"):
        assert 0.0 <= m[k] <= 1.0
    assert m["cells"] == 40 and m["labelled"] == 16 and m["held_out"] == 10 and m["epochs"] == 3
    assert st.read_parquet(ref, "history.parquet").num_rows == 3
    model, transform = load(ref.uri)
    cs = [cells_cell(st, cref, i) for i in range(3)]
    assert encode(model, cs).shape == (3, 4) and transform.components == ("naswot", "snip_ssnr", "params", "flops")
    again, _ = load(ref.uri)
    assert torch.equal(encode(model, cs), encode(again, cs))
    assert run("gvae", st, cells_ref=cref, zc_ref=zref, clusters_ref=clref, cfg=CFG) == ref  # cached


def cells_cell(st, cref, i):
    from nasgen.space.cell import Cell

    return Cell.from_code(int(cells.load_cells(st, cref).column("code")[i].as_py()))


def test_held_out_cells_never_supervise(pipeline, monkeypatch):
    st, cref, zref, clref = pipeline
    seen = {}
    real = gvae.train

    def spy(cs, cfg, labelled, t_zc, progress=None, device="cpu"):
        model, hist, val = real(cs, cfg, labelled, t_zc, progress, device=device)
        seen["val"], seen["labelled"] = set(val.tolist()), set(labelled.tolist())
        return model, hist, val

    monkeypatch.setattr(gvae, "train", spy)
    from nasgen.gvae import training as train_mod

    captured = {}
    real_trip = train_mod.triplet_loss

    def trip(mu, t_zc, margin, gen):
        captured.setdefault("n", len(t_zc))
        return real_trip(mu, t_zc, margin, gen)

    monkeypatch.setattr(train_mod, "triplet_loss", trip)
    run("gvae", ArtifactStore(st.root + "/spy"), cells_ref=cref, zc_ref=zref, clusters_ref=clref, cfg=CFG)
    held_labelled = seen["val"] & seen["labelled"]
    assert captured["n"] <= 16 - len(held_labelled)


@pytest.mark.usefixtures("prefect_server")
def test_flow_naive_variant_and_cli(pipeline, monkeypatch, capsys):
    from flows.options import RunOptions
    from flows.stage import run_stage_flow

    st, cref, zref, clref = pipeline
    naive = {"gvae.epochs": 2, "gvae.triplet_weight": 0.0, "gvae.predictor_weight": 0.0}
    ref = run_stage_flow("gvae", upstream=[clref.uri], run=RunOptions(profile="smoke", overrides=naive))
    cfg = GVAEConfig(**st.read_json(ref, "model.json")["config"])
    assert cfg.triplet_weight == 0 and cfg.epochs == 2 and ref.uri.startswith(st.root)
    m = st.read_json(ref, "metrics.json")
    assert np.isfinite(m["zc_preservation"]) or m["held_out_labelled"] < 3
    for args, message in (
        (["gvae", zref.uri], "needs a 'clusters' artifact"),
        (["gvae", clref.uri, "--set", "gvae.encoder=transformer"], "invalid overrides"),
        (["gvae", clref.uri, "--set", "gvae.no_such=1"], "unknown config field 'gvae.no_such'"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 2 and message in err


def test_sweep_variants_parse_into_validated_configs():
    from benchmarks.gvae_sweep import parse_variant
    from nasgen.errors import ConfigError

    base = GVAEConfig()
    cfg = parse_variant("beta_kl=0.02, epochs=7", base)
    assert (cfg.beta_kl, cfg.epochs, cfg.hidden) == (0.02, 7, base.hidden)
    assert parse_variant("", base) == base
    for bad in ("no_such_field=1", "epochs", "epochs=-3"):
        with pytest.raises(ConfigError):
            parse_variant(bad, base)
