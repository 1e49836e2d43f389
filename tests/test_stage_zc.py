"""Stage `zc` without an orchestrator: shards, merge, reuse, failure rows, bad input."""

import numpy as np
import pytest

from nasgen.errors import ArtifactMissingError, ConfigError
from nasgen.space.config import SampleCellsConfig, SamplerConfig
from nasgen.stages import cells, zc
from nasgen.stages.pipeline import run_cells, run_zc
from nasgen.store import ArtifactStore, open_ref
from nasgen.zc.config import ScoreCellsConfig, ZCConfig
from nasgen.zc.scorer import Scorer

CELLS = SampleCellsConfig(n=30, shard_size=12, seed=3, sampler=SamplerConfig(batch_size=512))
ZC = ZCConfig(batch_size=4, resolution=4, proxies=("naswot", "snip_ssnr", "tcet", "params", "flops"))


def _setup(tmp_path, n_labelled=7, shard_size=3):
    st = ArtifactStore(str(tmp_path))
    return st, run_cells(st, CELLS), ScoreCellsConfig(n_labelled=n_labelled, shard_size=shard_size, zc=ZC)


def test_scores_every_labelled_cell_exactly_once(tmp_path):
    st, cref, cfg = _setup(tmp_path)
    ref = run_zc(st, cref, cfg)
    table = zc.load_scores(st, ref)
    assert ref.rows == 7 and table.column("position").to_pylist() == list(range(7))
    expected_ids = cells.load_cells(st, cref).column("cell_id").to_pylist()[:7]
    assert table.column("cell_id").to_pylist() == expected_ids
    assert set(table.column("status").to_pylist()) == {"ok"}
    assert table.schema.names == ["position", "cell_id", *ZC.proxies, "status", "error", "seconds", "device"]
    stats = st.read_json(ref, "stats.json")
    assert stats["statuses"]["ok"] == 7 and stats["proxies"]["tcet"]["max"] >= stats["proxies"]["tcet"]["min"]
    assert zc.is_complete(st, cref, cfg) and run_zc(st, cref, cfg) == ref
    assert st.read_bytes(ref, zc.OVERVIEW).startswith(b"\x89PNG")


def test_slices_cross_cells_shard_boundaries(tmp_path):
    st, cref, _ = _setup(tmp_path)
    all_codes = cells.load_cells(st, cref).column("code").to_numpy()
    part = zc.read_cell_slice(cref, 10, 26)  # cells shards are 12 long: spans three of them
    assert np.array_equal(part.column("code").to_numpy(), all_codes[10:26])


def test_growing_the_labelled_set_reuses_full_shards(tmp_path):
    st, cref, cfg = _setup(tmp_path, n_labelled=6, shard_size=3)
    run_zc(st, cref, cfg)
    before = {r["key"]: r["created"] for r in st.list(zc.SHARD_STAGE)}
    run_zc(st, cref, cfg.model_copy(update={"n_labelled": 8}))
    after = {r["key"]: r["created"] for r in st.list(zc.SHARD_STAGE)}
    assert len(after) == 3 and all(after[k] == v for k, v in before.items())


def test_a_failing_cell_is_a_row_and_a_failing_shard_writes_nothing(tmp_path, monkeypatch):
    st, cref, cfg = _setup(tmp_path, n_labelled=3, shard_size=3)
    victim = cells.load_cells(st, cref).column("cell_id").to_pylist()[1]
    real = Scorer._record

    def flaky(self, macro, name):
        if name == victim:
            raise RuntimeError("simulated kernel failure")
        return real(self, macro, name)

    monkeypatch.setattr(Scorer, "_record", flaky)
    table = zc.load_scores(st, run_zc(st, cref, cfg))
    assert table.column("status").to_pylist() == ["ok", "error", "ok"]
    assert "simulated kernel failure" in table.column("error")[1].as_py()

    monkeypatch.setattr(Scorer, "_record", lambda *a: (_ for _ in ()).throw(RuntimeError("no device")))
    other = cfg.model_copy(update={"zc": ZC.model_copy(update={"seed": 5})})
    with pytest.raises(zc.ScoringError, match="no device"):
        zc.compute_shard(st, cref, other, 0)
    assert not st.list(zc.SHARD_STAGE) or all(r["key"] != zc.shard_key(cref, other, 0) for r in st.list(zc.SHARD_STAGE))
    assert not st.fs.exists(st.path(zc.SHARD_STAGE, zc.shard_key(cref, other, 0)))


def test_bad_inputs_name_the_problem(tmp_path):
    st, cref, cfg = _setup(tmp_path)
    with pytest.raises(ConfigError, match="exceeds the 30 cells"):
        zc.plan(cref, cfg.model_copy(update={"n_labelled": 31}))
    with pytest.raises(ArtifactMissingError, match="no committed artifact"):
        open_ref(str(tmp_path / "cells" / ("0" * 24)))
    with pytest.raises(ArtifactMissingError, match="expected a 'cells' artifact"):
        open_ref(run_zc(st, cref, cfg).uri, stage="cells")
    assert open_ref(cref.uri, stage="cells")[1] == cref


def test_cells_in_one_store_scores_in_another_on_s3(tmp_path, s3_endpoint, monkeypatch):
    import uuid

    monkeypatch.setenv("NASGEN_S3_ENDPOINT_URL", s3_endpoint)
    cells_store = ArtifactStore(f"s3://nasgen-test/{uuid.uuid4().hex}")
    cref = run_cells(cells_store, CELLS)
    local = ArtifactStore(str(tmp_path))
    cfg = ScoreCellsConfig(n_labelled=2, shard_size=2, zc=ZC)
    ref = run_zc(local, cref, cfg)
    assert (
        zc.load_scores(local, ref).column("cell_id").to_pylist()
        == (cells.load_cells(cells_store, cref).column("cell_id").to_pylist()[:2])
    )
    s3_ref = run_zc(cells_store, cref, cfg)
    assert s3_ref.uri.startswith("s3://nasgen-test/") and open_ref(s3_ref.uri, stage="zc")[1] == s3_ref
