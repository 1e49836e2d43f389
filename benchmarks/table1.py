"""Paper Table 1's protocol on Fashion-MNIST at CPU scale: does each search, and SG + CCNF, find networks that
train well at a real budget?

Per budget (params and MACs at 1x28x28) and seed, every strategy the GraphNet space offers
(``nasgen.search.strategies``, as ``bench search`` runs them) maximises the profile's objective (T-CET by
default) of networks at 1x28x28 under both limits, on a ZC batch of Fashion-MNIST images (``zc_data``):
HL-Evo sets E, its ZC evaluations, which every strategy without its own budget gets; ``random_100`` is random
search at ``evaluations`` (the paper's 100); raw Evo runs ``evo_iterations`` (a large E); ``sg_ccnf`` is
``generate`` with ``evaluations`` sequences from the profile's pretrained SG and CCNF (``sg_ccnf_drop``: with
the paper's ``over_budget: drop`` instead of the default narrowing; ``sg_ccnf_random_history``: an SG trained
on random HL sequences, ``hl_evo.strategy: hl_random``, at the same levels and iterations). Each method's ``top_k``
distinct networks by the objective are trained with the fidelity study's reduced recipe (the training subset,
its epochs, the fixed validation split); with ``full`` the best of them by validation accuracy is trained with
the full recipe and its test accuracy is the method's score. Every training is a cached `trained` artifact, so
an interrupted run resumes. Also reported: the Spearman correlation of the objective with reduced validation
accuracy over every trained network (does the objective rank networks on this task?).

alpha_0 of HL-Evo and raw Evo is ``hl_evo.init_layers`` with its widths halved until it meets the budget
(Algorithm 1 starts from a feasible network; the paper's alpha_0 exceeds 15M MACs at 1x28x28), with the
CCNF's cells; an HL-Evo with another GenCell (GraphPNAS's, the scored cells) halves them further where its own
cells need it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from scipy.stats import spearmanr

from benchmarks.config import Table1Config, bench_profile, split_overrides
from benchmarks.evaluate import top_networks
from benchmarks.fidelity import (
    CLASSES,
    FEATURES,
    INPUT,
    ZALANDO,
    features,
    protocol,
    rank_agreement,
    recipe_agreement,
    task_zc,
    zc_row,
)
from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from benchmarks.search import frozen_tables, gencell_sources, methods, seed_space, strategy_config
from nasgen.config import Profile, resolve_profile
from nasgen.errors import ConfigError, NasgenError
from nasgen.generate.candidates import run as generate_run
from nasgen.generate.config import GenerateConfig
from nasgen.generate.request import GenerateRequest
from nasgen.progress import ProgressLine
from nasgen.search.config import ConstraintConfig, HLEvoConfig
from nasgen.search.evolution import SearchResult
from nasgen.search.graphnet import GraphNetSpace, MacroObjective
from nasgen.search.hl_evo import initial_candidate, initial_cluster
from nasgen.search.objective import ZCObjective, satisfies
from nasgen.search.strategies import STRATEGIES
from nasgen.search.strategies import run as run_strategy
from nasgen.space.cost import macro_cost
from nasgen.space.macro import CHANNEL_STEP, MacroArch
from nasgen.stages import ccnf, sg
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore
from nasgen.train.config import DatasetConfig, TrainRecipe
from nasgen.zc.scorer import Scorer

# beside the strategies: random search at 100 evaluations, SG + CCNF as generate's default (networks over the
# budget narrowed), as the paper's (dropped: `generate.over_budget`) and with an SG trained on random HL
# sequences instead of HL-Evo's histories (the ablation: what does HL-Evo's search give the SG?)
EXTRA = ("random_100", "sg_ccnf", "sg_ccnf_drop", "sg_ccnf_random_history")
START_HALVINGS = 4  # alpha_0's widths halved at most this often to meet a budget


class Pick(NamedTuple):
    """One of a method's top_k networks: its objective and the evaluation that first scored it."""

    macro: MacroArch
    objective: float
    found_at: int


def fitting_start(cfg: HLEvoConfig, k0: int, gen_cell, constraint: ConstraintConfig) -> HLEvoConfig:
    """``cfg`` with ``init_layers`` narrowed (halved, CHANNEL_STEP at least) until alpha_0 meets ``constraint``;
    the cells are the ones HL-Evo draws with its seed, whatever the widths."""
    for h in range(START_HALVINGS + 1):
        layers = tuple((max(CHANNEL_STEP, c >> h), s) for c, s in cfg.init_layers)
        trial = cfg.model_copy(update={"init_layers": layers})
        macro = initial_candidate(trial, k0, gen_cell, np.random.default_rng(cfg.seed)).macro
        if satisfies(macro_cost(macro), constraint):
            return trial
    raise ConfigError(f"alpha_0 meets {constraint.name} at no width down to 1/{2**START_HALVINGS}")


