"""A curve table of our own trained networks (NAS-Bench-x11 on Fashion-MNIST), then the surrogate, learning-curve
extrapolation and multi-fidelity search measured on it (benchmarks/curve_analysis.py).

The networks (profile section ``curves``): the distinct picks of the committed `bench table1` results at the
budget (what the searches and generators returned: HL-Evo, raw Evo, random search, SG + CCNF and the ablations,
under T-CET and the other objectives) interleaved with random networks of the budget as random search draws
them, so any prefix of the run is a mixed sample. Each is trained once with the curve recipe (a small stratified
training subset, many short epochs, a fixed validation split read every epoch, the test split after the last),
the first few also at more seeds (the noise model's held-out set). Every run is a `trained` artifact: a run cut
short by ``curves.time_budget_s`` or by the session resumes from the store, and the table (stage `curves`) is
built from every run present.
"""

from __future__ import annotations

import glob
import time

import torch

from benchmarks.config import CurvesConfig, bench_profile
from benchmarks.curve_analysis import analyse, plot_png
from benchmarks.fidelity import CLASSES, INPUT, random_networks, search_picks, task_zc
from benchmarks.machine import machine_info
from nasgen.config import resolve_profile
from nasgen.errors import ConfigError
from nasgen.progress import ProgressLine
from nasgen.search.config import ConstraintConfig
from nasgen.space.macro import MacroArch
from nasgen.stages import curves as curves_stage
from nasgen.stages.registry import stage
from nasgen.store import ArtifactStore, Ref
from nasgen.train.config import RECIPES, DatasetConfig, TrainRecipe


def protocol(cfg: CurvesConfig, root: str | None = None) -> tuple[DatasetConfig, TrainRecipe]:
    """The curve recipe: Fashion-MNIST's recipe on ``subset`` images for ``epochs``, validation every epoch."""
    data = DatasetConfig(name="fashion_mnist", root=root, val_fraction=cfg.val_fraction, train_subset=cfg.subset,
                         split_seed=cfg.seed)  # fmt: skip
    recipe = RECIPES["fashion_mnist"].model_copy(
        update={"epochs": cfg.epochs, "batch_size": cfg.batch_size, "test_every": cfg.epochs, "seed": cfg.seed}
    )
    return data, recipe


def constraint(cfg: CurvesConfig) -> ConstraintConfig:
    max_params, max_flops = cfg.budgets[cfg.budget]
    return ConstraintConfig(max_params=max_params, max_flops=max_flops)


def networks(cfg: CurvesConfig) -> list[tuple[str, MacroArch]]:
    """The searches' picks and random networks of the budget, interleaved (picks first where one runs out)."""
    if cfg.budget not in cfg.budgets:
        raise ConfigError(f"unknown budget {cfg.budget!r}; budgets: {', '.join(cfg.budgets)}")
    picks: dict[str, MacroArch] = {}
    for pattern in cfg.picks:
        for path in sorted(glob.glob(pattern)):
            for macro, _ in search_picks(path, cfg.budget).values():
                picks.setdefault(macro.arch_id, macro)
    randoms = random_networks(cfg.random_networks, constraint(cfg), cfg.seed, cfg.max_draws)[0]
    randoms = [m for m in randoms if m.arch_id not in picks]
    ordered, p, r = [], list(picks.values()), randoms
    for i in range(max(len(p), len(r))):
        ordered += [("pick", p[i])] if i < len(p) else []
        ordered += [("random", r[i])] if i < len(r) else []
    if not ordered:
        raise ConfigError(f"no networks: no table1 picks at {cfg.budget} in {list(cfg.picks)} and no random ones")
    return ordered


def collect(st: ArtifactStore, nets: list[tuple[str, MacroArch]], cfg: CurvesConfig, data: DatasetConfig,
            recipe: TrainRecipe, device: str) -> tuple[list[Ref], dict]:  # fmt: skip
    """Train what is missing (until the time budget), return every run present and what was done."""
    trained = stage("trained")
    runs = [(m, s) for i, (_, m) in enumerate(nets) for s in (range(cfg.repeat_seeds) if i < cfg.repeat_networks
                                                               else (0,))]  # fmt: skip
    bar = ProgressLine("bench curves: trained runs", len(runs), every=30.0)
    t0, refs, counts = time.perf_counter(), [], {"cached": 0, "trained": 0, "left": 0}
    for macro, seed in runs:
        inputs = {"macro": macro, "dataset": data, "recipe": recipe.model_copy(update={"seed": seed})}
        ref = trained.stored(st, **inputs)
        if ref is None and cfg.time_budget_s is not None and time.perf_counter() - t0 > cfg.time_budget_s:
            counts["left"] += 1
        elif ref is None:
            refs.append(trained.run(st, device=device, progress=lambda n: None, **inputs))
            counts["trained"] += 1
        else:
            refs.append(ref)
            counts["cached"] += 1
        bar.advance()
    return refs, counts | {"seconds": time.perf_counter() - t0}


def run(profile: str = "demo", store: str | None = None, device: str = "cpu", threads: int = 2,
        root: str | None = None, plot: str | None = None, overrides: dict | None = None) -> dict:  # fmt: skip
    """``overrides``: of the profile's ``curves`` section (``--set curves.time_budget_s=3600``)."""
    cfg: CurvesConfig = bench_profile(profile, overrides=overrides).curves
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    nets = networks(cfg)
    data, recipe = protocol(cfg, root)
    st = ArtifactStore(store)
    refs, counts = collect(st, nets, cfg, data, recipe, device)
    zc = task_zc(resolve_profile(profile).hl_evo.zc, "fashion_mnist", root, cfg.proxies)
    table_ref = stage(curves_stage.STAGE).run(st, device=device, trained_refs=refs, zc=zc)
    result = {"benchmark": "curves", "machine": machine_info(), "torch_threads": threads, "profile": profile,
              "budget": cfg.budget,
              "input": list(INPUT), "classes": CLASSES, "config": cfg.model_dump(mode="json"),
              "recipe": recipe.model_dump(mode="json"), "dataset": data.model_dump(mode="json"),
              "networks": {"picks": sum(k == "pick" for k, _ in nets), "random": sum(k == "random" for k, _ in nets)},
              "runs": counts, "curves_uri": table_ref.uri,
              **analyse(curves_stage.table(table_ref), resolve_profile(profile), constraint(cfg)),
              "wall_seconds": time.perf_counter() - t0}  # fmt: skip
    if plot:
        with open(plot, "wb") as f:
            f.write(plot_png(result, curves_stage.table(table_ref)))
    return result
