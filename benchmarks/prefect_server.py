"""A real Prefect server on 127.0.0.1 with its own PREFECT_HOME and store, and the processes around it (workers,
`nasgen deploy`), all started here and killed (with their children) on exit: what the real-server test, the
concurrent-generate benchmark and the soak share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

BIN = Path(sys.executable).parent
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
STARTUP_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(what: str, check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    """``check()``'s first truthy value, polled every ``every`` seconds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started (a worker and its flow-run processes: a lost machine)."""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    for p in [*proc.children(recursive=True), proc]:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


class PrefectServer:
    """``with PrefectServer(workdir, store) as s:`` a healthy server at ``s.api``; ``s.env`` is the environment
    of every process talking to it (its PREFECT_HOME, PREFECT_API_URL, NASGEN_STORE, one OpenMP thread)."""

    def __init__(self, workdir: Path, store: str, env: dict[str, str] | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        self.env = {**base, "PREFECT_HOME": str(self.workdir / "prefect-home"), "PREFECT_API_URL": self.api,
                    "OMP_NUM_THREADS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30", "NASGEN_STORE": store, **(env or {})}  # fmt: skip
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> PrefectServer:
        self.start(str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port),
                   name="server")  # fmt: skip
        try:
            wait("the Prefect server", self.healthy, STARTUP_S)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                kill_tree(p.pid)

    def start(self, *cmd: str, name: str) -> subprocess.Popen:
        """A process with the server's environment, its output in ``<workdir>/<name>.log``."""
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        p = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def nasgen(self, *args: str) -> subprocess.CompletedProcess:
        """A `nasgen` command against this server (e.g. ``deploy``), run to completion."""
        return subprocess.run([str(BIN / "nasgen"), *args], env=self.env, capture_output=True, text=True)

    def deploy(self, *args: str) -> dict[str, dict]:
        """`nasgen deploy` (pools, automation, every deployment) against this server; the deployments by name."""
        out = self.nasgen("deploy", *args)
        if out.returncode != 0:
            raise RuntimeError(f"nasgen deploy failed: {out.stderr[-3000:]}")
        return self.deployments()

    def worker(self, pool: str, name: str, *args: str) -> subprocess.Popen:
        """A `nasgen worker` of ``pool`` (its log: ``<workdir>/<name>.log``)."""
        return self.start(str(BIN / "nasgen"), "worker", "--pool", pool, "--name", name, *args, name=name)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, path: str, body: dict | None = None) -> Any:
        r = httpx.post(f"{self.api}{path}", json=body or {}, timeout=30)
        r.raise_for_status()
        return r.json()

    def get(self, path: str) -> Any:
        r = httpx.get(f"{self.api}{path}", timeout=30)
        r.raise_for_status()
        return r.json()

    def deployments(self) -> dict[str, dict]:
        return {d["name"]: d for d in self.post("/deployments/filter")}

    def state(self, run_id: str) -> str:
        """A flow run's state type (COMPLETED, CRASHED, ...)."""
        return self.get(f"/flow_runs/{run_id}")["state"]["type"]

    def logs(self, run_ids: list[str]) -> list[dict]:
        """Every log line of these flow runs, oldest first (the API pages at 200)."""
        out: list[dict] = []
        while True:
            page = self.post("/logs/filter", {"logs": {"flow_run_id": {"any_": run_ids}}, "sort": "TIMESTAMP_ASC",
                                              "offset": len(out), "limit": 200})  # fmt: skip
            out += page
            if len(page) < 200:
                return out
