"""Flow `hl-evo`: HL-Evo (paper Algorithm 1) under every constraint level of the profile, fanned out.

One cached task per level on the flow's task runner; the histories are what the SG trains on. Levels and
objective come from the profile (``{"hl_evo.levels": [{"max_params": 500000}], "hl_evo.objective": "zen"}``).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.options import RunOptions
from flows.reporting import artifact_key, results_with_progress
from nasgen.device import thread_share
from nasgen.stages import ccnf, hl_evo
from nasgen.store import ArtifactStore, Ref, open_ref
from tasks.stage import submit_stage


@flow(name="hl-evo", log_prints=True)
def hl_evo_flow(ccnf_uri: str, run: RunOptions = RunOptions(), graphpnas_uri: str | None = None,
                latency_uri: str | None = None) -> list[Ref]:  # fmt: skip
    """One HL-Evo run per constraint level on the trained CCNF at ``ccnf_uri``; with ``hl_evo.cell_source =
    graphpnas`` GenCell draws from the GraphPNAS generator at ``graphpnas_uri``; with ``hl_evo.latency_device``
    the histories record latency predicted by the `latency_model` at ``latency_uri``."""
    log = get_run_logger()
    prof, device = run.settle()
    cfg = prof.hl_evo
    c_store, c_ref = open_ref(ccnf_uri, stage=ccnf.STAGE)
    st = c_store if run.store is None else ArtifactStore(run.store)
    extra = {} if graphpnas_uri is None else {"graphpnas_ref": open_ref(graphpnas_uri, stage="graphpnas")[1]}
    if latency_uri is not None:
        extra["latency_ref"] = open_ref(latency_uri, stage="latency_model")[1]
    with thread_share(len(cfg.levels), device):  # the levels run at once: their threads share the cores
        futures = [submit_stage("hl_evo", prof.orchestration, store=st.root, ccnf_ref=c_ref, cfg=cfg, level=level,
                                device=device, **extra) for level in cfg.levels]  # fmt: skip
        refs = results_with_progress(futures, f"hl-evo: {len(futures)} constraint levels")
    for r in refs:
        s = hl_evo.stats(r)
        create_table_artifact([{"uri": r.uri, **s}], key=artifact_key("hl-evo", prof.name, s["constraint"]),
                              description=f"HL-Evo, {s['constraint']}: the best network")  # fmt: skip
        log.info("hl-evo %s: best %s %.4g (%d params) after %d evaluations", s["constraint"], s["objective"],
                 s["best_fitness"], s["best_params"], s["evaluations"])  # fmt: skip
    return refs
