"""Task of the `generate` stage: one request on the cached models."""

from __future__ import annotations

from nasgen.config import GenerateConfig
from nasgen.generate.request import GenerateRequest
from nasgen.stages import generate
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _run(store: str, sg_ref: Ref, request: GenerateRequest, cfg: GenerateConfig, device: str = "cpu") -> Ref:
    return generate.run_request(ArtifactStore(store), sg_ref, request, cfg, device=device)


generate_networks = stage_task(
    _run,
    stage=generate.STAGE,
    key_fn=lambda i: generate.generate_key(i["sg_ref"], i["request"], i["cfg"]),
    name="generate-networks",
)
