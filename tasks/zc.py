"""Tasks of the `zc` stage: one cached, retried task per shard, and the commit."""

from __future__ import annotations

from nasgen.config import ScoreCellsConfig
from nasgen.stages import zc
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _score_shard(store: str, cells_ref: Ref, cfg: ScoreCellsConfig, index: int, device: str = "cpu") -> Ref:
    return zc.score_shard(ArtifactStore(store), cells_ref, cfg, index, device)


def _commit(store: str, cells_ref: Ref, cfg: ScoreCellsConfig, shards: list[Ref]) -> Ref:
    return zc.commit_scores(ArtifactStore(store), cells_ref, cfg, shards)


def _shard_key(i: dict) -> str:
    start, stop = zc.plan(i["cells_ref"], i["cfg"])[i["index"]]
    return zc.shard_key(i["cells_ref"], i["cfg"], start, stop)


score_shard = stage_task(
    _score_shard, stage=zc.SHARD_STAGE, key_fn=_shard_key, name="zc-shard", run_name="zc-shard-{index}"
)
commit_scores = stage_task(
    _commit, stage=zc.STAGE, key_fn=lambda i: zc.scores_key(i["cells_ref"], i["cfg"]), name="zc-commit"
)
