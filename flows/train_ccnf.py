"""Flow `train-ccnf`: the conditional CNF over the latents of a trained G-VAE; cached."""

from __future__ import annotations

from prefect import flow

from flows.reporting import publish_metrics
from nasgen.config import CCNFConfig, get_profile, with_overrides
from nasgen.stages import gvae
from nasgen.store import ArtifactStore, Ref, open_ref
from tasks import ccnf as ccnf_tasks
from tasks.stage import run_stage


def resolve_ccnf(profile: str, **overrides) -> CCNFConfig:
    return with_overrides(get_profile(profile).ccnf, "train-ccnf", **overrides)


@flow(name="train-ccnf", log_prints=True)
def train_ccnf(
    gvae_uri: str,
    profile: str = "demo",
    store: str | None = None,
    epochs: int | None = None,
    adjoint: bool | None = None,
    device: str = "auto",
) -> Ref:
    """Train on the latents of the `gvae` artifact at ``gvae_uri``; ``device``: cpu, cuda[:N] or auto."""
    cfg = resolve_ccnf(profile, epochs=epochs, adjoint=adjoint)
    g_store, g_ref = open_ref(gvae_uri, stage=gvae.STAGE)
    st = g_store if store is None else ArtifactStore(store)
    ref = run_stage(ccnf_tasks.train_ccnf, get_profile(profile).orchestration, store=st.root, gvae_ref=g_ref,
                    cfg=cfg, device=device)  # fmt: skip
    publish_metrics(st, ref, "CCNF")
    return ref


if __name__ == "__main__":
    raise SystemExit("usage: nasgen ccnf --gvae URI")
