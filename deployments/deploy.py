"""`nasgen deploy`: work pools, the zombie-run automation, and every deployment of prefect.yaml, on one server.

Idempotent: pools and the automation are created when missing and updated otherwise; `prefect deploy --all`
replaces deployments of the same name. The server is the one PREFECT_API_URL names.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from prefect import get_client
from prefect.automations import Automation
from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectNotFound

from nasgen.errors import ConfigError
from nasgen.store import ArtifactStore

REPO = Path(__file__).resolve().parents[1]
PREFECT_FILE_IN_REPO = Path("deployments") / "prefect.yaml"
PREFECT_FILE = REPO / PREFECT_FILE_IN_REPO
ZOMBIE_AUTOMATION = "nasgen: crash zombie flow runs"
HEARTBEAT_GRACE = timedelta(seconds=90)  # 3 missed heartbeats at PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30


def ensure_pools(limits: dict[str, int | None]) -> None:
    """Process work pools ``{name: concurrency limit (None: unlimited)}``, created or updated."""
    with get_client(sync_client=True) as client:
        for name, limit in limits.items():
            try:
                client.read_work_pool(name)
                client.update_work_pool(name, WorkPoolUpdate(concurrency_limit=limit))
            except ObjectNotFound:
                client.create_work_pool(WorkPoolCreate(name=name, type="process", concurrency_limit=limit))


def ensure_zombie_automation() -> None:
    """Flow runs whose heartbeats stop (a killed worker, a lost machine) are marked Crashed after the grace
    period, so the zc fan-out dispatches their shards again (Prefect's documented zombie recipe)."""
    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(ZOMBIE_AUTOMATION):
            return
    Automation(
        name=ZOMBIE_AUTOMATION,
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },  # fmt: skip
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=HEARTBEAT_GRACE,
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message="no heartbeat: its worker or machine died")],
    ).create()


def apply(gpus: int = 1, cpu_limit: int = 4, code_dir: str | None = None, store: str | None = None) -> list[str]:
    """Pools, automation and deployments; returns the registered deployment names (flow/deployment)."""
    if gpus < 1 or cpu_limit < 1:
        raise ConfigError("gpus and cpu_limit must be >= 1")
    code = Path(code_dir or REPO).resolve()
    prefect_file = code / PREFECT_FILE_IN_REPO
    if not prefect_file.is_file():
        raise ConfigError(f"--code-dir {code} holds no {PREFECT_FILE_IN_REPO}: give the nasgen checkout")
    ensure_pools({"cpu": cpu_limit, "gpu": gpus})
    ensure_zombie_automation()
    root = ArtifactStore(store).root
    root = root if "://" in root else str(Path(root).resolve())  # workers run elsewhere: no relative paths
    env = {**os.environ, "NASGEN_CODE_DIR": str(code), "NASGEN_STORE": root}
    cmd = [str(Path(sys.executable).with_name("prefect")), "--no-prompt", "deploy", "--all", "--prefect-file",
           str(prefect_file)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigError(f"prefect deploy failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-2000:]}")
    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        return sorted(f"{flows[d.flow_id]}/{d.name}" for d in client.read_deployments())
