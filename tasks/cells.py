"""Tasks of the `cells` stage."""

from __future__ import annotations

from nasgen.config import SampleCellsConfig
from nasgen.stages import cells
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _sample_shard(store: str, cfg: SampleCellsConfig, index: int, previous: list[Ref]) -> Ref:
    return cells.sample_shard(ArtifactStore(store), cfg, index, previous)


def _commit(store: str, cfg: SampleCellsConfig, shards: list[Ref]) -> Ref:
    return cells.commit_cells(ArtifactStore(store), cfg, shards)


sample_shard = stage_task(
    _sample_shard,
    stage=cells.SHARD_STAGE,
    key_fn=lambda i: cells.shard_key(i["cfg"], i["index"]),
    name="cells-shard",
    run_name="cells-shard-{index}",
)
commit_cells = stage_task(_commit, stage=cells.STAGE, key_fn=lambda i: cells.cells_key(i["cfg"]), name="cells-commit")
