"""Flow `train-gvae`: the G-VAE on the cells, regularised by the ZC vectors of the labelled ones; cached."""

from __future__ import annotations

from prefect import flow

from flows.reporting import publish_metrics
from nasgen.config import GVAEConfig, get_profile, with_overrides
from nasgen.stages import cells as cell_stage
from nasgen.stages import clusters as cluster_stage
from nasgen.stages import zc
from nasgen.store import ArtifactStore, Ref, open_ref, upstream_of
from tasks import gvae as gvae_tasks
from tasks.stage import run_stage


def resolve_gvae(profile: str, **overrides) -> GVAEConfig:
    return with_overrides(get_profile(profile).gvae, "train-gvae", **overrides)


@flow(name="train-gvae", log_prints=True)
def train_gvae(
    clusters_uri: str,
    profile: str = "demo",
    store: str | None = None,
    epochs: int | None = None,
    triplet_weight: float | None = None,
    predictor_weight: float | None = None,
    encoder: str | None = None,
    device: str = "auto",
) -> Ref:
    """Train on the cells behind the `clusters` artifact at ``clusters_uri`` (its zc and cells upstream).
    ``triplet_weight=0, predictor_weight=0`` trains the naive G-VAE of paper Fig. 2b; ``device``: cpu,
    cuda[:N] or auto (the GPU when there is one)."""
    cfg = resolve_gvae(profile, epochs=epochs, triplet_weight=triplet_weight, predictor_weight=predictor_weight,
                       encoder=encoder)  # fmt: skip
    cl_store, cl_ref = open_ref(clusters_uri, stage=cluster_stage.STAGE)
    zc_ref = upstream_of(cl_ref, zc.STAGE)
    cells_ref = upstream_of(zc_ref, cell_stage.STAGE)
    st = cl_store if store is None else ArtifactStore(store)
    ref = run_stage(gvae_tasks.train_gvae, get_profile(profile).orchestration, store=st.root, cells_ref=cells_ref,
                    zc_ref=zc_ref, clusters_ref=cl_ref, cfg=cfg, device=device)  # fmt: skip
    publish_metrics(st, ref, "G-VAE")
    return ref


if __name__ == "__main__":
    raise SystemExit("usage: nasgen gvae --clusters URI")
