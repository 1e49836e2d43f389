"""The Prefect backbone: cache hits on store keys, resume after a crash, recompute after deletion."""

import numpy as np
import pytest

from flows.options import RunOptions
from nasgen.errors import ConfigError
from nasgen.stages import cells
from nasgen.stages.pipeline import run_cells
from nasgen.store import ArtifactStore

pytestmark = pytest.mark.usefixtures("prefect_server")
OVERRIDES = {"cells.n": 600, "cells.shard_size": 250, "cells.seed": 1}


def _run(st):
    return RunOptions(profile="smoke", overrides=OVERRIDES, store=st.root)


def _created(st):
    return {r["key"]: r["created"] for r in st.list()}


def test_flow_samples_then_hits_the_cache(tmp_path):
    from flows.cells import cells_flow as sample_cells

    st = ArtifactStore(str(tmp_path))
    ref = sample_cells(run=_run(st))
    assert ref.rows == 600 and len(np.unique(cells.load_cells(st, ref).column("code").to_numpy())) == 600
    before = _created(st)
    assert sample_cells(run=_run(st)) == ref
    assert _created(st) == before  # nothing rewritten


def test_flow_resumes_after_a_crash_and_recomputes_deleted_artifacts(tmp_path, monkeypatch):
    from flows.cells import cells_flow as sample_cells

    st = ArtifactStore(str(tmp_path))
    expected = run_cells(ArtifactStore(str(tmp_path / "reference")), _cfg())
    real = cells.unique_codes
    calls = {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError("worker lost")
        return real(*a, **kw)

    monkeypatch.setattr(cells, "unique_codes", dying)
    with pytest.raises(OSError, match="worker lost"):
        sample_cells(run=_run(st))
    assert calls["n"] == 3  # first shard, then the second shard tried twice (smoke profile: 1 retry)
    done = _created(st)
    assert len(done) == 1
    monkeypatch.setattr(cells, "unique_codes", real)
    ref = sample_cells(run=_run(st))
    assert {k: v for k, v in _created(st).items() if k in done} == done  # shard 0 was a cache hit
    codes = cells.load_cells(st, ref).column("code").to_numpy()
    assert np.array_equal(
        codes, cells.load_cells(ArtifactStore(str(tmp_path / "reference")), expected).column("code").to_numpy()
    )

    victim = cells.load_shard_refs(st, ref)[0]
    st.delete(victim.stage, victim.key)
    assert sample_cells(run=_run(st)) == ref
    assert st.exists(victim.stage, victim.key)  # recomputed, not a stale ref


def test_bad_parameters_fail_before_any_artifact(tmp_path):
    from flows.cells import cells_flow as sample_cells

    st = ArtifactStore(str(tmp_path))
    with pytest.raises(ConfigError, match="cells.n"):
        sample_cells(run=RunOptions(store=st.root, overrides={"cells.n": 0}, profile="smoke"))
    with pytest.raises(ConfigError, match="unknown profile"):
        sample_cells(run=RunOptions(store=st.root, profile="huge"))
    assert st.list() == []


def _cfg():
    from nasgen.config import resolve_profile

    return resolve_profile("smoke", overrides=OVERRIDES).cells


def test_stage_task_is_a_prefect_cache_hit_until_its_artifact_vanishes(tmp_path):
    from prefect import flow

    from nasgen.config import OrchestrationConfig
    from tasks.stage import run_stage

    st = ArtifactStore(str(tmp_path))
    cfg = _cfg()

    @flow
    def one_shard():
        return run_stage(
            "cells_shard",
            OrchestrationConfig(retries=0),
            return_state=True,
            store=st.root,
            cfg=cfg,
            index=0,
            previous=[],
        )

    first = one_shard()
    assert first.is_completed() and not first.name == "Cached"
    second = one_shard()
    assert second.name == "Cached" and second.result() == first.result()
    ref = first.result()
    st.delete(ref.stage, ref.key)
    third = one_shard()  # the stale record is not used: the shard is recomputed
    assert third.name != "Cached" and st.exists(ref.stage, ref.key) and third.result() == ref
    assert one_shard().name == "Cached"
