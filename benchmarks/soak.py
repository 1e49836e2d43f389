"""`nasgen bench soak`: one process worker serving scheduled runs of the generate deployment for a long time,
its memory watched.

A server on 127.0.0.1 (its own PREFECT_HOME), `nasgen deploy`, an interval schedule (``interval_s``) on the
generate deployment with one request of profile ``flow_profile`` (its pretrain built into the store first), one
worker of the cpu pool. Every ``sample_s`` the resident memory (RSS) of the worker process, of its flow-run
processes and of the server is sampled. Reported: run states and durations, RSS at the start and end, the
worker's growth over the second half (least squares, MB per hour), and the plot. The first run computes the
request; later runs find it in the store (a cached flow run still starts a process, runs the engine and
publishes its Prefect artifacts).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import psutil

from benchmarks.config import bench_profile, split_overrides
from benchmarks.figure import pyplot, save
from benchmarks.load import absolute_root, request
from benchmarks.machine import machine_info
from benchmarks.prefect_server import PrefectServer
from nasgen.config import resolve_profile
from nasgen.progress import ProgressLine
from nasgen.stages.pipeline import build
from nasgen.store import ArtifactStore

MB = 2**20
SCHEDULER_LOOP_S = "5"  # the server's scheduler looks for due runs this often (Prefect's default: 60)


def _rss(pid: int) -> tuple[float, float]:
    """(RSS of the process, summed RSS of its descendants), MB; zeros when it is gone."""
    try:
        p = psutil.Process(pid)
        children = sum(c.memory_info().rss for c in p.children(recursive=True) if c.is_running())
        return p.memory_info().rss / MB, children / MB
    except psutil.Error:
        return 0.0, 0.0


def growth_mb_per_hour(t: np.ndarray, rss: np.ndarray) -> float:
    """Least-squares slope of RSS over the second half of the samples, MB per hour (the first half holds the
    warm-up: imports, first run, caches)."""
    half = len(t) // 2
    if len(t) - half < 2:
        return 0.0
    return float(np.polyfit(t[half:], rss[half:], 1)[0] * 3600)


def run(profile: str = "demo", store: str | None = None, plot: str | None = None,
        overrides: dict | None = None) -> dict:  # fmt: skip
    lib, ours = split_overrides(overrides or {})
    cfg = bench_profile(profile, overrides=ours).soak
    prof = resolve_profile(cfg.flow_profile, overrides=lib)
    root = absolute_root(store)
    build(ArtifactStore(root), prof)  # the pretrain the generate runs read (cached)
    env = {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": SCHEDULER_LOOP_S}
    samples: list[tuple[float, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="nasgen-soak-") as work, PrefectServer(Path(work), root, env) as srv:
        deployment = srv.deploy()["generate"]
        params = {"run": {"profile": prof.name, "overrides": lib, "device": "cpu"},
                  "request": request(cfg, 0)}  # fmt: skip
        srv.post(f"/deployments/{deployment['id']}/schedules",
                 [{"schedule": {"interval": cfg.interval_s}, "active": True, "parameters": params}])  # fmt: skip
        server = srv.procs[0]
        worker = srv.worker("cpu", "cpu-soak")
        t0, end = time.time(), time.time() + cfg.minutes * 60
        bar = ProgressLine("bench soak", int(cfg.minutes * 60 / cfg.sample_s))
        while time.time() < end:
            w, children = _rss(worker.pid)
            s, api = _rss(server.pid)  # `prefect server start` and the API process it starts
            samples.append((time.time() - t0, w, children, s + api))
            bar.advance()
            time.sleep(max(0.0, min(cfg.sample_s, end - time.time())))
        bar.finish()
        runs = srv.post("/flow_runs/filter", {"deployments": {"id": {"any_": [deployment["id"]]}}})
        alive = worker.poll() is None
    t, w, children, s = (np.asarray(c) for c in zip(*samples))
    durations = [r["total_run_time"] for r in runs if r["state"]["type"] == "COMPLETED"]
    out = {
        "benchmark": "soak", "machine": machine_info(), "profile": prof.name, "config": cfg.model_dump(mode="json"),
        "minutes": round(float(t[-1]) / 60, 2), "samples": len(t), "worker_alive": alive,
        "runs": dict(Counter(r["state"]["type"] for r in runs)),
        "run_seconds": {"median": round(float(np.median(durations)), 2) if durations else None,
                        "max": round(float(max(durations)), 2) if durations else None},
        "worker_rss_mb": {"first": round(float(w[0]), 1), "max": round(float(w.max()), 1),
                          "last": round(float(w[-1]), 1)},
        "worker_growth_mb_per_hour": round(growth_mb_per_hour(t, w), 2),
        "flow_run_rss_mb_max": round(float(children.max()), 1),
        "server_rss_mb": {"first": round(float(s[0]), 1), "max": round(float(s.max()), 1),
                          "last": round(float(s[-1]), 1)},
        "server_growth_mb_per_hour": round(growth_mb_per_hour(t, s), 2),
        "series": {name: [round(float(x), 1) for x in xs] for name, xs in
                   (("t_s", t), ("worker_mb", w), ("flow_runs_mb", children), ("server_mb", s))},
    }  # fmt: skip
    if plot:
        _plot(out, plot)
    return out


def _plot(out: dict, path: str) -> None:
    plt = pyplot()

    series = out["series"]
    minutes = np.asarray(series["t_s"]) / 60
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(minutes, series["worker_mb"], label=f"worker ({out['worker_growth_mb_per_hour']:+.1f} MB/h, 2nd half)")
    ax.plot(minutes, series["server_mb"], label=f"server ({out['server_growth_mb_per_hour']:+.1f} MB/h, 2nd half)")
    ax.plot(minutes, series["flow_runs_mb"], label="flow-run processes (sum)", alpha=0.5)
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS (MB)")
    done = out["runs"].get("COMPLETED", 0)
    ax.set_title(f"soak: generate every {out['config']['interval_s']} s, {done} runs completed")
    ax.legend()
    save(fig, path)
