"""G-VAE benchmark: arch2vec/D-VAE metrics of the regularised G-VAE and of the same model trained without the
triplet and predictor terms (paper Fig. 2 b vs c), and of the regularised model with arch2vec's GIN
encoder instead of the GCN (ablation), at a profile, on the pipeline's own cached artifacts.

Stages run through the library (cached in the store): sample cells, ZC-score the labelled subset, fit the
clusters, train both models. Each gvae artifact keeps its metrics.json and a t-SNE PNG coloured by cluster.
"""

from __future__ import annotations

import time

from benchmarks.machine import machine_info
from nasgen.config import get_profile
from nasgen.stages import gvae
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore

GOALS = {"reconstruction": 0.99, "validity": 0.90, "uniqueness": 0.95}


def run(profile: str = "demo", store: str | None = None) -> dict:
    prof = get_profile(profile)
    st = ArtifactStore(store)
    t0 = time.perf_counter()
    refs = build(st, prof, upto="clusters")
    upstream = {"cells_ref": refs["cells"], "zc_ref": refs["zc"], "clusters_ref": refs["clusters"]}
    prep = time.perf_counter() - t0
    naive = prof.gvae.model_copy(update={"triplet_weight": 0.0, "predictor_weight": 0.0})
    results = {}
    gin = prof.gvae.model_copy(update={"encoder": "gin"})  # the arch2vec encoder, regularised, as an ablation
    for name, cfg in (("regularised", prof.gvae), ("naive", naive), ("regularised_gin", gin)):
        t = time.perf_counter()
        ref = run_stage("gvae", st, cfg=cfg, **upstream)
        results[name] = {
            **metrics(ref),
            "seconds": time.perf_counter() - t,  # ~0 when the artifact was cached
            "uri": ref.uri,
            "tsne": f"{ref.uri}/{gvae.TSNE}",
        }
    reg = results["regularised"]
    return {
        "benchmark": "gvae",
        "profile": profile,
        "machine": machine_info(),
        "config": prof.gvae.model_dump(mode="json"),
        "pipeline_seconds": prep,
        "results": results,
        "goals_met": {k: reg[k] >= v for k, v in GOALS.items()}
        | {"zc_preservation_above_naive": reg["zc_preservation"] > results["naive"]["zc_preservation"]},
    }