def history_profile(prof: Profile, cfg: Table1Config, zc, sampler) -> Profile:
    """``prof`` whose `hl_evo` stage searches this input, one level per budget, ``history_iterations`` each,
    from an alpha_0 that meets the tightest budget: the history the table's SG learns from."""
    levels = [ConstraintConfig(max_params=p, max_flops=f) for p, f in cfg.budgets.values()]
    hl = prof.hl_evo.model_copy(update={"zc": zc, "iterations": cfg.history_iterations, "levels": tuple(levels)})
    k0 = initial_cluster(sampler.clusters.weights, hl)
    widths = [fitting_start(hl, k0, sampler.cell_source(), c).init_layers for c in levels]
    narrowest = min(widths, key=lambda layers: sum(c for c, _ in layers))
    return prof.model_copy(update={"hl_evo": hl.model_copy(update={"init_layers": narrowest})})


def task_models(st: ArtifactStore, prof: Profile, cfg: Table1Config, device: str, root: str | None) -> tuple:
    """(the profile's pipeline refs up to the CCNF, its cell sampler, the objective's ZC config at this input,
    the history profile): what every real-task run on the pretrained models starts from (cached stages)."""
    refs = build(st, prof, upto="ccnf")
    sampler = ccnf.load_sampler(st, refs["ccnf"], device)
    zc = task_zc(prof.hl_evo.zc, cfg.zc_data, root)
    return refs, sampler, zc, history_profile(prof, cfg, zc, sampler)


@dataclass
class Context:
    """What every budget and seed shares: the pretrained models, the latent searches' pool and tables."""

    prof: Profile
    cfg: Table1Config
    fid: object  # FidelityConfig
    st: ArtifactStore
    sampler: object  # CellSampler
    zc: object  # ZCConfig at 1x28x28
    device: str
    root: str | None
    scorer: Scorer  # every trained network's ZC record: the fidelity study's proxies on the objective's batch
    sg: tuple | None = None  # (model, tokenizer) trained on HL-Evo histories; built only when SG + CCNF runs
    sg_random: tuple | None = None  # the ablation's SG: trained on random HL sequences (hl_evo.strategy)
    pool: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # GenCells besides the CCNF's (benchmarks.search.gencell_sources)


def run(profile: str = "demo", store: str | None = None, budget: str | None = None, device: str = "cpu",
        threads: int = 2, root: str | None = None, plot: str | None = None, only: Sequence[str] | None = None,
        overrides: dict | None = None) -> dict:  # fmt: skip
    """``budget``: one of the section's budgets (None: all); ``only``: these methods (HL-Evo always runs: it
    sets E); ``overrides``: of the library profile and of the ``table1`` / ``fidelity`` sections."""
    lib, ours = split_overrides(overrides or {})
    prof = resolve_profile(profile, overrides=lib)
    bench = bench_profile(prof.name, overrides=ours)
    cfg, fid = bench.table1, bench.fidelity
    names = [*methods(), *EXTRA]
    for asked, what in ((only, "method(s)"), (cfg.full_methods, "full_methods")):
        if asked and set(asked) - set(names):
            raise ConfigError(f"unknown table1 {what} {sorted(set(asked) - set(names))}; methods: {names}")
    chosen = [m for m in names if not only or m in only or m == "hl_evo"]
    budgets = list(cfg.budgets) if budget is None else [budget]
    if set(budgets) - set(cfg.budgets):
        raise ConfigError(f"unknown budget {budget!r}; budgets: {', '.join(cfg.budgets)}")
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    st = ArtifactStore(store)
    refs, sampler, zc, history = task_models(st, prof, cfg, device, root)
    ctx = Context(prof, cfg, fid, st, sampler, zc, device, root,
                  Scorer(task_zc(zc, cfg.zc_data, root, fid.proxies), device))  # fmt: skip
    sg_history: dict = {"hl_evo": history.hl_evo.model_dump(mode="json", exclude={"zc"})}
    if {"sg_ccnf", "sg_ccnf_drop"} & set(chosen):  # the SG's HL-Evo histories at this input (built once, cached)
        hrefs = build(st, history)  # the cells-level models are the profile's (cached): refs' keys unchanged
        ctx.sg = sg.load_model(st, hrefs["sg"])
        sg_history |= {"hl_evo_uris": [r.uri for r in hrefs["hl_evo"]], "sg_uri": hrefs["sg"].uri}
    if "sg_ccnf_random_history" in chosen:  # the same levels and iterations, random HL sequences
        random_history = history.model_copy(
            update={"hl_evo": history.hl_evo.model_copy(update={"strategy": "hl_random"})}
        )
        rrefs = build(st, random_history)
        ctx.sg_random = sg.load_model(st, rrefs["sg"])
        sg_history["random_sg_uri"] = rrefs["sg"].uri
    ctx.pool, ctx.tables, encoders = frozen_tables(st, prof, refs["cells"],
                                                   [STRATEGIES[m] for m in chosen if m in STRATEGIES])  # fmt: skip
    ctx.sources, sources_info = gencell_sources(st, prof, refs, [STRATEGIES[m] for m in chosen if m in STRATEGIES])
    out = {b: _budget(ctx, b, chosen) for b in budgets}
    result = {
        "benchmark": "table1", "machine": machine_info(), "torch_threads": threads, "device": device,
        "profile": prof.name, "config": cfg.model_dump(mode="json"), "fidelity": fid.model_dump(mode="json"),
        "objective": prof.hl_evo.objective, "zc": zc.model_dump(mode="json"), "methods": chosen,
        "generate": prof.generate.model_dump(mode="json", exclude={"zc"}),  # sg_ccnf's settings (over_budget...)
        "sg_history": sg_history,
        "budgets": out, **encoders, **sources_info, "zalando_published_test": ZALANDO,
        "wall_seconds": time.perf_counter() - t0,
    }  # fmt: skip
    if plot:
        with open(plot, "wb") as f:
            f.write(table_png(result))
        result["plot"] = plot
    return result


