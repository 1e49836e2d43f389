"""Flow `fit-clusters`: GMM cell families of a `zc` artifact, K where BIC and AICc plateau; cached."""

from __future__ import annotations

import base64

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from nasgen.config import ClusterConfig, get_profile, with_overrides
from nasgen.stages import zc
from nasgen.store import ArtifactStore, Ref, open_ref
from tasks import clusters as cluster_tasks
from tasks.stage import run_stage


def resolve_clusters(profile: str, k_max: int | None = None, seed: int | None = None) -> ClusterConfig:
    return with_overrides(get_profile(profile).clusters, "fit-clusters", k_max=k_max, seed=seed)


@flow(name="fit-clusters", log_prints=True)
def fit_clusters(
    zc_uri: str, profile: str = "demo", store: str | None = None, k_max: int | None = None, seed: int | None = None
) -> Ref:
    """Cluster the scored cells of the `zc` artifact at ``zc_uri``; the result goes to ``store``
    (default: the zc artifact's store)."""
    log = get_run_logger()
    cfg = resolve_clusters(profile, k_max, seed)
    zc_store, zc_ref = open_ref(zc_uri, stage=zc.STAGE)
    st = zc_store if store is None else ArtifactStore(store)
    ref = run_stage(
        cluster_tasks.fit_clusters, get_profile(profile).orchestration, store=st.root, zc_ref=zc_ref, cfg=cfg
    )
    sel = st.read_parquet(ref, "selection.parquet").to_pylist()
    info = st.read_json(ref, "model.json")
    create_table_artifact(
        [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()} for row in sel],
        description=f"GMM model selection for {zc_ref.uri}: K = {info['k']}",
    )
    png = base64.b64encode(st.read_bytes(ref, "selection.png")).decode()
    create_markdown_artifact(
        f"### Cell families: K = {info['k']}\n\ncluster sizes {info['sizes']}\n\n"
        f"![BIC / AIC / AICc against K](data:image/png;base64,{png})\n\nartifact: `{ref.uri}`",
        description="fit-clusters: information criteria against K",
    )
    log.info("clusters: K=%d sizes=%s at %s", info["k"], info["sizes"], ref.uri)
    return ref


if __name__ == "__main__":
    raise SystemExit("usage: nasgen cluster --zc URI")
