"""One flow for every single-stage run (`clusters`, `gvae`, `ccnf`, `sg`, `nb201_proxies`, ...): the registry's
stage on the artifacts it reads, cached, its results published as keyed Prefect artifacts. Each run is named
after its stage (``stage_flow(...)`` runs under the flow name the stage gives it).

The inputs are artifact URIs; what a stage needs and was not given is found upstream of them (``--clusters``
is enough for the G-VAE: its zc and cells are the clusters' own). Ad hoc from Python:

    from flows.stage import run_stage_flow
    ref = run_stage_flow("gvae", ["./artifacts/clusters/<key>"])
"""

from __future__ import annotations

import base64

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.options import RunOptions
from flows.reporting import artifact_key, publish_metrics
from nasgen.config import Profile
from nasgen.stages import clusters, nb201_proxies
from nasgen.stages.pipeline import upstream_inputs
from nasgen.stages.registry import stage
from nasgen.store import ArtifactStore, Ref, open_ref, store_of
from tasks.stage import run_stage


def _report_clusters(ref: Ref, prof: Profile) -> None:
    info = clusters.model_info(ref)
    create_table_artifact(
        [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()} for row in clusters.selection(ref)],
        key=artifact_key("clusters", prof.name, "selection"),
        description=f"GMM model selection: K = {info['k']}",
    )
    png = base64.b64encode(store_of(ref).read_bytes(ref, clusters.SELECTION_PNG)).decode()
    create_markdown_artifact(
        f"### Cell families: K = {info['k']}\n\ncluster sizes {info['sizes']}\n\n"
        f"![BIC / AIC / AICc against K](data:image/png;base64,{png})\n\nartifact: `{ref.uri}`",
        key=artifact_key("clusters", prof.name),
        description="cell families: information criteria against K",
    )
    get_run_logger().info("clusters: K=%d sizes=%s at %s", info["k"], info["sizes"], ref.uri)


def _report_nb201(ref: Ref, prof: Profile) -> None:
    c = nb201_proxies.correlations(ref)
    create_table_artifact(
        [{"proxy": p, "spearman_valid": round(v["spearman"], 3), "spearman_test": round(c["test"][p]["spearman"], 3),
          "kendall_test": round(c["test"][p]["kendall"], 3), "n": v["n"]} for p, v in c["valid"].items()],
        key=artifact_key("nb201-proxies", prof.name), description=f"NB-201 proxies {ref.uri}",
    )  # fmt: skip


REPORTS = {"clusters": _report_clusters, "nb201_proxies": _report_nb201}


@flow(name="stage", log_prints=True)
def stage_flow(name: str, upstream: list[str] | None = None, run: RunOptions = RunOptions()) -> Ref:
    """Run stage ``name`` on the artifacts at the ``upstream`` URIs; the result goes to the store (default: the
    first upstream artifact's store, else $NASGEN_STORE or ./artifacts)."""
    prof, device = run.settle()
    s = stage(name)
    opened = [open_ref(u) for u in upstream or []]
    inputs = upstream_inputs(s.name, [r for _, r in opened])
    st = ArtifactStore(run.store) if run.store is not None or not opened else opened[0][0]
    ref = run_stage(s.name, prof.orchestration, store=st.root, cfg=getattr(prof, s.section),
                    **({"device": device} if s.uses_device else {}), **inputs)  # fmt: skip
    report = REPORTS.get(s.name)
    if report is not None:
        report(ref, prof)
    else:
        publish_metrics(ref, s.title, artifact_key(s.command, prof.name))
    return ref


def run_stage_flow(name: str, **kwargs) -> Ref:
    """``stage_flow`` under the stage's own flow name (what the UI lists: `gvae`, `ccnf`, ...)."""
    return stage_flow.with_options(name=stage(name).command)(name, **kwargs)
