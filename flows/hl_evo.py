"""Flow `hl-evo`: HL-Evo (paper Algorithm 1) under every constraint level of the profile, fanned out.

One cached task per level on the flow's task runner; the histories are what the SG trains on.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.reporting import results_with_progress
from nasgen.config import ConstraintConfig, SearchConfig, get_profile, with_objective, with_overrides
from nasgen.stages import ccnf
from nasgen.store import ArtifactStore, Ref, open_ref
from tasks import search as search_tasks
from tasks.stage import submit_stage


def resolve_search(profile: str, max_params: list[int] | None = None, objective: str | None = None,
                   **overrides) -> SearchConfig:  # fmt: skip
    if max_params:
        overrides["levels"] = tuple(ConstraintConfig(max_params=p) for p in max_params)
    return with_objective(with_overrides(get_profile(profile).search, "hl-evo", **overrides), objective)


@flow(name="hl-evo", log_prints=True)
def hl_evo(
    ccnf_uri: str,
    profile: str = "demo",
    store: str | None = None,
    iterations: int | None = None,
    population: int | None = None,
    max_params: list[int] | None = None,
    seed: int | None = None,
    objective: str | None = None,
    device: str = "cpu",
) -> list[Ref]:
    """One HL-Evo run per constraint level (``max_params`` replaces the profile's levels) on a trained CCNF;
    ``objective`` (tcet, zen, zico) replaces the profile's."""
    log = get_run_logger()
    cfg = resolve_search(profile, max_params, objective, iterations=iterations, population=population, seed=seed)
    c_store, c_ref = open_ref(ccnf_uri, stage=ccnf.STAGE)
    st = c_store if store is None else ArtifactStore(store)
    orchestration = get_profile(profile).orchestration
    futures = [submit_stage(search_tasks.hl_evo_level, orchestration, store=st.root, ccnf_ref=c_ref, cfg=cfg,
                            level=level, device=device) for level in cfg.levels]  # fmt: skip
    refs = results_with_progress(futures, f"hl-evo: {len(futures)} constraint levels")
    rows = [{"uri": r.uri, **st.read_json(r, "stats.json")} for r in refs]
    create_table_artifact(rows, description="HL-Evo: best network per constraint level")
    for r in rows:
        log.info("hl-evo %s: best %s %.4g (%d params) after %d evaluations", r["constraint"], r["objective"],
                 r["best_fitness"], r["best_params"], r["evaluations"])  # fmt: skip
    return refs


if __name__ == "__main__":
    raise SystemExit("usage: nasgen search --ccnf URI")
