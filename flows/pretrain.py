"""Flow `pretrain`: every stage once, cached — sample, score, cluster, G-VAE, CCNF, HL-Evo, SG.

Each stage is its own sub-flow (visible in the Prefect UI), each artifact is keyed by its config and
upstream keys, so a rerun with the same profile skips everything and a changed stage recomputes only
itself and what follows. What `generate` then reuses is exactly what this leaves in the store.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from flows.fit_clusters import fit_clusters
from flows.hl_evo import hl_evo
from flows.sample_cells import sample_cells
from flows.score_cells import score_cells
from flows.train_ccnf import train_ccnf
from flows.train_gvae import train_gvae
from flows.train_sg import train_sg
from nasgen.config import get_profile
from nasgen.store import ArtifactStore, Ref

STAGES = ("cells", "zc", "clusters", "gvae", "ccnf", "hl_evo", "sg")


@flow(name="pretrain", log_prints=True)
def pretrain(profile: str = "demo", store: str | None = None, device: str = "cpu") -> dict[str, Ref | list[Ref]]:
    """Run (or find cached) every pretrain stage of ``profile`` in ``store``; ``device`` for model training
    and scoring (cpu, cuda[:N], auto)."""
    log = get_run_logger()
    get_profile(profile)  # fail fast on an unknown profile
    root = ArtifactStore(store).root
    progress = create_progress_artifact(0.0, description=f"pretrain ({profile}): {len(STAGES)} stages")
    refs: dict[str, Ref | list[Ref]] = {}

    def done(stage: str, ref: Ref | list[Ref]) -> None:
        refs[stage] = ref
        update_progress_artifact(progress, 100.0 * len(refs) / len(STAGES))

    done("cells", sample_cells(profile=profile, store=root))
    done("zc", score_cells(cells=refs["cells"].uri, profile=profile, store=root, device=device))
    done("clusters", fit_clusters(zc_uri=refs["zc"].uri, profile=profile, store=root))
    done("gvae", train_gvae(clusters_uri=refs["clusters"].uri, profile=profile, store=root, device=device))
    done("ccnf", train_ccnf(gvae_uri=refs["gvae"].uri, profile=profile, store=root, device=device))
    done("hl_evo", hl_evo(ccnf_uri=refs["ccnf"].uri, profile=profile, store=root, device=device))
    done("sg", train_sg(search_uris=[r.uri for r in refs["hl_evo"]], profile=profile, store=root, device=device))
    rows = [{"stage": s, "uri": r.uri if isinstance(r, Ref) else ", ".join(x.uri for x in r)} for s, r in refs.items()]
    create_table_artifact(rows, description=f"pretrain ({profile}): artifacts")
    log.info("pretrain done: %s", refs["sg"].uri)
    return refs


if __name__ == "__main__":
    raise SystemExit("usage: nasgen pretrain --profile demo")
