"""The cells stage without an orchestrator: chain of shards, resume, recompute of vanished shards."""

import numpy as np
import pytest

from nasgen.space.config import SampleCellsConfig, SamplerConfig
from nasgen.stages import cells
from nasgen.stages.pipeline import run_cells
from nasgen.store import ArtifactStore

CFG = SampleCellsConfig(n=2500, shard_size=1000, seed=5, sampler=SamplerConfig(batch_size=700))


def _codes(store, ref):
    return cells.load_cells(store, ref).column("code").to_numpy()


def test_shards_concatenate_to_the_unique_stream(tmp_path):
    from nasgen.space.sampling import unique_codes

    st = ArtifactStore(str(tmp_path))
    ref = run_cells(st, CFG)
    codes = _codes(st, ref)
    assert ref.rows == 2500 and len(np.unique(codes)) == 2500
    assert np.array_equal(codes, unique_codes(2500, 5, CFG.sampler)[0])
    table = cells.load_cells(st, ref)
    assert table.column("position").to_pylist() == list(range(2500))
    assert table.column("cell_id").to_pylist()[0] == format(int(codes[0]), "016x")


def test_interrupted_run_resumes_with_identical_output(tmp_path, monkeypatch):
    full = ArtifactStore(str(tmp_path / "full"))
    expected = _codes(full, run_cells(full, CFG))

    st = ArtifactStore(str(tmp_path / "cut"))
    real = cells.unique_codes
    calls = {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("worker killed")
        return real(*a, **kw)

    monkeypatch.setattr(cells, "unique_codes", dying)
    with pytest.raises(KeyboardInterrupt):
        run_cells(st, CFG)
    assert [r["stage"] for r in st.list()] == ["cells_shard", "cells_shard"]  # shard 2 left nothing behind
    created = {r["key"]: r["created"] for r in st.list()}
    monkeypatch.setattr(cells, "unique_codes", real)
    ref = run_cells(st, CFG)
    assert np.array_equal(_codes(st, ref), expected)
    assert all(r["created"] == created[r["key"]] for r in st.list("cells_shard") if r["key"] in created)


def test_deleted_shard_is_recomputed_identically(tmp_path):
    st = ArtifactStore(str(tmp_path))
    ref = run_cells(st, CFG)
    before = _codes(st, ref)
    victim = cells.load_shard_refs(st, ref)[1]
    st.delete(victim.stage, victim.key)
    assert not cells.is_complete(st, CFG)
    ref2 = run_cells(st, CFG)
    assert cells.is_complete(st, CFG) and np.array_equal(_codes(st, ref2), before)


def test_commit_refuses_missing_shards(tmp_path):
    st = ArtifactStore(str(tmp_path))
    with pytest.raises(ValueError, match="needs 3 shards"):
        cells.compute(st, CFG, [])
