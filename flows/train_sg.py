"""Flow `train-sg`: the sequence generator (GPT-Neo) on the HL-Evo histories; cached."""

from __future__ import annotations

from prefect import flow

from flows.reporting import publish_metrics
from nasgen.config import SGConfig, get_profile, with_overrides
from nasgen.stages import search
from nasgen.store import ArtifactStore, Ref, open_ref
from tasks import sg as sg_tasks
from tasks.stage import run_stage


def resolve_sg(profile: str, **overrides) -> SGConfig:
    return with_overrides(get_profile(profile).sg, "train-sg", **overrides)


@flow(name="train-sg", log_prints=True)
def train_sg(
    search_uris: list[str],
    profile: str = "demo",
    store: str | None = None,
    epochs: int | None = None,
    base_model: str | None = None,
    device: str = "auto",
) -> Ref:
    """Train on the histories of the `hl_evo` artifacts at ``search_uris`` (one per constraint level);
    ``base_model``: a local GPT-Neo checkpoint directory to fine-tune (nothing is downloaded)."""
    cfg = resolve_sg(profile, epochs=epochs, base_model=base_model)
    opened = [open_ref(u, stage=search.STAGE) for u in search_uris]
    st = opened[0][0] if store is None and opened else ArtifactStore(store)
    ref = run_stage(sg_tasks.train_sg, get_profile(profile).orchestration, store=st.root,
                    search_refs=[r for _, r in opened], cfg=cfg, device=device)  # fmt: skip
    publish_metrics(st, ref, "SG")
    return ref


if __name__ == "__main__":
    raise SystemExit("usage: nasgen sg --search URI [--search URI ...]")
