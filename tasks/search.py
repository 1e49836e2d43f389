"""Task of the `hl_evo` stage: one constraint level."""

from __future__ import annotations

from nasgen.config import ConstraintConfig, SearchConfig
from nasgen.stages import search
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _run(store: str, ccnf_ref: Ref, cfg: SearchConfig, level: ConstraintConfig, device: str = "cpu") -> Ref:
    return search.run(ArtifactStore(store), ccnf_ref, cfg, level, device=device)


hl_evo_level = stage_task(
    _run,
    stage=search.STAGE,
    key_fn=lambda i: search.search_key(i["ccnf_ref"], i["cfg"], i["level"]),
    name="hl-evo-level",
    run_name="hl-evo-{level.name}",
)
