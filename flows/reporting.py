"""Prefect artifacts shared by the flows: metrics tables, progress over fanned-out tasks."""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.futures import PrefectFuture, as_completed

from nasgen.store import ArtifactStore, Ref


def publish_metrics(st: ArtifactStore, ref: Ref, what: str) -> dict:
    """The artifact's metrics.json as a table artifact and a log line; returns the metrics."""
    metrics = st.read_json(ref, "metrics.json")
    create_table_artifact(
        [{"metric": k, "value": round(v, 4) if isinstance(v, float) else str(v)} for k, v in metrics.items()],
        description=f"{what} {ref.uri}",
    )
    get_run_logger().info("%s: %s %s", what, ref.uri, metrics)
    return metrics


def results_with_progress(futures: list[PrefectFuture], description: str) -> list:
    """Wait for fanned-out tasks, advancing a progress artifact as each finishes; results in submission order."""
    progress = create_progress_artifact(0.0, description=description)
    for done, f in enumerate(as_completed(futures), start=1):
        f.result()
        update_progress_artifact(progress, 100.0 * done / len(futures))
    return [f.result() for f in futures]
