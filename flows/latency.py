"""Flow `latency`: the lookup table and latency predictor of the run's device for one input, cached per device
(a GPU worker builds its own). Ad hoc from Python:

    from flows.latency import latency_flow
    refs = latency_flow(input_shape=(1, 28, 28), classes=10)
"""

from __future__ import annotations

import base64

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.options import RunOptions
from flows.reporting import artifact_key
from nasgen.config import Profile
from nasgen.store import ArtifactStore, Ref, store_of
from tasks.stage import run_stage


def latency_model(prof: Profile, st: ArtifactStore, input_shape: tuple[int, int, int], classes: int,
                  device: str) -> tuple[Ref, Ref]:  # fmt: skip
    """(latency_table, latency_model) of ``device`` for the input, each computed once and cached."""
    table = run_stage("latency_table", prof.orchestration, store=st.root, cfg=prof.latency_table,
                      input_shape=tuple(input_shape), classes=classes, latency_device=device)  # fmt: skip
    model = run_stage("latency_model", prof.orchestration, store=st.root, table_ref=table, cfg=prof.latency_model,
                      latency_device=device)  # fmt: skip
    return table, model


SPLITS = ("fit", "holdout", "table_sum_only_holdout")


@flow(name="latency", log_prints=True)
def latency_flow(input_shape: tuple[int, int, int] = (3, 32, 32), classes: int = 10,
                 run: RunOptions = RunOptions()) -> dict[str, Ref]:  # fmt: skip
    """Measure the device's lookup table for networks of ``input_shape`` and ``classes``, fit and validate the
    predictor on random networks measured whole; publish its accuracy."""
    prof, device = run.settle()
    table, model = latency_model(prof, ArtifactStore(run.store), tuple(input_shape), classes, device)
    metrics = store_of(model).read_json(model, "metrics.json")
    png = base64.b64encode(store_of(model).read_bytes(model, "accuracy.png")).decode()
    rows = "\n".join(f"| {split} | {m['n']} | {m['within_10pct']:.1%} | {m['mape']:.1%} | {m['spearman']:.3f} |"
                     for split, m in ((s, metrics[s]) for s in SPLITS))  # fmt: skip
    create_markdown_artifact(
        f"### Latency predictor on {metrics['device']['cpu'] if device == 'cpu' else metrics['device']['gpu']}\n\n"
        f"| networks | n | within ±10% | MAPE | Spearman |\n|---|---|---|---|---|\n{rows}\n\n"
        f"![predicted against measured](data:image/png;base64,{png})\n\ntable `{table.uri}`, model `{model.uri}`",
        key=artifact_key("latency", model.key),
        description="latency predictor accuracy",
    )
    get_run_logger().info("latency: holdout within ±10%% %.1f%% at %s", 100 * metrics["holdout"]["within_10pct"],
                          model.uri)  # fmt: skip
    return {"latency_table": table, "latency_model": model}
