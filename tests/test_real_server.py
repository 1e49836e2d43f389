"""A real Prefect server on 127.0.0.1: pools, workers, `nasgen deploy`, the zc fan-out surviving a killed
worker, REST checks of runs and artifacts, and a headless-Chromium screenshot of the UI (`make test-server`).

Slow (several minutes: a killed run is only marked Crashed once its heartbeats have been missing for the
zombie automation's grace period), so marked `slow`. The screenshot goes to $NASGEN_SCREENSHOT when set.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from nasgen.config import resolve_profile
from nasgen.space.config import SampleCellsConfig, SamplerConfig
from nasgen.stages import zc
from nasgen.stages.pipeline import run_cells
from nasgen.store import ArtifactStore
from tests.conftest import _free_port

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DEPLOYMENTS = {"pretrain", "zc", "zc-fanout", "generate", "evaluate", "select-and-train"}
LIMIT, SHARD = 40, 2  # 20 shards of 2 cells at the demo ZC config (about a second each on this CPU)


def _wait(what: str, check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _kill_tree(pid: int) -> None:
    proc = psutil.Process(pid)
    for p in [*proc.children(recursive=True), proc]:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api, OMP_NUM_THREADS="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30",
               NASGEN_STORE=str(tmp_path / "store"))  # fmt: skip
    procs: list[subprocess.Popen] = []

    def start(*cmd: str, name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(p)
        return p

    start(str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), name="server")
    _wait("the Prefect server", lambda: _healthy(api), 120)
    yield api, env, start
    for p in procs:
        if p.poll() is None:
            _kill_tree(p.pid)


def _post(api: str, path: str, body: dict | None = None) -> list | dict:
    r = httpx.post(f"{api}{path}", json=body or {}, timeout=30)
    r.raise_for_status()
    return r.json()


def test_zc_fanout_on_a_real_server_survives_a_killed_worker(server, tmp_path):
    api, env, start = server
    store = ArtifactStore(env["NASGEN_STORE"])
    cref = run_cells(store, SampleCellsConfig(n=LIMIT, shard_size=LIMIT, sampler=SamplerConfig(batch_size=256)))

    out = subprocess.run([str(BIN / "nasgen"), "deploy", "--gpus", "2"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    deployments = {d["name"]: d for d in _post(api, "/deployments/filter")}
    assert set(deployments) == DEPLOYMENTS
    for d in deployments.values():  # the parameter form of each deployment in the UI
        assert d["parameter_openapi_schema"]["properties"] and d["work_pool_name"] in ("cpu", "gpu")
        assert all(not s["active"] for s in d["schedules"])
    assert {p["name"]: p["concurrency_limit"] for p in _post(api, "/work_pools/filter")} == {"cpu": 4, "gpu": 2}

    start(str(BIN / "nasgen"), "worker", "--pool", "cpu", "--name", "cpu-0", name="worker-cpu")
    gpu_workers = [start(str(BIN / "nasgen"), "worker", "--pool", "gpu", "--gpu", str(i), name=f"worker-gpu{i}")
                   for i in range(2)]  # fmt: skip
    parent = _post(
        api,
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
        runs = _post(api, "/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["zc-shard"]},
                                                               "state": {"type": {"any_": ["RUNNING"]}}}})  # fmt: skip
        committed = set(zc.committed_shards(store, cref, cfg))
        for run in runs:
            mine = set(run["parameters"]["shard_indices"])
            if mine & committed and len(mine - committed) >= 3 and run.get("infrastructure_pid"):
                return run  # mid-run: some of its shards done, more to go
        return None

    victim = _wait("a zc-shard run with a finished shard", running_child, 300, every=0.25)
    pid = int(str(victim["infrastructure_pid"]).rsplit(":", 1)[-1])
    owner = next(w for w in gpu_workers if pid in {c.pid for c in psutil.Process(w.pid).children(recursive=True)})
    _kill_tree(owner.pid)  # the worker and its flow-run process: a lost machine

    def parent_state():
        state = httpx.get(f"{api}/flow_runs/{parent['id']}", timeout=10).json()["state"]["type"]
        return state if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

    assert _wait("the zc fan-out to finish", parent_state, 600, every=2) == "COMPLETED"
    assert httpx.get(f"{api}/flow_runs/{victim['id']}", timeout=10).json()["state"]["type"] == "CRASHED"

    assert zc.is_complete(store, cref, cfg)  # the zc artifact is committed
    n = len(zc.plan(cref, cfg))
    done = _post(api, "/task_runs/filter", {"task_runs": {"name": {"like_": "zc-shard-"},
                                                          "state": {"type": {"any_": ["COMPLETED"]}}}})  # fmt: skip
    counts = {i: sum(t["name"] == f"zc-shard-{i}" for t in done) for i in range(n)}
    assert counts == {i: 1 for i in range(n)}  # every shard completed exactly once
    children = _post(api, "/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["zc-shard"]}}})
    assert len(children) >= 3  # two in the first round, at least one more for the crashed run's shards

    artifacts = _post(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [parent["id"]]}}})
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
