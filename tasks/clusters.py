"""Task of the `clusters` stage."""

from __future__ import annotations

from nasgen.config import ClusterConfig
from nasgen.stages import clusters
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _fit(store: str, zc_ref: Ref, cfg: ClusterConfig) -> Ref:
    return clusters.fit(ArtifactStore(store), zc_ref, cfg)


fit_clusters = stage_task(
    _fit, stage=clusters.STAGE, key_fn=lambda i: clusters.clusters_key(i["zc_ref"], i["cfg"]), name="clusters-fit"
)
