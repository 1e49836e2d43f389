"""Prefect artifacts shared by the model-training flows."""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import create_table_artifact

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
