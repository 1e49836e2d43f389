"""GMM cell families: model selection on synthetic mixtures, array-only predictions, the stage, bad input."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from nasgen.clusters.config import ClusterConfig
from nasgen.clusters.gmm import ClusterModel, fit_clusters, plateau, select
from nasgen.errors import ConfigError
from nasgen.space.config import SampleCellsConfig, SamplerConfig
from nasgen.stages import clusters, zc
from nasgen.stages.pipeline import run_cells, run_zc
from nasgen.stages.registry import run
from nasgen.store import ArtifactStore
from nasgen.zc.config import ScoreCellsConfig, ZCConfig
from nasgen.zc.transform import ZCTransform
from tests.conftest import run_cli

COMPONENTS = ("naswot", "snip_ssnr", "params", "flops")


def _mixture(k_true, n_per=150, d=4, seed=0, spread=6.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(k_true, d))
    return np.concatenate([c + rng.normal(size=(n_per, d)) for c in centres]), np.repeat(np.arange(k_true), n_per)


@pytest.mark.parametrize("k_true", [1, 3, 5])
def test_selection_finds_the_true_number_of_components(k_true):
    t, _ = _mixture(k_true, seed=k_true)
    sel, _ = select(t, ClusterConfig(k_max=9, n_init=2))
    assert sel.k == k_true
    assert sel.bic.argmin() == k_true - 1  # BIC's minimum agrees on well-separated data


def test_plateau_is_the_first_value_near_the_best():
    assert plateau(np.array([10.0, 4.0, 1.2, 1.0, 1.1]), tol=0.05) == 2  # 1.2 - 1.0 <= 0.05 * 9
    assert plateau(np.array([3.0, 4.0, 5.0]), tol=0.05) == 0  # never improves
    assert plateau(np.array([100.0, 95.0, 92.0]), tol=0.05, min_delta=10) == 0  # gains below min_delta


def test_array_predictions_match_scikit_learn():
    t, labels = _mixture(3, seed=7)
    g = GaussianMixture(3, random_state=0).fit(t)
    ident = ZCTransform(("a", "b", "c", "d"), (), np.zeros(4), np.ones(4))
    model = ClusterModel(g.weights_, g.means_, g.covariances_, ident)
    np.testing.assert_array_equal(model.predict(t), g.predict(t))
    np.testing.assert_allclose(model.score_samples(t), g.score_samples(t), rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(t).sum(1), 1.0)


def test_transform_round_trip_and_errors():
    rng = np.random.default_rng(1)
    z = np.column_stack(
        [rng.normal(200, 10, 50), rng.lognormal(12, 1, 50), rng.lognormal(13, 1, 50), rng.lognormal(16, 1, 50)]
    )
    tr = ZCTransform.fit(z, COMPONENTS, ("params", "flops"))
    t = tr(z)
    np.testing.assert_allclose(t.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(t.std(0), 1, atol=1e-12)
    np.testing.assert_allclose(tr.inverse(t), z, rtol=1e-10)
    assert ZCTransform.from_json(tr.to_json()).to_json() == tr.to_json()
    bad = z.copy()
    bad[0, 2] = 0.0
    with pytest.raises(ConfigError, match="params must be positive"):
        tr(bad)
    with pytest.raises(ConfigError, match="constant"):
        ZCTransform.fit(np.ones((5, 4)), COMPONENTS, ())
    with pytest.raises(ConfigError, match="shape"):
        tr(z[:, :3])
    with pytest.raises(ConfigError, match="at least 2"):
        fit_clusters(z[:1], ClusterConfig())


def test_stage_fits_stores_arrays_and_loads_back(tmp_path):
    st = ArtifactStore(str(tmp_path))
    cref = run_cells(st, SampleCellsConfig(n=24, shard_size=24, sampler=SamplerConfig(batch_size=512)))
    zcfg = ScoreCellsConfig(n_labelled=24, shard_size=12, zc=ZCConfig(batch_size=4, resolution=4, proxies=COMPONENTS))
    zref = run_zc(st, cref, zcfg)
    cfg = ClusterConfig(k_max=3, n_init=1)
    ref = run("clusters", st, zc_ref=zref, cfg=cfg)
    model = clusters.load(ref.uri)
    assign = clusters.load_assignments(st, ref)
    table = zc.load_scores(st, zref)
    z = ZCTransform.raw(table, COMPONENTS)
    assert ref.rows == 24 and 1 <= model.k <= 3
    np.testing.assert_array_equal(model.assign(z), assign.column("cluster").to_numpy())
    assert assign.column("cell_id").to_pylist() == table.column("cell_id").to_pylist()
    sel = st.read_parquet(ref, "selection.parquet")
    assert sel.column("chosen").to_pylist().count(True) == 1 and st.read_bytes(ref, "selection.png")[:4] == b"\x89PNG"
    assert not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in st.manifest(clusters.STAGE, ref.key)["files"])
    assert run("clusters", st, zc_ref=zref, cfg=cfg) == ref  # cached
    with pytest.raises(ValueError, match="k_max"):
        ClusterConfig(k_min=4, k_max=2)
    with pytest.raises(ConfigError, match="cannot support"):
        run("clusters", st, zc_ref=zref, cfg=ClusterConfig(k_min=30, k_max=40))


@pytest.mark.parametrize("cov", ["full", "diag"])
def test_parameter_count_matches_scikit_learn_and_aicc_rejects_unsupported_models(cov):
    from nasgen.clusters.gmm import corrected_aic, n_parameters

    t, _ = _mixture(2, n_per=40, seed=3)
    g = GaussianMixture(3, covariance_type=cov, random_state=0).fit(t)
    assert n_parameters(3, 4, cov) == g._n_parameters()
    assert corrected_aic(g.aic(t), 100, 80) == float("inf")
    assert corrected_aic(10.0, 2, 10**9) == pytest.approx(10.0)


@pytest.mark.usefixtures("prefect_server")
def test_flow_and_cli(tmp_path, monkeypatch, capsys):
    from flows.options import RunOptions
    from flows.stage import run_stage_flow

    st = ArtifactStore(str(tmp_path))
    cref = run_cells(st, SampleCellsConfig(n=16, shard_size=16, sampler=SamplerConfig(batch_size=512)))
    zcfg = ScoreCellsConfig(n_labelled=16, shard_size=16, zc=ZCConfig(batch_size=4, resolution=4, proxies=COMPONENTS))
    zref = run_zc(st, cref, zcfg)
    ref = run_stage_flow("clusters", upstream=[zref.uri], run=RunOptions(profile="smoke"))
    assert ref.uri.startswith(st.root) and clusters.load(ref.uri).k >= 1
    assert run_stage_flow("clusters", upstream=[zref.uri], run=RunOptions(profile="smoke")) == ref
    for args, message in (
        (["clusters", str(tmp_path / "zc" / "nope")], "no committed artifact"),
        (["clusters", cref.uri], "needs a 'zc' artifact"),
        (["clusters", zref.uri, "--set", "clusters.k_max=0"], "invalid overrides"),
        (["clusters", zref.uri, zref.uri.replace("/zc/", "/cells/")], "no committed artifact"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 2 and message in err
