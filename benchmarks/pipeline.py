"""The cached upstream stages every model benchmark starts from (sample, score, cluster), run in-process."""

from __future__ import annotations

from nasgen.config import Profile
from nasgen.stages import cells, clusters, zc
from nasgen.store import ArtifactStore, Ref


def prepare(prof: Profile, store: ArtifactStore) -> tuple[Ref, Ref, Ref]:
    """(cells, zc, clusters) refs at the profile; cached in ``store`` like the flows' artifacts."""
    cref = cells.run_local(store, prof.cells)
    zref = zc.run_local(store, cref, prof.scoring)
    return cref, zref, clusters.fit(store, zref, prof.clusters)