def _budget(ctx: Context, b: str, chosen: list[str]) -> dict:
    cfg, fid = ctx.cfg, ctx.fid
    max_params, max_flops = cfg.budgets[b]
    constraint = ConstraintConfig(max_params=max_params, max_flops=max_flops)
    trainings = protocol(fid, ctx.root)
    bar = ProgressLine(f"bench table1 {b}", cfg.seeds * len(chosen), every=30.0)
    per_seed = []
    for seed in range(cfg.first_seed, cfg.first_seed + cfg.seeds):
        hl = ctx.prof.hl_evo.model_copy(update={"seed": seed, "zc": ctx.zc})
        hl = fitting_start(
            hl, initial_cluster(ctx.sampler.clusters.weights, hl), ctx.sampler.cell_source(), constraint
        )  # GenCell is seeded by the search's rng: the same cells as HL-Evo draws
        space = seed_space(hl, ctx.sampler, ctx.sources, ctx.pool, ctx.tables)
        rows: dict[str, dict] = {}
        for m in chosen:
            t = time.perf_counter()
            try:
                picks, spent, curve = _search(ctx, m, hl, constraint, space, rows, seed)
            except NasgenError as e:  # a method that cannot run at this budget is reported, not fatal
                rows[m] = {"error": str(e).splitlines()[0], "evaluations": 0, "networks": []}
            else:
                rows[m] = {"evaluations": spent, "search_seconds": time.perf_counter() - t,
                           "best_objective": picks[0][1] if picks else None, "best_objective_curve": curve,
                           "networks": _train(ctx, picks, trainings["reduced"], seed)}  # fmt: skip
                if rows[m]["networks"] and cfg.full and (cfg.full_methods is None or m in cfg.full_methods):
                    best = max(rows[m]["networks"], key=lambda r: r["reduced_val_top1"])
                    best["full"] = _trained(ctx, MacroArch.from_json(best["macro"]), trainings["full"], seed)
            bar.advance()
        per_seed.append({"seed": seed, "alpha0_layers": [list(x) for x in hl.init_layers], "methods": rows})
    return {"max_params": max_params, "max_flops": max_flops, "constraint": constraint.name,
            "recipes": {k: r.model_dump(mode="json", exclude={"seed"}) for k, (_, r) in trainings.items()},
            "summary": {m: _summary(per_seed, m) for m in chosen},
            "spearman_objective_vs_reduced_val": _rho(per_seed), **_agreement(ctx, per_seed),
            "per_seed": per_seed}  # fmt: skip


