"""Flow `pretrain`: every stage of the pretrain DAG (``nasgen.stages.pipeline.PRETRAIN``) once, cached.

Each step is its own sub-flow (visible in the Prefect UI); each artifact is keyed by its config and upstream
keys, so a rerun with the same profile skips everything and a changed stage recomputes only itself and what
follows. What `generate` then reuses is exactly what this leaves in the store.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from flows.cells import cells_flow
from flows.hl_evo import hl_evo_flow
from flows.options import RunOptions
from flows.reporting import artifact_key
from flows.stage import run_stage_flow
from flows.zc import zc_flow
from nasgen.stages.pipeline import PRETRAIN, Step, walk
from nasgen.store import ArtifactStore, Ref
from tasks.stage import run_stage


@flow(name="pretrain", log_prints=True)
def pretrain(run: RunOptions = RunOptions()) -> dict[str, Ref | list[Ref]]:
    """Run (or find cached) every pretrain stage of the profile in the store; the device trains and scores."""
    log = get_run_logger()
    prof, device = run.settle()
    root = ArtifactStore(run.store).root
    sub = run.child(prof, store=root, device=device)
    steps = [s for s in PRETRAIN if s.applies(prof)]
    progress = create_progress_artifact(0.0, description=f"pretrain ({prof.name}): {len(steps)} stages")
    done: list[str] = []

    def execute(step: Step, cfg, inputs: dict) -> Ref | list[Ref]:
        if step.name == "cells":
            ref = cells_flow(run=sub)
        elif step.name == "zc":
            ref = zc_flow(cells=inputs["cells_ref"].uri, run=sub)
        elif step.per_level:
            gp, lat = inputs.get("graphpnas_ref"), inputs.get("latency_ref")
            ref = hl_evo_flow(ccnf_uri=inputs["ccnf_ref"].uri, run=sub, graphpnas_uri=None if gp is None else gp.uri,
                              latency_uri=None if lat is None else lat.uri)  # fmt: skip
        elif step.args is not None:  # inputs besides artifacts: the stage's task with them
            ref = run_stage(step.name, prof.orchestration, store=root, cfg=cfg, **inputs)
        else:
            uris = [u.uri for v in inputs.values() for u in (v if isinstance(v, list) else [v])]
            ref = run_stage_flow(step.name, upstream=uris, run=sub)
        done.append(step.name)
        update_progress_artifact(progress, 100.0 * len(done) / len(steps))
        return ref

    refs = walk(prof, execute)
    rows = [{"stage": s, "uri": r.uri if isinstance(r, Ref) else ", ".join(x.uri for x in r)} for s, r in refs.items()]
    create_table_artifact(rows, key=artifact_key("pretrain", prof.name), description=f"pretrain ({prof.name})")
    log.info("pretrain done: %s", refs["sg"].uri)
    return refs
