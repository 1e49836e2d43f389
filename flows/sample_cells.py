"""Flow `sample-cells`: N unique canonical cells into Parquet shards; cached, resumable, recomputes what vanished."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from nasgen.config import SampleCellsConfig, get_profile, with_overrides
from nasgen.stages import cells
from nasgen.store import ArtifactStore, Ref
from tasks import cells as cell_tasks
from tasks.stage import run_stage


def resolve_config(profile: str, **overrides) -> SampleCellsConfig:
    """The profile's config with the non-None overrides applied, validated."""
    return with_overrides(get_profile(profile).cells, "sample-cells", **overrides)


@flow(name="sample-cells", log_prints=True)
def sample_cells(
    n: int | None = None,
    seed: int | None = None,
    shard_size: int | None = None,
    store: str | None = None,
    profile: str = "demo",
) -> Ref:
    """Sample ``n`` unique canonical cells (defaults from ``profile``) into ``store``."""
    log = get_run_logger()
    cfg = resolve_config(profile, n=n, seed=seed, shard_size=shard_size)
    orchestration = get_profile(profile).orchestration
    st = ArtifactStore(store)
    if cells.is_complete(st, cfg):
        log.info("cache hit: %s", st.uri(cells.STAGE, cells.cells_key(cfg)))
        return st.ref(cells.STAGE, cells.cells_key(cfg))
    n_shards = len(cells.shard_sizes(cfg))
    progress = create_progress_artifact(0.0, description=f"sample-cells: {cfg.n} cells in {n_shards} shards")
    refs: list[Ref] = []
    for i in range(n_shards):
        refs.append(
            run_stage(cell_tasks.sample_shard, orchestration, store=st.root, cfg=cfg, index=i, previous=list(refs))
        )
        update_progress_artifact(progress, 100.0 * (i + 1) / n_shards)
    ref = run_stage(cell_tasks.commit_cells, orchestration, store=st.root, cfg=cfg, shards=refs)
    create_table_artifact(
        [{"shard": i, "rows": r.rows, "uri": r.uri} for i, r in enumerate(refs)],
        description=f"cells artifact {ref.uri}: {ref.rows} unique canonical cells",
    )
    log.info("cells: %s (%s rows)", ref.uri, ref.rows)
    return ref


if __name__ == "__main__":
    sample_cells()
