"""Task of the `gvae` stage."""

from __future__ import annotations

from nasgen.config import GVAEConfig
from nasgen.stages import gvae
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _fit(store: str, cells_ref: Ref, zc_ref: Ref, clusters_ref: Ref, cfg: GVAEConfig, device: str = "auto") -> Ref:
    return gvae.fit(ArtifactStore(store), cells_ref, zc_ref, clusters_ref, cfg, device=device)


train_gvae = stage_task(
    _fit,
    stage=gvae.STAGE,
    key_fn=lambda i: gvae.gvae_key(i["cells_ref"], i["zc_ref"], i["clusters_ref"], i["cfg"]),
    name="gvae-train",
)
