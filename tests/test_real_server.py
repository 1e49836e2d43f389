"""A real Prefect server on 127.0.0.1: pools, workers, `nasgen deploy`, the zc fan-out surviving a killed
worker, REST checks of runs and artifacts, and a headless-Chromium screenshot of the UI (`make test-server`).

Slow (several minutes: a killed run is only marked Crashed once its heartbeats have been missing for the
zombie automation's grace period), so marked `slow`. The screenshot goes to $NASGEN_SCREENSHOT when set.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import psutil
import pytest

from benchmarks.prefect_server import TERMINAL, PrefectServer, kill_tree, wait
from nasgen.config import resolve_profile
from nasgen.space.config import SampleCellsConfig, SamplerConfig
from nasgen.stages import zc
from nasgen.stages.pipeline import run_cells
from nasgen.store import ArtifactStore

pytestmark = pytest.mark.slow

DEPLOYMENTS = {"pretrain", "zc", "zc-fanout", "generate", "evaluate", "select-and-train"}
LIMIT, SHARD = 40, 2  # 20 shards of 2 cells at the demo ZC config (about a second each on this CPU)


@pytest.fixture
def server(tmp_path):
    with PrefectServer(tmp_path, store=str(tmp_path / "store")) as s:
        yield s


def test_zc_fanout_on_a_real_server_survives_a_killed_worker(server, tmp_path):
    api, env, _post = server.api, server.env, server.post
    store = ArtifactStore(env["NASGEN_STORE"])
    cref = run_cells(store, SampleCellsConfig(n=LIMIT, shard_size=LIMIT, sampler=SamplerConfig(batch_size=256)))

    out = server.nasgen("deploy", "--gpus", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    deployments = server.deployments()
    assert set(deployments) == DEPLOYMENTS
    for d in deployments.values():  # the parameter form of each deployment in the UI
        assert d["parameter_openapi_schema"]["properties"] and d["work_pool_name"] in ("cpu", "gpu")
        assert all(not s["active"] for s in d["schedules"])
    assert {p["name"]: p["concurrency_limit"] for p in _post("/work_pools/filter")} == {"cpu": 4, "gpu": 2}

    server.worker("cpu", "cpu-0")
    gpu_workers = [server.worker("gpu", f"gpu-{i}", "--gpu", str(i)) for i in range(2)]
    parent = _post(
        f"/deployments/{deployments['zc-fanout']['id']}/create_flow_run",
        {
            "parameters": {
                "cells": cref.uri,
                "parts": 2,
                "run": {"profile": "demo", "overrides": {"zc.shard_size": SHARD, "zc.n_labelled": LIMIT}},
                "poll_seconds": 2,
            }
        },
    )

    cfg = resolve_profile("demo", overrides={"zc.shard_size": SHARD, "zc.n_labelled": LIMIT}).zc

    def running_child():
        runs = _post("/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["zc-shard"]},
                                                               "state": {"type": {"any_": ["RUNNING"]}}}})  # fmt: skip
        committed = set(zc.committed_shards(store, cref, cfg))
        for run in runs:
            mine = set(run["parameters"]["shard_indices"])
            if mine & committed and len(mine - committed) >= 3 and run.get("infrastructure_pid"):
                return run  # mid-run: some of its shards done, more to go
        return None

    victim = wait("a zc-shard run with a finished shard", running_child, 300, every=0.25)
    pid = int(str(victim["infrastructure_pid"]).rsplit(":", 1)[-1])
    owner = next(w for w in gpu_workers if pid in {c.pid for c in psutil.Process(w.pid).children(recursive=True)})
    kill_tree(owner.pid)  # the worker and its flow-run process: a lost machine

    def parent_state():
        state = server.state(parent["id"])
        return state if state in TERMINAL else None

    assert wait("the zc fan-out to finish", parent_state, 600, every=2) == "COMPLETED"
    assert server.state(victim["id"]) == "CRASHED"

    assert zc.is_complete(store, cref, cfg)  # the zc artifact is committed
    n = len(zc.plan(cref, cfg))
    done = _post("/task_runs/filter", {"task_runs": {"name": {"like_": "zc-shard-"},
                                                          "state": {"type": {"any_": ["COMPLETED"]}}}})  # fmt: skip
    counts = {i: sum(t["name"] == f"zc-shard-{i}" for t in done) for i in range(n)}
    assert counts == {i: 1 for i in range(n)}  # every shard completed exactly once
    children = _post("/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["zc-shard"]}}})
    assert len(children) >= 3  # two in the first round, at least one more for the crashed run's shards

    artifacts = _post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [parent["id"]]}}})
    assert {"progress", "table"} <= {a["type"] for a in artifacts}

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed: no UI screenshot (apt-get install chromium)")
    shot = tmp_path / "flow-runs.png"
    ui = api.removesuffix("/api") + "/runs"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1600,1000", "--virtual-time-budget=15000", f"--screenshot={shot}", ui],
                   env=env, capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
    if os.environ.get("NASGEN_SCREENSHOT"):
        shutil.copy(shot, os.environ["NASGEN_SCREENSHOT"])
