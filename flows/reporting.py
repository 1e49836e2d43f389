"""Prefect artifacts shared by the flows: stable keys, metrics tables, progress over fanned-out tasks.

Lasting results get a key (lowercase letters, digits, dashes), so the UI's Artifacts page lists them and keeps
their versions: per stage and profile, per constraint level, per generate request. A cached run publishes
again under the same key, so its latest version always links the artifact in the store.
"""

from __future__ import annotations

import re

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.futures import PrefectFuture, as_completed

from nasgen.stages.readers import metrics
from nasgen.store import Ref


def artifact_key(*parts: object) -> str:
    """``("hl_evo", "demo", "params<=500000")`` -> ``"hl-evo-demo-params-500000"``."""
    text = "-".join(str(p) for p in parts).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9]+", "-", text)).strip("-")


def publish_metrics(ref: Ref, title: str, key: str) -> dict:
    """The artifact's metrics.json as a keyed table artifact and a log line; returns the metrics."""
    m = metrics(ref)
    create_table_artifact(
        [{"metric": k, "value": round(v, 4) if isinstance(v, float) else str(v)} for k, v in m.items()],
        key=key,
        description=f"{title} {ref.uri}",
    )
    get_run_logger().info("%s: %s %s", title, ref.uri, m)
    return m


def results_with_progress(futures: list[PrefectFuture], description: str) -> list:
    """Wait for fanned-out tasks, advancing a progress artifact as each finishes; results in submission order."""
    progress = create_progress_artifact(0.0, description=description)
    for done, f in enumerate(as_completed(futures), start=1):
        f.result()
        update_progress_artifact(progress, 100.0 * done / len(futures))
    return [f.result() for f in futures]
