"""Generate benchmark: what SG + CCNF deliver for a budget, how fast, and against searches (paper Table 1).

Per seed: one generate-for-condition request (params <= ``max_params``, ``n`` sequences) on the profile's
cached models, timed end to end with warm caches (model loading included). Reported: validity of the
sequences (grammar: goal 100%), constraint satisfaction of the materialised networks (goal >= 95%; also
as the SG proposed them, before ``generate.over_budget`` narrows the rest),
distinct sequences, latency (goal <= 120 s for n = 100 at the demo ZC config), and the best objective found
with the ZC evaluations generation spent (E, at most n). Compared on the same scorer: HL-Evo's best at that
budget level with its full budget, raw-space Evo(objective) from the same alpha_0 and random search, both
limited to the same E evaluations.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.machine import machine_info
from benchmarks.search import best_so_far
from nasgen.config import Profile, resolve_profile
from nasgen.generate.candidates import run as generate_run
from nasgen.generate.request import GenerateRequest
from nasgen.search.config import ConstraintConfig
from nasgen.search.hl_evo import initial_candidate, initial_cluster
from nasgen.search.objective import ZCObjective
from nasgen.search.strategies import search_graphnet
from nasgen.stages import ccnf, hl_evo, sg
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore

GOALS = {"validity": 1.0, "satisfaction": 0.95, "latency_seconds": 120.0}


def run(profile: str | Profile = "demo", store: str | None = None, seeds: int = 3, n: int = 100,
        max_params: int = 1_000_000, overrides: dict | None = None) -> dict:  # fmt: skip
    prof = resolve_profile(profile, overrides=overrides)
    st = ArtifactStore(store)
    refs = build(st, prof)
    fref, sref = refs["ccnf"], refs["sg"]
    level = ConstraintConfig(max_params=max_params)
    hl_ref = run_stage("hl_evo", st, ccnf_ref=fref, cfg=prof.hl_evo, level=level)  # cached at a profile level
    hl_stats = hl_evo.stats(hl_ref)
    per_seed = []
    for seed in range(seeds):
        req = GenerateRequest(max_params=max_params, n=n, seed=seed)
        t = time.perf_counter()
        model, tok = sg.load_model(st, sref)
        sampler = ccnf.load_sampler(st, fref)
        res = generate_run(req, model, tok, sampler, prof.generate)
        latency = time.perf_counter() - t
        c = res.counts()
        budget = max(res.evaluations, 1)
        cfg = prof.hl_evo.model_copy(update={"seed": seed, "iterations": 2 * budget})
        alpha0 = initial_candidate(cfg, initial_cluster(sampler.clusters.weights, cfg), sampler.cell_source(),
                                   np.random.default_rng(seed))  # fmt: skip
        raw = search_graphnet("raw_evo", cfg, level, ZCObjective(cfg.zc, objective=cfg.objective), start=alpha0.macro)
        rnd = search_graphnet("random", cfg, level, ZCObjective(cfg.zc, objective=cfg.objective), budget)
        fits = [x.fitness for x in res.candidates if x.satisfies]
        per_seed.append({
            "seed": seed,
            "latency_seconds": latency,
            "seconds": res.seconds,
            **c,
            "validity": c["valid_sequences"] / c["generated"],
            "satisfaction": c["satisfying"] / max(c["valid_sequences"], 1),
            "satisfaction_as_proposed": (c["satisfying"] - c["narrowed"]) / max(c["valid_sequences"], 1),
            "best_objective": {"sg_ccnf": max(fits), "raw_evo": best_so_far(raw, [budget])[0],
                          "random": best_so_far(rnd, [budget])[0]},
            "best_params": max((x for x in res.candidates if x.satisfies), key=lambda x: x.fitness).params,
        })  # fmt: skip
    mean = lambda k: float(np.mean([s[k] for s in per_seed]))  # noqa: E731
    best = {m: [s["best_objective"][m] for s in per_seed] for m in ("sg_ccnf", "raw_evo", "random")}
    summary = {
        "validity": mean("validity"),
        "satisfaction": mean("satisfaction"),
        "satisfaction_as_proposed": mean("satisfaction_as_proposed"),  # before narrowing (over_budget)
        "unique_sequences": mean("unique_sequences"),
        "latency_seconds": mean("latency_seconds"),
        "evaluations": mean("evaluations"),
        "best_objective_mean": {m: float(np.mean(v)) for m, v in best.items()},
        "best_objective_std": {m: float(np.std(v)) for m, v in best.items()},
        "hl_evo_full_budget": {
            "best_objective": hl_stats["best_fitness"],
            "evaluations": hl_stats["evaluations"],
            "iterations": hl_stats["iterations"],
        },  # fmt: skip
    }
    summary["goals_met"] = {
        "validity_100%": summary["validity"] >= GOALS["validity"],
        "satisfaction_95%": summary["satisfaction"] >= GOALS["satisfaction"],
        "latency_120s": summary["latency_seconds"] <= GOALS["latency_seconds"],
    }
    return {
        "benchmark": "generate",
        "profile": prof.name,
        "objective": prof.hl_evo.objective,
        "generate_config": prof.generate.model_dump(mode="json"),
        "machine": machine_info(),
        "constraint": level.name,
        "n": n,
        "seeds": seeds,
        "sg_uri": sref.uri,
        "sg": metrics(sref),
        "summary": summary,
        "per_seed": per_seed,
    }
