"""Flow `generate`: networks for a new task and budget from the cached pretrain models, in minutes.

Parameters are a pydantic ``GenerateRequest`` (a form in the Prefect UI). The SG, CCNF and G-VAE are the
ones `pretrain` cached for the profile (or the `sg` artifact at ``sg_uri``); nothing is retrained, and a
missing model or an impossible budget fails before any work. Ad hoc from Python:

    from flows.generate import generate
    ref = generate(GenerateRequest(max_params=500_000))
"""

from __future__ import annotations

import base64

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from nasgen.config import get_profile
from nasgen.generate.request import GenerateRequest
from nasgen.stages import sg
from nasgen.stages.pretrained import pretrained_sg
from nasgen.store import ArtifactStore, Ref, open_ref
from tasks import generate as generate_tasks
from tasks.stage import run_stage


def resolve_sg_ref(profile: str, store: str | None, sg_uri: str | None) -> tuple[ArtifactStore, Ref]:
    if sg_uri is not None:
        return open_ref(sg_uri, stage=sg.STAGE)
    st = ArtifactStore(store)
    return st, pretrained_sg(st, get_profile(profile))


@flow(name="generate", log_prints=True)
def generate(
    request: GenerateRequest,
    profile: str = "demo",
    store: str | None = None,
    sg_uri: str | None = None,
    device: str = "cpu",
) -> Ref:
    """Sample ``request.n`` networks for the budget, keep those that fit, export the top-k by T-CET."""
    log = get_run_logger()
    request.check_feasible()
    prof = get_profile(profile)
    sg_store, sg_ref = resolve_sg_ref(profile, store, sg_uri)
    st = sg_store if store is None else ArtifactStore(store)
    ref = run_stage(generate_tasks.generate_networks, prof.orchestration, store=st.root, sg_ref=sg_ref,
                    request=request, cfg=prof.generate, device=device)  # fmt: skip
    summary = st.read_json(ref, "summary.json")
    report(st, ref, summary)
    log.info("generate: %s %s", ref.uri, summary["counts"])
    return ref


def report(st: ArtifactStore, ref: Ref, summary: dict) -> None:
    """Prefect artifacts: a table of the chosen networks and a markdown page with their pictures."""
    create_table_artifact(
        [{k: c[k] for k in ("rank", "tcet", "params", "flops", "positions", "arch_id")} for c in summary["chosen"]],
        description=f"generate: chosen networks for {summary['request']}",
    )
    parts = [f"### Generated networks\n\nrequest `{summary['request']}`\n\nSG condition `{summary['condition']}`"
             f"\n\ncounts `{summary['counts']}`\n\nartifact: `{ref.uri}`\n"]  # fmt: skip
    for c in summary["chosen"]:
        png = base64.b64encode(st.read_bytes(ref, f"rank{c['rank']}.png")).decode()
        parts.append(f"#### rank {c['rank']}: T-CET {c['tcet']:.1f}, {c['params']:,} params\n\n"
                     f"![rank {c['rank']}](data:image/png;base64,{png})\n")  # fmt: skip
    create_markdown_artifact("\n".join(parts), description="generate: pictures of the chosen networks")


if __name__ == "__main__":
    raise SystemExit("usage: nasgen generate --max-params N")
