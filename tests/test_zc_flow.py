"""The zc flow: fan-out back ends (threads, spawned processes, a real Dask cluster), resume after kill -9."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from flows.options import RunOptions
from nasgen.space.config import SampleCellsConfig, SamplerConfig
from nasgen.stages import zc
from nasgen.stages.pipeline import run_cells, run_zc
from nasgen.store import ArtifactStore
from tests.conftest import run_cli

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.heavy]  # heavy: started first (conftest)
FOUR = {"zc.n_labelled": 4, "zc.shard_size": 2}  # the first 4 cells in 2 shards
CELLS = SampleCellsConfig(n=40, shard_size=20, seed=11, sampler=SamplerConfig(batch_size=512))


@pytest.fixture()
def cells_ref(tmp_path):
    st = ArtifactStore(str(tmp_path))
    return st, run_cells(st, CELLS)


def _check_table(st, ref, n):
    table = zc.load_scores(st, ref)
    assert table.column("position").to_pylist() == list(range(n))
    assert set(table.column("status").to_pylist()) == {"ok"}
    return table


def test_threads_then_cache_hit(cells_ref):
    from flows.zc import zc_flow as score_cells

    st, cref = cells_ref
    ref = score_cells(cells=cref.uri, run=_run(st, FOUR))
    table = _check_table(st, ref, 4)
    created = {r["key"]: r["created"] for r in st.list()}
    assert score_cells(cells=cref.uri, run=_run(st, FOUR)) == ref
    assert {r["key"]: r["created"] for r in st.list()} == created
    # the same numbers as the library without Prefect
    local = zc.load_scores(st, run_zc(ArtifactStore(str(Path(st.root) / "plain")), cref, _cfg(4, 2)))
    assert np.array_equal(local.column("tcet").to_numpy(), table.column("tcet").to_numpy())


def _run(st, overrides):
    return RunOptions(profile="smoke", overrides=overrides, store=st.root)


def _one_per_shard(n):
    return {"zc.n_labelled": n, "zc.shard_size": 1}


def _cfg(limit, shard_size):
    from nasgen.config import resolve_profile

    return resolve_profile("smoke", overrides={"zc.n_labelled": limit, "zc.shard_size": shard_size}).zc


def test_process_pool_runner(cells_ref):
    from flows.zc import zc_flow as score_cells

    st, cref = cells_ref
    ref = score_cells(
        cells=cref.uri,
        run=_run(st, FOUR),
        runner="processes",
        max_workers=2,
    )
    _check_table(st, ref, 4)


def test_dask_cluster_of_two_worker_processes(cells_ref):
    from distributed import Client, LocalCluster

    from flows.zc import zc_flow as score_cells

    st, cref = cells_ref
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as lc:
        with Client(lc) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            address = lc.scheduler_address.removeprefix("tcp://")
            ref = score_cells(
                cells=cref.uri,
                run=_run(st, {"zc.n_labelled": 4, "zc.shard_size": 1}),
                runner=f"dask://{address}",
            )
            worker_pids = set(client.run(os.getpid).values())
    _check_table(st, ref, 4)
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids


def _shards(st):
    return {r["key"]: r["created"] for r in st.list(zc.SHARD_STAGE)}


@pytest.mark.slow  # 77 s of the default suite's 10 minutes; the real-server test kills a worker mid fan-out too
@pytest.mark.timeout(900)
def test_killed_run_resumes_only_the_missing_shards(cells_ref):
    from prefect.settings import PREFECT_API_URL

    from flows.zc import zc_flow as score_cells

    st, cref = cells_ref
    n = 12
    args = [cref.uri, "--set", f"zc.n_labelled={n}", "--set", "zc.shard_size=1", "--max-workers", "1", "--profile",
            "smoke"]  # fmt: skip
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    proc = subprocess.Popen([sys.executable, "-m", "deployments.cli", "zc", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    while len(_shards(st)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    survived = _shards(st)
    assert 2 <= len(survived) < n, f"kill landed outside the run: {len(survived)} shards committed"
    assert not st.exists(zc.STAGE, zc.key(cref, _cfg(n, 1)))

    ref = score_cells(cells=cref.uri, run=_run(st, _one_per_shard(n)))
    after = _shards(st)
    assert len(after) == n
    assert all(after[k] == v for k, v in survived.items())  # committed shards were not recomputed
    _check_table(st, ref, n)


def test_cli_rejects_bad_runner_and_missing_cells(tmp_path, monkeypatch, capsys):

    for args, message in (
        (["zc", "--runner", "mpi", "--store", str(tmp_path)], "unknown runner"),
        (["zc", str(tmp_path / "cells" / "abc")], "no committed artifact"),
        (["zc", "--store", str(tmp_path), "--profile", "smoke"], "nasgen cells"),
        (["zc", "--device", "quantum", "--store", str(tmp_path)], "unknown device"),
        (["zc", "--set", "zc.shard_size=0", "--store", str(tmp_path)], "invalid overrides"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, *args)
        assert code == 2 and message in err


def test_runs_split_by_shard_indices_commit_once_all_are_done(cells_ref):
    from flows.zc import zc_flow as score_cells

    st, cref = cells_ref
    common = {"cells": cref.uri, "run": _run(st, FOUR)}
    assert score_cells(shard_indices=[1], **common) is None  # e.g. the run on GPU 1 of 2
    assert len(_shards(st)) == 1 and not st.list(zc.STAGE)
    ref = score_cells(shard_indices=[0], **common)
    _check_table(st, ref, 4)
    with pytest.raises(Exception, match="shard_indices must lie in 0..1"):
        score_cells(
            shard_indices=[2], cells=cref.uri, run=RunOptions(profile="smoke", overrides=FOUR, store=st.root + "/other")
        )  # nothing committed there


def test_zc_lands_next_to_the_cells_by_default(cells_ref, monkeypatch, tmp_path_factory):
    from flows.zc import zc_flow as score_cells

    st, cref = cells_ref
    monkeypatch.delenv("NASGEN_STORE", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))  # the ./artifacts fallback would be here
    ref = score_cells(
        cells=cref.uri, run=RunOptions(profile="smoke", overrides={"zc.n_labelled": 2, "zc.shard_size": 2})
    )
    assert ref.uri == st.uri(zc.STAGE, ref.key) and not os.path.exists("artifacts")


def test_default_runner_is_processes_on_cpu_threads_on_a_gpu_unless_the_profile_says():
    from flows.zc import default_runner
    from nasgen.config import OrchestrationConfig, get_profile

    auto = OrchestrationConfig()
    assert (default_runner(auto, "cpu"), default_runner(auto, "cuda:0")) == ("processes", "threads")
    assert default_runner(OrchestrationConfig(zc_runner="threads"), "cpu") == "threads"
    assert get_profile("demo").orchestration.zc_runner == "auto"
    assert get_profile("tiny").orchestration.zc_runner == "threads"  # one shard: no spawn
