"""The score-cells flow: fan-out back ends (threads, spawned processes, a real Dask cluster), resume after kill -9."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nasgen.config import SampleCellsConfig, SamplerConfig
from nasgen.stages import cells, zc
from nasgen.store import ArtifactStore
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("prefect_server")
CELLS = SampleCellsConfig(n=40, shard_size=20, seed=11, sampler=SamplerConfig(batch_size=512))


@pytest.fixture()
def cells_ref(tmp_path):
    st = ArtifactStore(str(tmp_path))
    return st, cells.run_local(st, CELLS)


def _check_table(st, ref, n):
    table = zc.load_scores(st, ref)
    assert table.column("position").to_pylist() == list(range(n))
    assert set(table.column("status").to_pylist()) == {"ok"}
    return table


def test_threads_then_cache_hit(cells_ref):
    from flows.score_cells import score_cells

    st, cref = cells_ref
    ref = score_cells(cells=cref.uri, store=st.root, profile="smoke", limit=4, shard_size=2)
    table = _check_table(st, ref, 4)
    created = {r["key"]: r["created"] for r in st.list()}
    assert score_cells(cells=cref.uri, store=st.root, profile="smoke", limit=4, shard_size=2) == ref
    assert {r["key"]: r["created"] for r in st.list()} == created
    # the same numbers as the library without Prefect
    local = zc.load_scores(st, zc.run_local(ArtifactStore(str(Path(st.root) / "plain")), cref, _cfg(4, 2)))
    assert np.array_equal(local.column("tcet").to_numpy(), table.column("tcet").to_numpy())


def _cfg(limit, shard_size):
    from flows.score_cells import resolve_scoring

    return resolve_scoring("smoke", shard_size, limit)


def test_process_pool_runner(cells_ref):
    from flows.score_cells import score_cells

    st, cref = cells_ref
    ref = score_cells(
        cells=cref.uri, store=st.root, profile="smoke", limit=4, shard_size=2, runner="processes", max_workers=2
    )
    _check_table(st, ref, 4)


def test_dask_cluster_of_two_worker_processes(cells_ref):
    from distributed import Client, LocalCluster

    from flows.score_cells import score_cells

    st, cref = cells_ref
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as lc:
        with Client(lc) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            address = lc.scheduler_address.removeprefix("tcp://")
            ref = score_cells(
                cells=cref.uri, store=st.root, profile="smoke", limit=4, shard_size=1, runner=f"dask://{address}"
            )
            worker_pids = set(client.run(os.getpid).values())
    _check_table(st, ref, 4)
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids


def _shards(st):
    return {r["key"]: r["created"] for r in st.list(zc.SHARD_STAGE)}


def test_killed_run_resumes_only_the_missing_shards(cells_ref):
    from prefect.settings import PREFECT_API_URL

    from flows.score_cells import score_cells

    st, cref = cells_ref
    n = 12
    args = ["--cells", cref.uri, "--limit", str(n), "--shard-size", "1", "--max-workers", "1", "--profile", "smoke"]
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    proc = subprocess.Popen([sys.executable, "-m", "nasgen.cli", "score", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    while len(_shards(st)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    survived = _shards(st)
    assert 2 <= len(survived) < n, f"kill landed outside the run: {len(survived)} shards committed"
    assert not st.exists(zc.STAGE, zc.scores_key(cref, _cfg(n, 1)))

    ref = score_cells(cells=cref.uri, store=st.root, profile="smoke", limit=n, shard_size=1)
    after = _shards(st)
    assert len(after) == n
    assert all(after[k] == v for k, v in survived.items())  # committed shards were not recomputed
    _check_table(st, ref, n)


def test_cli_rejects_bad_runner_and_missing_cells(tmp_path, monkeypatch, capsys):

    for args, message in (
        (["score", "--runner", "mpi", "--store", str(tmp_path)], "unknown runner"),
        (["score", "--cells", str(tmp_path / "cells" / "abc")], "no committed artifact"),
        (["score", "--store", str(tmp_path), "--profile", "smoke"], "nasgen cells sample"),
        (["score", "--device", "quantum", "--store", str(tmp_path)], "unknown device"),
        (["score", "--shard-size", "0", "--store", str(tmp_path)], "invalid score-cells parameters"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 2 and message in err


def test_runs_split_by_shard_indices_commit_once_all_are_done(cells_ref):
    from flows.score_cells import score_cells

    st, cref = cells_ref
    common = {"cells": cref.uri, "store": st.root, "profile": "smoke", "limit": 4, "shard_size": 2}
    assert score_cells(shard_indices=[1], **common) is None  # e.g. the run on GPU 1 of 2
    assert len(_shards(st)) == 1 and not st.list(zc.STAGE)
    ref = score_cells(shard_indices=[0], **common)
    _check_table(st, ref, 4)
    with pytest.raises(Exception, match="shard_indices must lie in 0..1"):
        score_cells(shard_indices=[2], **{**common, "store": st.root + "/other"})  # nothing committed there


def test_zc_lands_next_to_the_cells_by_default(cells_ref, monkeypatch, tmp_path_factory):
    from flows.score_cells import score_cells

    st, cref = cells_ref
    monkeypatch.delenv("NASGEN_STORE", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))  # the ./artifacts fallback would be here
    ref = score_cells(cells=cref.uri, profile="smoke", limit=2, shard_size=2)
    assert ref.uri == st.uri(zc.STAGE, ref.key) and not os.path.exists("artifacts")