def _search(ctx: Context, m: str, hl: HLEvoConfig, constraint: ConstraintConfig, space: GraphNetSpace,
            rows: dict, seed: int) -> tuple[list[Pick], int, list[list[float]]]:  # fmt: skip
    """One method's seeded run: its top_k distinct networks by the objective, the ZC evaluations spent and
    its best objective against evaluations."""
    cfg, prof = ctx.cfg, ctx.prof
    if m.startswith("sg_ccnf"):
        req = GenerateRequest(max_params=constraint.max_params, max_flops=constraint.max_flops, input_shape=INPUT,
                              classes=CLASSES, n=cfg.evaluations, top_k=cfg.top_k, seed=seed)  # fmt: skip
        zc = prof.generate.zc.model_copy(update={"data": cfg.zc_data, "data_root": ctx.root})
        gcfg = GenerateConfig.model_validate(
            {  # ranked by the objective its SG's histories maximised
                **prof.generate.model_dump(),
                "zc": zc.model_dump(),
                "objective": hl.objective,
                **({"over_budget": "drop"} if m == "sg_ccnf_drop" else {}),
            }
        )
        model = ctx.sg_random if m == "sg_ccnf_random_history" else ctx.sg
        gen = generate_run(req, *model, ctx.sampler, gcfg)
        found: dict[str, int] = {}  # a network generated twice is scored once (ZCObjective's cache)
        scored = [(found.setdefault(c.macro.arch_id, len(found) + 1), c.fitness) for c in gen.candidates if c.record]
        picks = [Pick(c.macro, c.fitness, found[c.macro.arch_id]) for c in gen.chosen]
        return picks, gen.evaluations, best_so_far(scored)
    strategy = "random" if m == "random_100" else m
    s = STRATEGIES[strategy]
    budget = cfg.evaluations if m == "random_100" else None if s.own_budget else rows["hl_evo"]["evaluations"]
    evo = hl.model_copy(update={"iterations": cfg.evo_iterations}) if m == "raw_evo" else hl
    source = next((n[3:] for n in s.needs if n.startswith("hl:")), "ccnf")
    if source != "ccnf":  # another GenCell draws other cells for alpha_0: narrowed until those meet the budget
        view = space.hl[source]
        evo = fitting_start(evo, view.init_cluster, view.gen_cell, constraint)
    settings = strategy_config(prof, evo)
    goal = MacroObjective(ZCObjective(ctx.zc, ctx.device, objective=hl.objective), constraint, budget, m)
    run_strategy(strategy, space, goal, np.random.default_rng(seed), settings)
    res: SearchResult = goal.result
    found: dict[str, int] = {}
    for r in res.history:
        found.setdefault(r["arch_id"], r["evaluations"])
    picks = [Pick(macro, obj, found[macro.arch_id]) for macro, obj in top_networks(res, res.evaluations, cfg.top_k)]
    return picks, res.evaluations, best_so_far((r["evaluations"], r["fitness"]) for r in res.history)


def best_so_far(scores: Iterable[tuple[int, float]]) -> list[list[float]]:
    """(evaluations, objective) in search order -> [evaluations, best objective so far] at each improvement."""
    out: list[list[float]] = []
    for e, f in scores:
        if np.isfinite(f) and (not out or f > out[-1][1]):
            out.append([int(e), float(f)])
    return out


def _trained(ctx: Context, macro: MacroArch, training: tuple[DatasetConfig, TrainRecipe], seed: int) -> dict:
    """One cached `trained` artifact of ``macro`` under one of the fidelity study's trainings, at ``seed``."""
    data, recipe = training
    ref = run_stage("trained", ctx.st, ctx.device, macro=macro, dataset=data,
                    recipe=recipe.model_copy(update={"seed": seed}))  # fmt: skip
    m = metrics(ref)
    return {"val_top1": m["val_top1"], "test_top1": m["test_top1"], "seconds": m["seconds"]}


def _train(ctx: Context, picks: list[Pick], reduced: tuple, seed: int) -> list[dict]:
    """The picks trained with the reduced recipe (cached): one row each, best objective first."""
    out = []
    for macro, objective, found_at in picks:
        cost = macro_cost(macro)
        r = _trained(ctx, macro, reduced, seed)
        out.append({"arch_id": macro.arch_id, "macro": macro.to_json(), "params": cost.params, "flops": cost.flops,
                    "positions": len(macro.layers), "objective": objective, "found_at": found_at,
                    "reduced_val_top1": r["val_top1"],
                    "reduced_test_top1": r["test_top1"], "reduced_seconds": r["seconds"],
                    "zc": zc_row(ctx.scorer, macro)})  # fmt: skip
    return out


