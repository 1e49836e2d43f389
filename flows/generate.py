"""Flow `generate`: networks for a new task and budget from the cached pretrain models, in minutes.

Parameters are a pydantic ``GenerateRequest`` (a form in the Prefect UI; an impossible budget is refused when
the request is made). The SG, CCNF and G-VAE are the ones `pretrain` cached for the profile (or the `sg`
artifact at ``sg_uri``); nothing is retrained, and a missing model fails before any work. Ad hoc from Python:

    from flows.generate import generate
    ref = generate(GenerateRequest(max_params=500_000), RunOptions(profile="demo"))
"""

from __future__ import annotations

import base64

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.export import attach_cards
from flows.latency import latency_model
from flows.options import RunOptions
from flows.reporting import artifact_key
from nasgen.config import Profile
from nasgen.generate.request import GenerateRequest
from nasgen.stages import generate as generate_stage
from nasgen.stages import sg
from nasgen.stages.pipeline import lookup
from nasgen.store import ArtifactStore, Ref, open_ref
from tasks.stage import run_stage


def sg_of(prof: Profile, store: str | None, sg_uri: str | None) -> tuple[ArtifactStore, Ref]:
    """The SG to generate with: the one at ``sg_uri``, else the profile's pretrained one in ``store``."""
    if sg_uri is not None:
        return open_ref(sg_uri, stage=sg.STAGE)
    st = ArtifactStore(store)
    return st, lookup(st, prof)["sg"]


@flow(name="generate", log_prints=True)
def generate(request: GenerateRequest, run: RunOptions = RunOptions(), sg_uri: str | None = None) -> Ref:
    """Sample ``request.n`` networks for the budget, keep those that fit, export the top-k by T-CET."""
    log = get_run_logger()
    prof, device = run.settle()
    sg_store, sg_ref = sg_of(prof, run.store, sg_uri)
    st = sg_store if run.store is None else ArtifactStore(run.store)
    latency_ref = None
    if request.max_latency_ms is not None:  # the latency device's table and predictor, built there once
        _, latency_ref = latency_model(prof, st, request.input_shape, request.classes, request.latency_device)
    ref = run_stage("generate", prof.orchestration, store=st.root, sg_ref=sg_ref, request=request, cfg=prof.generate,
                    latency_ref=latency_ref, device=device)  # fmt: skip
    summary = generate_stage.summary(ref)
    report(ref, summary)
    attach_cards([(ref, c["rank"]) for c in summary["chosen"]], prof.export, device)
    log.info("generate: %s %s", ref.uri, summary["counts"])
    for w in summary.get("warnings", []):
        log.warning("generate: %s", w)
    return ref


def report(ref: Ref, summary: dict) -> None:
    """Keyed Prefect artifacts (one key per request): a table of the chosen networks, a page of their pictures."""
    key = artifact_key("generate", ref.key)
    create_table_artifact(
        [{k: c[k] for k in ("rank", "tcet", "params", "flops", "positions", "arch_id")} for c in summary["chosen"]],
        key=key,
        description=f"generate: chosen networks for {summary['request']}",
    )
    parts = [f"### Generated networks\n\nrequest `{summary['request']}`\n\nSG condition `{summary['condition']}`"
             f"\n\ncounts `{summary['counts']}`\n\nartifact: `{ref.uri}`\n",
             *(f"\n> warning: {w}\n" for w in summary.get("warnings", []))]  # fmt: skip
    for c in summary["chosen"]:
        png = base64.b64encode(generate_stage.chosen_picture(ref, c["rank"])).decode()
        parts.append(f"#### rank {c['rank']}: T-CET {c['tcet']:.1f}, {c['params']:,} params\n\n"
                     f"![rank {c['rank']}](data:image/png;base64,{png})\n")  # fmt: skip
    create_markdown_artifact("\n".join(parts), key=f"{key}-pictures", description="generate: the chosen networks")
