"""Evaluate benchmark: do generated networks train better? (paper Table 1's protocol at CPU scale, on digits)

Per seed: one generate-for-condition request for digits' input (1x16x16, 10 classes) under a params budget
spends E ZC evaluations (at most n); random search in S and raw-space Evo(objective) from HL-Evo's alpha_0 get
the same E evaluations on the same scorer. Each method's top-k distinct networks by the objective (generate's:
MeCo_opt by default) are trained with the digits recipe for ``epochs`` epochs and, as in the paper, the best
test top-1 of the k is the method's score; the accuracy of the top-1 by the objective (selection by the
objective alone) is reported too. Every trained network is a cached `trained` artifact, so a rerun only trains
what is new. Also reported: the Spearman correlation of the objective and test top-1 over all trained networks
(does the proxy rank networks on this task at all?).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.stats import spearmanr

from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from nasgen.config import get_profile
from nasgen.generate.candidates import run as generate_run
from nasgen.generate.request import GenerateRequest
from nasgen.search.config import ConstraintConfig
from nasgen.search.evolution import SearchResult
from nasgen.search.hl_evo import initial_candidate, initial_cluster
from nasgen.search.objective import ZCObjective
from nasgen.search.strategies import search_graphnet
from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch
from nasgen.stages import ccnf, sg
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore
from nasgen.train.config import RECIPES, DatasetConfig
from nasgen.train.datasets import load_dataset

METHODS = ("sg_ccnf", "raw_evo", "random")
SUMMARY_KEYS = ("best_test_top1", "objective_pick_test_top1", "best_objective")


def top_networks(res: SearchResult, budget: int, k: int) -> list[tuple[MacroArch, float]]:
    """The k best distinct networks (with T-CET) a search found within its first ``budget`` evaluations."""
    rows = sorted((r for r in res.history if r["evaluations"] <= budget and np.isfinite(r["fitness"])),
                  key=lambda r: -r["fitness"])  # fmt: skip
    out: dict[str, tuple[MacroArch, float]] = {}
    for r in rows:
        out.setdefault(r["arch_id"], (MacroArch.from_json(r["macro"]), r["fitness"]))
    return list(out.values())[:k]


def run(profile: str = "demo", store: str | None = None, seeds: int = 3, n: int = 100, top_k: int = 3, epochs: int = 6,
        max_params: int = 500_000, dataset: str = "digits", plot: str | None = None) -> dict:  # fmt: skip
    prof = get_profile(profile)
    st = ArtifactStore(store)
    refs = build(st, prof)
    fref, sref = refs["ccnf"], refs["sg"]
    data = DatasetConfig(name=dataset)
    ds = load_dataset(data.name, data.root, data.size)
    recipe = RECIPES[dataset].model_copy(update={"epochs": epochs, "warmup_epochs": min(1.0, epochs / 2)})
    level = ConstraintConfig(max_params=max_params)
    model, tok = sg.load_model(st, sref)
    sampler = ccnf.load_sampler(st, fref)
    per_seed = []
    for seed in range(seeds):
        req = GenerateRequest(max_params=max_params, input_shape=ds.input_shape, classes=ds.classes, n=n,
                              top_k=top_k, seed=seed)  # fmt: skip
        gen = generate_run(req, model, tok, sampler, prof.generate)
        budget = max(gen.evaluations, 1)
        cfg = prof.hl_evo.model_copy(update={"seed": seed, "iterations": 2 * budget,
                                             "zc": req.scorer_config(prof.generate.zc)})  # fmt: skip
        alpha0 = initial_candidate(cfg, initial_cluster(sampler.clusters.weights, cfg), sampler.cell_source(),
                                   np.random.default_rng(seed))  # fmt: skip
        goal = prof.generate.objective  # what generate ranks by: every method's picks ranked alike
        raw = search_graphnet("raw_evo", cfg, level, ZCObjective(cfg.zc, objective=goal), start=alpha0.macro)
        rnd = search_graphnet("random", cfg, level, ZCObjective(cfg.zc, objective=goal), budget)
        picks = {
            "sg_ccnf": [(c.macro, c.fitness) for c in gen.chosen],
            "raw_evo": top_networks(raw, budget, top_k),
            "random": top_networks(rnd, budget, top_k),
        }
        methods = {}
        for m, nets in picks.items():
            rows = []
            for macro, objective in nets:
                t = time.perf_counter()
                ref = run_stage(
                    "trained", st, macro=macro, dataset=data, recipe=recipe.model_copy(update={"seed": seed})
                )
                met = metrics(ref)
                cost = macro_cost(macro)
                rows.append({"arch_id": macro.arch_id, "params": cost.params, "flops": cost.flops,
                             "positions": len(macro.layers), "objective": objective, "test_top1": met["test_top1"],
                             "train_seconds": met["seconds"], "wall_seconds": time.perf_counter() - t,
                             "uri": ref.uri})  # fmt: skip
            methods[m] = {"networks": rows, "best_test_top1": max(r["test_top1"] for r in rows),
                          "objective_pick_test_top1": rows[0]["test_top1"],
                          "best_objective": rows[0]["objective"]}  # fmt: skip
        per_seed.append({"seed": seed, "evaluations": budget, "methods": methods})
    every = [r for s in per_seed for m in METHODS for r in s["methods"][m]["networks"]]
    rho = spearmanr([r["objective"] for r in every], [r["test_top1"] for r in every]).statistic

    def stat(key: str, m: str) -> dict:
        v = np.array([s["methods"][m][key] for s in per_seed])
        return {"mean": float(v.mean()), "std": float(v.std()), "per_seed": v.tolist()}

    result = {
        "benchmark": "evaluate",
        "profile": profile,
        "machine": machine_info(),
        "dataset": dataset,
        "input_shape": list(ds.input_shape),
        "constraint": level.name,
        "n": n,
        "top_k": top_k,
        "seeds": seeds,
        "recipe": recipe.model_dump(mode="json", exclude={"seed"}),
        "summary": {m: {k: stat(k, m) for k in SUMMARY_KEYS} for m in METHODS},
        "objective": prof.generate.objective,
        "spearman_objective_vs_test_top1": float(rho),
        "trained_networks": len(every),
        "per_seed": per_seed,
    }
    if plot:
        with open(plot, "wb") as f:
            f.write(objective_vs_accuracy_png(per_seed, f"{dataset}, {level.name}, {epochs} epochs"))
        result["plot"] = plot
    return result


def objective_vs_accuracy_png(per_seed: list[dict], title: str) -> bytes:
    """Every trained network: the objective against test top-1, by method."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 4))
    for m in METHODS:
        rows = [r for s in per_seed for r in s["methods"][m]["networks"]]
        ax.scatter([r["objective"] for r in rows], [r["test_top1"] for r in rows], label=m, alpha=0.8)
    ax.set(xlabel="objective (generate's)", ylabel="test top-1", title=title)
    ax.legend()
    return png(fig, dpi=100, tight=True)
