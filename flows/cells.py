"""Flow `cells`: N unique canonical cells into Parquet shards; cached, resumable, recomputes what vanished.

The shards form a chain (each continues the sampler's stream where the previous stopped), one cached task
each (`cells-shard-<i>`), then the commit. A killed run resumes at the first shard it had not committed.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from flows.options import RunOptions
from flows.reporting import artifact_key
from nasgen.stages import cells
from nasgen.store import ArtifactStore, Ref
from tasks.stage import run_stage


@flow(name="cells", log_prints=True)
def cells_flow(run: RunOptions = RunOptions()) -> Ref:
    """Sample the profile's cells (overrides such as ``{"cells.n": 50000}``) into the store."""
    log = get_run_logger()
    prof, _ = run.settle()
    cfg = prof.cells
    st = ArtifactStore(run.store)
    if cells.is_complete(st, cfg):
        ref = st.ref(cells.STAGE, cells.key(cfg))
        refs = cells.load_shard_refs(st, ref)
        log.info("cache hit: %s", ref.uri)
    else:
        n_shards = len(cells.shard_sizes(cfg))
        progress = create_progress_artifact(0.0, description=f"cells: {cfg.n} cells in {n_shards} shards")
        refs = []
        for i in range(n_shards):
            refs.append(run_stage("cells_shard", prof.orchestration, store=st.root, cfg=cfg, index=i,
                                  previous=list(refs)))  # fmt: skip
            update_progress_artifact(progress, 100.0 * (i + 1) / n_shards)
        ref = run_stage("cells", prof.orchestration, store=st.root, cfg=cfg, shards=refs)
    create_table_artifact(
        [{"shard": i, "rows": r.rows, "uri": r.uri} for i, r in enumerate(refs)],
        key=artifact_key("cells", prof.name),
        description=f"cells artifact {ref.uri}: {ref.rows} unique canonical cells",
    )
    log.info("cells: %s (%s rows)", ref.uri, ref.rows)
    return ref