def _stat(values: list[float]) -> dict | None:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(len(v))} if len(v) else None


def _summary(per_seed: list[dict], m: str) -> dict:
    rows = [s["methods"][m] for s in per_seed]
    nets = [r["networks"] for r in rows]
    best = [max(n, key=lambda x: x["reduced_val_top1"]) if n else None for n in nets]
    return {
        "evaluations": _stat([r["evaluations"] for r in rows]),
        "search_seconds": _stat([r.get("search_seconds") for r in rows]),
        "best_objective": _stat([r.get("best_objective") for r in rows]),
        "best_reduced_val_top1": _stat([b["reduced_val_top1"] if b else None for b in best]),
        "full_test_top1": _stat([b["full"]["test_top1"] if b and "full" in b else None for b in best]),
        "errors": [r["error"] for r in rows if "error" in r],
    }


def _rho(per_seed: list[dict]) -> float | None:
    every = {n["arch_id"]: n for s in per_seed for r in s["methods"].values() for n in r["networks"]}.values()
    pairs = [(n["objective"], n["reduced_val_top1"]) for n in every if np.isfinite(n["objective"])]
    rho = float(spearmanr(*zip(*pairs)).statistic) if len(pairs) >= 3 else float("nan")
    return rho if np.isfinite(rho) else None  # undefined for fewer than 3 networks or constant values


def _agreement(ctx: Context, per_seed: list[dict]) -> dict:
    """Over every distinct trained network: how each proxy (and FEATURES) ranks them by reduced validation
    accuracy, and how the reduced recipe ranks the ones also trained with the full recipe."""
    every = list({n["arch_id"]: n for s in per_seed for r in s["methods"].values() for n in r["networks"]}.values())
    scored = (*ctx.scorer.cfg.proxies, *FEATURES)
    out = {"proxies_vs_reduced_val": rank_agreement(features(every), [n["reduced_val_top1"] for n in every], scored)}
    both = [n for n in every if "full" in n]
    agreement = recipe_agreement([n["reduced_val_top1"] for n in both], [n["full"] for n in both])
    return out | ({"reduced_vs_full": agreement} if agreement else {})


def table_png(result: dict) -> bytes:
    """Per budget: each method's best objective and the trained accuracy of its pick (mean ± std over seeds),
    then against ZC evaluations (every seed): the best objective so far, and each trained pick's reduced
    validation accuracy at the evaluation that found it."""
    plt = pyplot()

    budgets = result["budgets"]
    fig, axes = plt.subplots(len(budgets), 4, figsize=(22, 3.8 * len(budgets)), squeeze=False)
    for (a, b, c, d), (name, r) in zip(axes, budgets.items()):
        ms = [m for m in result["methods"] if r["summary"][m]["best_objective"]]
        y = np.arange(len(ms))
        obj = [r["summary"][m]["best_objective"] for m in ms]
        a.barh(y, [o["mean"] for o in obj], xerr=[o["std"] for o in obj])
        a.set(yticks=y, yticklabels=ms, xscale="log", xlabel=f"best {result['objective']}", title=r["constraint"])
        for key, label in (("best_reduced_val_top1", "reduced, validation"), ("full_test_top1", "full, test")):
            acc = [r["summary"][m][key] for m in ms]
            b.errorbar([x["mean"] if x else np.nan for x in acc], y, xerr=[x["std"] if x else 0 for x in acc],
                       fmt="o", label=label)  # fmt: skip
        b.set(yticks=y, yticklabels=ms, xlabel="top-1 of the pick", title=f"{name}: trained on Fashion-MNIST")
        b.legend(fontsize=8)
        for i, m in enumerate(ms):
            color = f"C{i % 10}"
            for s, row in enumerate(seed["methods"][m] for seed in r["per_seed"]):
                if curve := row.get("best_objective_curve"):  # held flat to the last evaluation
                    e, f = zip(*curve, [row["evaluations"], curve[-1][1]])
                    c.step(e, f, where="post", color=color, lw=1, label=m if s == 0 else None)
                d.scatter([n["found_at"] for n in row["networks"]], [n["reduced_val_top1"] for n in row["networks"]],
                          color=color, s=14, label=m if s == 0 else None)  # fmt: skip
        c.set(xscale="log", yscale="log", xlabel="ZC evaluations", ylabel=f"best {result['objective']} so far")
        d.set(xscale="log", xlabel="ZC evaluation that found the pick", ylabel="reduced validation top-1")
        d.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return png(fig, dpi=100)
