"""Task of the `ccnf` stage."""

from __future__ import annotations

from nasgen.config import CCNFConfig
from nasgen.stages import ccnf
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _fit(store: str, gvae_ref: Ref, cfg: CCNFConfig, device: str = "auto") -> Ref:
    return ccnf.fit(ArtifactStore(store), gvae_ref, cfg, device=device)


train_ccnf = stage_task(
    _fit,
    stage=ccnf.STAGE,
    key_fn=lambda i: ccnf.ccnf_key(i["gvae_ref"], i["cfg"]),
    name="ccnf-train",
)
