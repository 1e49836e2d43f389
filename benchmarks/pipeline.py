"""The cached stages every model benchmark starts from, run in-process (cached in the store like the flows')."""

from __future__ import annotations

from nasgen.config import Profile
from nasgen.stages import ccnf, cells, clusters, gvae, search, sg, zc
from nasgen.store import ArtifactStore, Ref


def prepare(prof: Profile, store: ArtifactStore) -> tuple[Ref, Ref, Ref]:
    """(cells, zc, clusters) refs at the profile."""
    cref = cells.run_local(store, prof.cells)
    zref = zc.run_local(store, cref, prof.scoring)
    return cref, zref, clusters.fit(store, zref, prof.clusters)


def pretrained(prof: Profile, store: ArtifactStore) -> tuple[Ref, list[Ref], Ref]:
    """(CCNF, HL-Evo levels, SG) refs: what generate-for-condition needs, trained once at the profile."""
    cref, zref, clref = prepare(prof, store)
    fref = ccnf.fit(store, gvae.fit(store, cref, zref, clref, prof.gvae), prof.ccnf)
    levels = [search.run(store, fref, prof.search, lv) for lv in prof.search.levels]
    return fref, levels, sg.fit(store, levels, prof.sg)
