"""`nasgen bench load`: many generate requests at once through a real Prefect server.

A server on 127.0.0.1 (its own PREFECT_HOME), `nasgen deploy`, ``workers`` process workers of the cpu pool, and
``requests`` deployment runs of `generate` created back to back, ``identical`` of them the same request. Every
run must complete; each distinct request must be computed exactly once (the stage's "computing" log lines,
shipped to the server through the deployments' PREFECT_LOGGING_EXTRA_LOGGERS=nasgen, counted per store key)
and committed once; the identical ones wait on the store lease (nasgen.lease) or hit Prefect's cache, whose key
is the store key.
Afterwards no attempt, temporary or lease is left under the new keys and `verify` finds them consistent.
Latency of a request: its flow run's creation to its end, as the server records them.

The requests' seeds start at a fresh base each run (recorded), so a store that kept an earlier run's artifacts
still computes everything again; the pretrain is built into the store first (cached).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np

from benchmarks.config import bench_profile, split_overrides
from benchmarks.figure import pyplot, save
from benchmarks.machine import machine_info
from benchmarks.prefect_server import TERMINAL, PrefectServer, wait
from nasgen.config import resolve_profile
from nasgen.maintenance import key_dirs, orphans, verify
from nasgen.progress import ProgressLine
from nasgen.stages.pipeline import build
from nasgen.store import ArtifactStore

COMPUTING = re.compile(r"^(\w+) ([0-9a-f]+): computing$")
SERVED = "served from the store"
LOST = "another writer committed first"


def absolute_root(store: str | None) -> str:
    """The store's root as every worker must name it (a local path made absolute)."""
    root = ArtifactStore(store).root
    return root if "://" in root else str(Path(root).resolve())


