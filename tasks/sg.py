"""Task of the `sg` stage."""

from __future__ import annotations

from nasgen.config import SGConfig
from nasgen.stages import sg
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _fit(store: str, search_refs: list[Ref], cfg: SGConfig, device: str = "auto") -> Ref:
    return sg.fit(ArtifactStore(store), search_refs, cfg, device=device)


train_sg = stage_task(
    _fit,
    stage=sg.STAGE,
    key_fn=lambda i: sg.sg_key(i["search_refs"], i["cfg"]),
    name="sg-train",
)
