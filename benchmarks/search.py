"""Search benchmark on GraphNet: every strategy of ``nasgen.search.strategies.STRATEGIES`` that the GraphNet
space offers the needs of, on one scorer, objective, constraint and budget.

Paper Table 1's comparison at our scale: best T-CET (with ``objective``, Zen-score or ZiCo: the ZenNet rows)
of a network with params <= ``max_params`` (3x32x32 input, 10 classes at the default ZC config) against the
number of ZC evaluations, over several seeds.
HL-Evo runs T iterations of Algorithm 1 on the profile's CCNF, raw Evo the same T and N from the same alpha_0
with concrete-cell mutations (both ``own_budget``); every other strategy gets as many ZC evaluations as HL-Evo
spent: random search and REA in the raw space, GraphPNAS on cells (alpha_x), arch2vec-RL, arch2vec-BO and
CATE-DNGO-LS over alpha_x of the first ``latent_search.pool`` pipeline cells, on the frozen embeddings of
stage `arch2vec_graphnet` (pre-trained on the profile's `cells` artifact, cached) or on the encodings of
those same cells by the frozen CATE of stage `cate_graphnet` (pre-trained on its first ``cate.max_cells``,
pairs by alpha_x params, cached). ``hl_evo_graphpnas`` is HL-Evo with GenCell from the generator of stage
`graphpnas` (``hl_evo.cell_source = graphpnas``; trained once, cached, like the CCNF: its own ZC evaluations
are not counted here, as the pipeline's scored cells are not counted for the CCNF), from the same alpha_0
family and seed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from nasgen.cate.graphs import GRAPHNET
from nasgen.cate.pretraining import encode
from nasgen.config import get_profile, with_overrides
from nasgen.errors import ConfigError
from nasgen.progress import ProgressLine
from nasgen.search.config import ConstraintConfig, HLEvoConfig, StrategyConfig
from nasgen.search.evolution import SearchResult
from nasgen.search.graphnet import GraphNetSpace, MacroObjective
from nasgen.search.hl_evo import initial_candidate, initial_cluster
from nasgen.search.objective import ZCObjective
from nasgen.search.strategies import STRATEGIES, supported
from nasgen.search.strategies import run as run_strategy
from nasgen.search.strategy import HLView, Strategy, family_draws
from nasgen.stages import arch2vec as arch2vec_stage
from nasgen.stages import cate as cate_stage
from nasgen.stages import ccnf
from nasgen.stages import cells as cell_stage
from nasgen.stages import clusters as clusters_stage
from nasgen.stages import graphpnas as graphpnas_stage
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore

TABLES = ("arch2vec", "cate")  # the frozen encoders' tables of the cell pool, each a cached stage
OFFERED = (
    GraphNetSpace((3, 32, 32), 10).capabilities()
    | {"start", "hl:ccnf", "hl:graphpnas", "hl:scored"}
    | {f"table:{t}" for t in TABLES}
)


def methods() -> tuple[str, ...]:
    """Every strategy of STRATEGIES the GraphNet space offers the needs of, in table order."""
    return tuple(s.name for s in supported(OFFERED))


def best_so_far(res: SearchResult, budgets: list[int]) -> list[float]:
    """Best objective value found within the first b evaluations, for each b."""
    out = []
    for b in budgets:
        fits = [r["fitness"] for r in res.history if r["evaluations"] <= b]
        out.append(max(fits) if fits else float("nan"))
    return out


def frozen_tables(st: ArtifactStore, prof, cells_ref, chosen: Sequence[Strategy]) -> tuple[list, dict, dict]:
    """The cell pool of the latent-space searches among ``chosen`` (the first ``latent_search.pool`` cells, fewer
    if arch2vec's table is shorter), each needed encoder's table of it, and what describes each encoder."""
    needed = {n.split(":", 1)[1] for s in chosen for n in s.needs if n.startswith("table:")}
    if not needed:
        return [], {}, {}
    pool = cell_stage.first_cells(cells_ref, prof.latent_search.pool)
    tables, info = {}, {}
    if "arch2vec" in needed:
        ref = run_stage("arch2vec_graphnet", st, cells_ref=cells_ref, cfg=prof.arch2vec)
        table = arch2vec_stage.embeddings(ref).numpy()
        pool = pool[: len(table)]
        tables["arch2vec"] = table[: len(pool)]
        keys = ("reconstruction", "label_accuracy", "edge_accuracy", "validity", "seconds")
        info["arch2vec"] = {"uri": ref.uri, "pool": len(pool), **{k: metrics(ref)[k] for k in keys}}
    if "cate" in needed:
        ref = run_stage("cate_graphnet", st, cells_ref=cells_ref, cfg=prof.cate)
        tables["cate"] = encode(cate_stage.load_model(ref), pool, GRAPHNET).numpy()
        keys = ("masked_accuracy", "train_pairs", "seconds")
        info["cate"] = {"uri": ref.uri, "pool": len(pool), **{k: metrics(ref)[k] for k in keys}}
    return pool, tables, info


def gencell_sources(st: ArtifactStore, prof, refs, chosen: Sequence[Strategy]) -> tuple[dict, dict]:
    """The GenCells besides the CCNF's that ``chosen`` needs (``hl:<source>``): stage `graphpnas`'s learnt
    distribution (trained once, cached) and the families' scored cells (the no-CCNF ablation); and what
    describes them in a result."""
    needed = {n.split(":", 1)[1] for s in chosen for n in s.needs if n.startswith("hl:")}
    sources, info = {}, {}
    if "graphpnas" in needed:
        ref = run_stage("graphpnas", st, cfg=prof.graphpnas)
        sources["graphpnas"] = graphpnas_stage.cell_source(graphpnas_stage.load_generator(ref))
        info["graphpnas"] = {"uri": ref.uri, **graphpnas_stage.stats(ref)}
    if "scored" in needed:
        sources["scored"] = family_draws(clusters_stage.family_cells(refs["clusters"]))
    return sources, info


def seed_space(cfg: HLEvoConfig, sampler, sources: dict, pool: list, tables: dict) -> GraphNetSpace:
    """GraphNet at ``cfg``'s input for one seed (``cfg.seed``): HL-Evo's views (the CCNF's GenCell and
    ``sources``) from its alpha_0 family, that alpha_0 as raw Evo's start, the latent searches' pool."""
    k0 = initial_cluster(sampler.clusters.weights, cfg)
    gen_cell = sampler.cell_source()
    alpha0 = initial_candidate(cfg, k0, gen_cell, np.random.default_rng(cfg.seed)).macro  # HL-Evo's own alpha_0
    views = {name: HLView(g, sampler.clusters.k, k0) for name, g in {"ccnf": gen_cell, **sources}.items()}
    return GraphNetSpace(cfg.zc.input_shape, cfg.zc.classes, depth=cfg.depth_mutations, start=alpha0, cells=pool,
                         tables=tables, hl=views)  # fmt: skip


def strategy_config(prof, evo: HLEvoConfig) -> StrategyConfig:
    """The strategies' numbers on GraphNet: ``evo``'s T and N, the profile's latent-search and GraphPNAS ones."""
    return StrategyConfig(evo=evo, latent=prof.latent_search, graphpnas=prof.graphpnas.graphpnas,
                          graphpnas_max_refused=prof.graphpnas.max_refused)  # fmt: skip


def run(profile: str = "demo", store: str | None = None, seeds: int = 3, max_params: int = 1_000_000,
        objective: str | None = None, plot: str | None = None, only: Sequence[str] | None = None) -> dict:  # fmt: skip
    """Every strategy of ``methods()`` (or those in ``only``; hl_evo always runs: it sets the budget)."""
    every = methods()
    if only and set(only) - set(every):
        raise ConfigError(f"unknown search method(s) {sorted(set(only) - set(every))}; methods: {list(every)}")
    chosen = [STRATEGIES[m] for m in every if not only or m in only or m == "hl_evo"]
    prof = get_profile(profile)
    search = with_overrides(prof.hl_evo, "search benchmark", objective=objective)
    st = ArtifactStore(store)
    refs = build(st, prof, upto="ccnf")
    fref = refs["ccnf"]
    sampler = ccnf.load_sampler(st, fref)
    pool, tables, encoders = frozen_tables(st, prof, refs["cells"], chosen)
    sources, sources_info = gencell_sources(st, prof, refs, chosen)
    level = ConstraintConfig(max_params=max_params)
    runs: dict[str, list[SearchResult]] = {s.name: [] for s in chosen}
    seconds = {s.name: 0.0 for s in chosen}
    bar = ProgressLine(f"bench search ({', '.join(runs)})", seeds * len(chosen))
    for seed in range(seeds):
        cfg = search.model_copy(update={"seed": seed})
        settings = strategy_config(prof, cfg)
        space = seed_space(cfg, sampler, sources, pool, tables)
        for s in chosen:  # hl_evo first: its evaluations are the budget of every strategy without its own
            t = time.perf_counter()
            budget = None if s.own_budget else runs["hl_evo"][-1].evaluations
            goal = MacroObjective(ZCObjective(cfg.zc, objective=cfg.objective), level, budget, s.name)
            run_strategy(s.name, space, goal, np.random.default_rng(seed), settings)
            runs[s.name].append(goal.result)
            seconds[s.name] += time.perf_counter() - t
            bar.advance()
    budget = min(r.evaluations for rs in runs.values() for r in rs)
    budgets = sorted({b for b in (10, 25, 50, 100, 200, 500, 1000, 2000, 5000) if b < budget} | {budget})
    summary = {}
    for m, rs in runs.items():
        curves = np.array([best_so_far(r, budgets) for r in rs])
        finals = np.array([r.best.fitness for r in rs])
        summary[m] = {
            "best_mean": float(finals.mean()),
            "best_std": float(finals.std()),
            "best_per_seed": finals.tolist(),
            "evaluations_per_seed": [r.evaluations for r in rs],
            "best_params_per_seed": [r.best.cost.params for r in rs],
            "curve_mean": curves.mean(axis=0).tolist(),
            "discarded_constraint": [r.discarded_constraint for r in rs],
            "seconds": seconds[m],
        }
    result = {
        "benchmark": "search",
        "profile": profile,
        "machine": machine_info(),
        "objective": search.objective,
        "config": search.model_dump(mode="json", exclude={"levels"}),
        "constraint": level.name,
        "seeds": seeds,
        "budgets": budgets,
        "methods": summary,
        "ccnf_uri": fref.uri,
    }
    result.update(encoders)
    result.update(sources_info)
    if plot:
        with open(plot, "wb") as f:
            f.write(comparison_png(runs, budgets, level.name, search.objective))
        result["plot"] = plot
    return result


def comparison_png(runs: dict[str, list[SearchResult]], budgets: list[int], title: str,
                   objective: str = "tcet") -> bytes:  # fmt: skip
    """Left: best objective vs evaluations (mean over seeds). Right: params vs objective, each method's Pareto front."""
    plt = pyplot()

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for m, rs in runs.items():
        a.plot(budgets, np.array([best_so_far(r, budgets) for r in rs]).mean(axis=0), marker="o", label=m)
        pts = sorted((r["params"], r["fitness"]) for res in rs for r in res.history if np.isfinite(r["fitness"]))
        if pts:
            b.scatter(*zip(*pts), s=4, alpha=0.3)
            front, best = [], -np.inf
            for p, f in pts:
                if f > best:
                    front.append((p, f))
                    best = f
            b.step(*zip(*front), where="post", label=f"{m} Pareto front")
    a.set(xscale="log", xlabel="ZC evaluations", ylabel=f"best {objective} (mean over seeds)", title=title)
    b.set(xscale="log", xlabel="params", ylabel=objective, title="evaluated networks")
    a.legend()
    b.legend(fontsize=8)
    return png(fig, dpi=100, tight=True)
