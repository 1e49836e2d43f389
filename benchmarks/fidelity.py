"""How cheaply trained accuracy still ranks architectures on Fashion-MNIST: the fidelity study that fixes the
CPU protocol of the real-task benchmark.

Per budget (params and MACs at 1x28x28): ``networks`` random networks of the macro space, drawn as random search
draws them (``nasgen.space.sampling.random_macro``, violators rejected), and the hand-designed references at their
widest fitting width, and with ``picks`` the networks a `bench table1` run's searches picked (random search's draws
at a small budget are nearly all one position; the searches' picks are what the recipe must rank). Each is trained
with the reduced recipe (a stratified training subset, a few epochs) at several seeds and ``full_networks`` of them
(the references, then the picks, then random networks) with the full recipe, each right after its reduced runs.
Every run is a `trained` artifact of the store: a rerun (or a run cut short) trains only what is missing. Reported:
the spread of validation accuracy across architectures against the spread across seeds of one architecture (their
ratio), the Spearman correlation of reduced with full accuracy, the cost per network, and the references' full-
recipe test accuracy beside Zalando's published figures. Every network also gets its ZC record (``proxies``, on a
batch of Fashion-MNIST images) and each proxy's rank agreement with trained accuracy (Spearman, Kendall): does a
zero-cost proxy rank the networks of this budget on this task?
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from benchmarks.config import FidelityConfig, bench_profile
from benchmarks.machine import machine_info
from nasgen.config import resolve_profile
from nasgen.errors import ConfigError
from nasgen.progress import ProgressLine
from nasgen.search.config import ConstraintConfig
from nasgen.search.objective import satisfies
from nasgen.space.config import SamplerConfig
from nasgen.space.cost import macro_cost
from nasgen.space.macro import CHANNELS, MAX_LAYERS, MacroArch
from nasgen.space.sampling import random_macro
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.stages.trained import curve
from nasgen.store import ArtifactStore
from nasgen.train.config import RECIPES, DatasetConfig, TrainRecipe
from nasgen.train.references import PlainNet, fit_budget
from nasgen.zc.config import ZCConfig
from nasgen.zc.scorer import Scorer

INPUT, CLASSES = (1, 28, 28), 10
# Zalando's benchmark table (the dataset package's README.md): test accuracy of hand-designed networks
ZALANDO = {"2 Conv <100K parameters": 92.5, "2 Conv+3 FC ~500K, augmentation, BN": 93.4,
           "DenseNet-BC 768K parameters": 95.4, "WRN40-4 8.9M parameters": 96.7}  # fmt: skip


def random_networks(n: int, constraint: ConstraintConfig, seed: int, max_draws: int) -> tuple[list[MacroArch], int]:
    """``n`` distinct random macros meeting ``constraint`` as random search draws them, and the draws it took."""
    rng = np.random.default_rng(seed)
    found: dict[str, MacroArch] = {}
    draws = 0
    while len(found) < n:
        if draws >= max_draws:
            raise ConfigError(f"{max_draws} random macros gave {len(found)} of {n} within {constraint.name}")
        draws += 1
        m = random_macro(rng, SamplerConfig(), MAX_LAYERS, CHANNELS, INPUT, CLASSES)
        if satisfies(macro_cost(m), constraint):
            found.setdefault(m.arch_id, m)
    return list(found.values()), draws


def protocol(cfg: FidelityConfig, root: str | None = None) -> dict[str, tuple[DatasetConfig, TrainRecipe]]:
    """The study's two trainings, each its data and recipe: ``reduced`` (a stratified training subset, a few
    epochs) and ``full`` (every training image, the dataset recipe's epochs), one fixed validation split."""
    recipe = RECIPES["fashion_mnist"]
    data = DatasetConfig(name="fashion_mnist", root=root, val_fraction=cfg.val_fraction, split_seed=cfg.seed)
    return {"reduced": (data.model_copy(update={"train_subset": cfg.subset}),
                        recipe.model_copy(update={"epochs": cfg.reduced_epochs})),
            "full": (data, recipe.model_copy(update={"epochs": cfg.full_epochs or recipe.epochs}))}  # fmt: skip


def task_zc(zc: ZCConfig, data: str, root: str | None, proxies: Sequence[str] | None = None) -> ZCConfig:
    """``zc`` at the task's input (1x28x28, 10 classes) on a batch of ``data`` (its ``proxies`` if given)."""
    update = {"in_channels": INPUT[0], "resolution": INPUT[1], "classes": CLASSES, "data": data, "data_root": root}
    return ZCConfig.model_validate({**zc.model_dump(), **update, **({"proxies": proxies} if proxies else {})})


def zc_row(scorer: Scorer, net: MacroArch | PlainNet) -> dict:
    """The ZC record of one network of the study (a plain reference scored as the module it builds)."""
    if isinstance(net, PlainNet):
        return scorer.score_module(net.build, net.arch_id)
    return scorer.score_macro(net)


FEATURES = ("positions",)  # of a network besides its proxies, set beside trained accuracy too


def features(rows: Sequence[dict]) -> list[dict]:
    """Each row's ZC record with the row's FEATURES (None for a plain reference: it has no positions)."""
    return [{**r["zc"], **{f: r.get(f) for f in FEATURES}} for r in rows]


def rank_agreement(records: Sequence[dict], accuracy: Sequence[float], proxies: Sequence[str]) -> dict:
    """How each proxy (or feature of the record, e.g. ``positions``) ranks networks by trained accuracy:
    Spearman's rho and Kendall's tau over the networks whose record is ok and has a finite value (None where
    undefined: fewer than 3 networks or a constant proxy)."""
    out: dict = {"networks": 0, "spearman": {}, "kendall": {}}
    for p in proxies:
        pairs = [(r[p], a) for r, a in zip(records, accuracy, strict=True)
                 if r.get("status") == "ok" and r.get(p) is not None and np.isfinite(r[p])]  # fmt: skip
        out["networks"] = max(out["networks"], len(pairs))
        rho = tau = float("nan")
        if len(pairs) >= 3 and len({x for x, _ in pairs}) > 1:
            x, y = zip(*pairs)
            rho, tau = float(spearmanr(x, y).statistic), float(kendalltau(x, y).statistic)
        out["spearman"][p] = rho if np.isfinite(rho) else None
        out["kendall"][p] = tau if np.isfinite(tau) else None
    return out


def recipe_agreement(reduced: Sequence[float], full: Sequence[dict]) -> dict | None:
    """How the reduced recipe's validation accuracy ranks networks against their full runs (validation and
    test): Spearman over the networks trained both ways; None under 3 networks."""
    if len(full) < 3:
        return None
    return {"networks": len(full), **{f"spearman_{k}": float(spearmanr(reduced, [f[k] for f in full]).statistic)
                                      for k in ("val_top1", "test_top1")}}  # fmt: skip


def settling(full: Sequence[dict]) -> list[float | None] | None:
    """Per epoch k of the full recipe: Spearman of the networks' validation accuracy after epoch k with their
    final test accuracy. How early the full recipe's ranking settles, a bound on what a recipe of the full
    data and fewer epochs could rank (the learning rate there is still high; a k-epoch recipe anneals it)."""
    if len(full) < 3:
        return None
    final = [f["test_top1"] for f in full]
    epochs = min(len(f["val_curve"]) for f in full)
    rhos = [float(spearmanr([f["val_curve"][k] for f in full], final).statistic) for k in range(epochs)]
    return [r if np.isfinite(r) else None for r in rhos]


def full_spread(rows: Sequence[dict]) -> dict | None:
    """The full recipe's seed spread over the networks trained fully at several seeds: per network the test and
    validation accuracy at each seed and their std (ddof 0, as the reduced recipe's ``_spread``), and the mean
    std; None where no network has a second full seed."""
    per = {}
    for r in rows:
        if r.get("full_other_seeds"):
            runs = [r["full"], *r["full_other_seeds"]]
            per[r["name"]] = {k: [x[k] for x in runs] for k in ("val_top1", "test_top1")}
            per[r["name"]] |= {f"std_{k}": float(np.std(per[r["name"]][k])) for k in ("val_top1", "test_top1")}
    if not per:
        return None
    return {"networks": per, **{f"mean_std_{k}": float(np.mean([p[f"std_{k}"] for p in per.values()]))
                                for k in ("val_top1", "test_top1")}}  # fmt: skip


def search_picks(path: str, budget: str) -> dict[str, tuple[MacroArch, list[str]]]:
    """The distinct networks the searches of a `bench table1` result picked at ``budget``, cheapest reduced run
    first (so a study cut short has its cheapest full runs): name -> (macro, the methods that picked it)."""
    try:
        with open(path) as f:
            result = json.load(f)
        seeds = result["budgets"][budget]["per_seed"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"fidelity.picks: {path} is not a bench table1 result with budget {budget!r} ({e})") from e
    found: dict[str, dict] = {}
    for s in seeds:
        for method, r in s["methods"].items():
            for n in r["networks"]:
                found.setdefault(n["arch_id"], {**n, "methods": []})["methods"].append(method)
    ordered = sorted(found.values(), key=lambda n: n["reduced_seconds"])
    return {f"pick-{n['arch_id']}": (MacroArch.from_json(n["macro"]), sorted(set(n["methods"]))) for n in ordered}


def _spread(values: np.ndarray) -> dict:
    """values: networks x seeds. Across architectures: the std of the seed means; across seeds: the mean std."""
    arch, seed = float(values.mean(axis=1).std()), float(values.std(axis=1).mean())
    return {"across_architectures": arch, "across_seeds": seed, "ratio": arch / seed if seed > 0 else float("inf")}


def run(profile: str = "demo", store: str | None = None, budget: str = "b1", device: str = "cpu",
        threads: int = 2, root: str | None = None, overrides: dict | None = None) -> dict:  # fmt: skip
    """``overrides``: of the profile's ``fidelity`` section (``--set fidelity.full_networks=0``)."""
    cfg: FidelityConfig = bench_profile(profile, overrides=overrides).fidelity
    if budget not in cfg.budgets:
        raise ConfigError(f"unknown budget {budget!r}; budgets: {', '.join(cfg.budgets)}")
    torch.set_num_threads(threads)
    max_params, max_flops = cfg.budgets[budget]
    constraint = ConstraintConfig(max_params=max_params, max_flops=max_flops)
    t0 = time.perf_counter()
    randoms, draws = random_networks(cfg.networks, constraint, cfg.seed, cfg.max_draws)
    refs = {name: fit_budget(name, max_params, max_flops, INPUT, CLASSES) for name in cfg.references}
    picks = dict(list(search_picks(cfg.picks, budget).items())[: cfg.max_picks]) if cfg.picks else {}
    nets = ([(f"random-{i}", m) for i, m in enumerate(randoms)] + [(n, net) for n, (net, _, _) in refs.items()]
            + [(n, m) for n, (m, _) in picks.items()])  # fmt: skip
    order = [*refs, *picks, *(n for n, _ in nets if n.startswith("random-"))]
    full_names = order[: cfg.full_networks]  # the references first, then the searches' picks
    seeded = full_names[: cfg.full_seed_networks]  # also trained fully at seeds 1 .. full_seeds - 1
    trainings = protocol(cfg, root)
    data_reduced, reduced = trainings["reduced"]
    data, full = trainings["full"]
    st = ArtifactStore(store)
    zc = task_zc(resolve_profile(profile).hl_evo.zc, "fashion_mnist", root, cfg.proxies)
    scorer = Scorer(zc, device)
    total = len(nets) * (cfg.seeds + 1) + len(full_names) + len(seeded) * (cfg.full_seeds - 1)
    bar = ProgressLine(f"bench fidelity {budget}", total, every=30.0)

    def train(macro: MacroArch | PlainNet, dataset: DatasetConfig, r, with_curve: bool = False) -> dict:
        ref = run_stage("trained", st, device, macro=macro, dataset=dataset, recipe=r)
        m = metrics(ref)
        bar.advance()
        out = {k: m[k] for k in ("val_top1", "test_top1", "seconds")}
        return out | {"val_curve": curve(ref)["val_top1"]} if with_curve else out

    by_name, done = dict(nets), {}
    for name in [*full_names, *(n for n, _ in nets if n not in full_names)]:  # a full run as soon as its network's
        macro = by_name[name]  # reduced runs are done: an interrupted study has its full runs in order
        runs = [train(macro, data_reduced, reduced.model_copy(update={"seed": s})) for s in range(cfg.seeds)]
        done[name] = (runs, zc_row(scorer, macro), train(macro, data, full, True) if name in full_names else None)
        bar.advance()
    more = {n: [train(by_name[n], data, full.model_copy(update={"seed": s}), True) for s in range(1, cfg.full_seeds)]
            for n in seeded}  # fmt: skip
    rows = []
    for name, macro in nets:
        cost = refs[name][2] if name in refs else macro_cost(macro)
        layers = getattr(macro, "layers", None)  # a plain reference has no positions
        runs, record, full_run = done[name]
        rows.append({"name": name, "arch_id": macro.arch_id, "positions": None if layers is None else len(layers),
                     "strided": None if layers is None else sum(layer.stride == 2 for layer in layers),
                     "params": cost.params, "flops": cost.flops, "reduced": runs, "zc": record,
                     **({"width": refs[name][1]} if name in refs else {}),
                     **({"methods": picks[name][1]} if name in picks else {}),
                     **({"full": full_run} if full_run else {}),
                     **({"full_other_seeds": more[name]} if more.get(name) else {})})  # fmt: skip
    val = np.array([[r["val_top1"] for r in row["reduced"]] for row in rows])
    with_full = [row for row in rows if "full" in row]
    red_mean = [float(np.mean([r["val_top1"] for r in row["reduced"]])) for row in with_full]
    agreement = recipe_agreement(red_mean, [row["full"] for row in with_full])
    mean_val, scored = val.mean(axis=1), (*zc.proxies, *FEATURES)
    randoms_only = [i for i, r in enumerate(rows) if r["name"].startswith("random-")]
    picks_only = [i for i, r in enumerate(rows) if r["name"] in picks]
    proxies = {
        "reduced_val_top1": rank_agreement(features(rows), mean_val.tolist(), scored),
        "reduced_val_top1_random_only": rank_agreement(features([rows[i] for i in randoms_only]),
                                                       mean_val[randoms_only].tolist(), scored),
        "reduced_val_top1_picks_only": rank_agreement(features([rows[i] for i in picks_only]),
                                                      mean_val[picks_only].tolist(), scored) if picks else None,
        "full_val_top1": rank_agreement(features(with_full), [r["full"]["val_top1"] for r in with_full],
                                        scored) if with_full else None,
    }  # fmt: skip
    return {
        "benchmark": "fidelity", "machine": machine_info(), "torch_threads": threads, "device": device,
        "profile": profile, "budget": {"name": budget, "max_params": max_params, "max_flops": max_flops},
        "config": cfg.model_dump(mode="json"), "recipes": {"reduced": reduced.model_dump(mode="json"),
                                                           "full": full.model_dump(mode="json")},
        "random_draws": draws, "acceptance": len(randoms) / draws,
        "positions": np.bincount([r["positions"] for r in rows if r["name"].startswith("random-")]).tolist(),
        "spread_val_reduced": _spread(val), "spread_full": full_spread(rows), "reduced_vs_full": agreement,
        "full_epochs_vs_final": settling([r["full"] for r in with_full]),
        "seconds_per_reduced_run": float(np.mean([r["seconds"] for row in rows for r in row["reduced"]])),
        "seconds_per_full_run": float(np.mean([r["full"]["seconds"] for r in with_full])) if with_full else None,
        "zc": zc.model_dump(mode="json"), "proxies_vs_accuracy": proxies,
        "wall_seconds": time.perf_counter() - t0, "zalando_published_test": ZALANDO, "networks": rows,
    }  # fmt: skip
