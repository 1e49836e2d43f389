"""The cached pretrain artifacts of a profile, found by key without running anything.

Generate-for-condition reuses these and never retrains: a stage that is missing is an error that names
the stage and the command that builds it.
"""

from __future__ import annotations

from nasgen.config import Profile
from nasgen.errors import ArtifactMissingError
from nasgen.stages import ccnf, cells, clusters, gvae, search, sg, zc
from nasgen.store import ArtifactStore, Ref


def pretrained_sg(store: ArtifactStore, prof: Profile) -> Ref:
    """The `sg` artifact `nasgen pretrain --profile <name>` leaves in ``store``."""

    def need(stage: str, key: str) -> Ref:
        if not store.exists(stage, key):
            raise ArtifactMissingError(f"no pretrained {stage!r} artifact of profile {prof.name!r} in {store.root} "
                                       f"(key {key}); run `nasgen pretrain --profile {prof.name}` first")  # fmt: skip
        return store.ref(stage, key)

    cref = need(cells.STAGE, cells.cells_key(prof.cells))
    zref = need(zc.STAGE, zc.scores_key(cref, prof.scoring))
    clref = need(clusters.STAGE, clusters.clusters_key(zref, prof.clusters))
    gref = need(gvae.STAGE, gvae.gvae_key(cref, zref, clref, prof.gvae))
    fref = need(ccnf.STAGE, ccnf.ccnf_key(gref, prof.ccnf))
    levels = [need(search.STAGE, search.search_key(fref, prof.search, lv)) for lv in prof.search.levels]
    return need(sg.STAGE, sg.sg_key(levels, prof.sg))