def request(cfg, seed: int) -> dict:
    return {"max_params": cfg.max_params, "max_flops": cfg.max_flops, "input_shape": [1, 28, 28], "classes": 10,
            "seed": seed}  # fmt: skip


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _percentiles(xs: list[float]) -> dict:
    a = np.asarray(xs, dtype=float)
    return {"n": len(xs), "p50": round(float(np.percentile(a, 50)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2)}  # fmt: skip


def new_keys(st: ArtifactStore, before: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(set(key_dirs(st)) - before)


def leftovers(st: ArtifactStore, keys: list[tuple[str, str]]) -> list[str]:
    """Anything under these keys that no manifest names (attempts, temporaries, leases: gc's orphans)."""
    return sorted(p for stage, key in keys for p in orphans(st, stage, key))


def run(profile: str = "demo", store: str | None = None, plot: str | None = None,
        overrides: dict | None = None) -> dict:  # fmt: skip
    lib, ours = split_overrides(overrides or {})
    cfg = bench_profile(profile, overrides=ours).load
    if cfg.identical > cfg.requests:
        raise ValueError(f"load.identical ({cfg.identical}) exceeds load.requests ({cfg.requests})")
    prof = resolve_profile(cfg.flow_profile, overrides=lib)
    root = absolute_root(store)
    st = ArtifactStore(root)
    build(st, prof)  # the pretrain the generate runs read (cached)
    base = int(time.time()) % 1_000_000 * 100  # fresh requests: nothing of an earlier run is reused
    seeds = [base] * cfg.identical + [base + 1 + i for i in range(cfg.requests - cfg.identical)]
    before = set(key_dirs(st))
    with tempfile.TemporaryDirectory(prefix="nasgen-load-") as work, PrefectServer(Path(work), root) as srv:
        deployment = srv.deploy("--cpu-limit", str(cfg.pool_limit))["generate"]
        for i in range(cfg.workers):
            srv.worker("cpu", f"cpu-{i}")
        params = {"run": {"profile": prof.name, "overrides": lib, "device": "cpu"}}
        t0 = time.time()
        ids = [srv.post(f"/deployments/{deployment['id']}/create_flow_run",
                        {"parameters": {**params, "request": request(cfg, s)}})["id"] for s in seeds]  # fmt: skip
        submit_s = time.time() - t0
        bar = ProgressLine("bench load", len(ids))

        def done():
            runs = srv.post("/flow_runs/filter", {"flow_runs": {"id": {"any_": ids}}})
            finished = [r for r in runs if r["state"]["type"] in TERMINAL]
            bar.advance(len(finished) - bar.done)
            return runs if len(finished) == len(ids) else None

        runs = {r["id"]: r for r in wait("every generate run to finish", done, cfg.timeout_s, cfg.poll_s)}
        bar.finish()
        logs = srv.logs(ids)
        tasks = srv.post("/task_runs/filter", {"flow_runs": {"id": {"any_": ids}}})
    computed = Counter(m.groups() for m in (COMPUTING.match(x["message"]) for x in logs) if m)
    ordered = [runs[i] for i in ids]
    latency = [_when(r["end_time"]) - _when(r["created"]) for r in ordered]
    queued = [_when(r["start_time"]) - _when(r["created"]) for r in ordered]
    running = [_when(r["end_time"]) - _when(r["start_time"]) for r in ordered]
    keys = new_keys(st, before)
    check = verify(st, only=keys)
    generated = [k for s, k in keys if s == "generate"]
    out = {
        "benchmark": "load", "machine": machine_info(), "profile": prof.name, "seed_base": base,
        "config": cfg.model_dump(mode="json"), "submit_seconds": round(submit_s, 2),
        "states": dict(Counter(r["state"]["type"] for r in ordered)),
        "latency_s": {"all": _percentiles(latency), "identical": _percentiles(latency[: cfg.identical]),
                      "distinct": _percentiles(latency[cfg.identical:])},
        "queued_s": _percentiles(queued), "running_s": _percentiles(running),
        "distinct_requests": 1 + cfg.requests - cfg.identical,
        "generate_commits": len(generated),
        "computed": {"generate": sum(n for (s, _), n in computed.items() if s == "generate"),
                     "max_per_key": max(computed.values(), default=0),
                     "by_stage": dict(Counter(s for s, _ in computed.elements()))},
        "commits_without_a_computing_line": sorted(f"{s}/{k}" for s, k in keys if (s, k) not in computed),
        "served_while_waiting": sum(SERVED in x["message"] for x in logs),
        "lost_commits": sum(LOST in x["message"] for x in logs),
        "task_states": dict(Counter(f"{t['name'].split('-')[0]}:{t['state']['name']}" for t in tasks if t["state"])),
        "new_artifacts": len(keys), "leftovers": leftovers(st, keys), "verify_problems": check["problems"],
        "runs": [{"seed": s, "identical": i < cfg.identical, "state": r["state"]["type"],
                  **{f"{k}_s": round(_when(r[k]) - t0, 2) for k in ("created", "start_time", "end_time")}}
                 for i, (s, r) in enumerate(zip(seeds, ordered))],
    }  # fmt: skip
    if plot:
        _plot(out, plot)
    return out


def _plot(out: dict, path: str) -> None:
    plt = pyplot()
    from matplotlib.patches import Patch

    colours = {"waiting": "lightgrey", True: "tab:blue", False: "tab:orange"}
    runs = out["runs"]
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(runs) + 1.5))
    for i, r in enumerate(runs):
        ax.barh(i, r["start_time_s"] - r["created_s"], left=r["created_s"], color=colours["waiting"])
        ax.barh(i, r["end_time_s"] - r["start_time_s"], left=r["start_time_s"], color=colours[r["identical"]])
    ax.legend(handles=[Patch(color=colours["waiting"], label="waiting: queue, flow-run process start"),
                       Patch(color=colours[True], label="running: the identical request"),
                       Patch(color=colours[False], label="running: a distinct request")], loc="upper left")  # fmt: skip
    ax.set_xlabel("seconds since the first submission")
    ax.set_ylabel("request (in submission order)")
    ax.set_yticks(range(len(runs)))
    ax.set_ylim(len(runs), -4)
    lat = out["latency_s"]["all"]
    ax.set_title(f"{len(runs)} generate requests at once: p50 {lat['p50']} s, p95 {lat['p95']} s")
    save(fig, path)
