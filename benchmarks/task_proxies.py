"""Every zero-cost proxy against trained Fashion-MNIST accuracy: how well each ranks the networks the real-task
benchmarks (`bench fidelity`, `bench table1`) trained, per budget and recipe.

The networks are the store's `trained` artifacts of the fidelity study's two trainings (its reduced and full
recipe on its validation split; other trainings are left out), each network's validation accuracy the mean
over its seeds. A network belongs to the smallest real-task budget it fits. Each distinct network gets one ZC
record of every proxy (ALL_PROXIES) on a Fashion-MNIST batch at 1x28x28 (the objective's batch in `bench
table1`), and each proxy, each rank ensemble of them (nasgen.zc.ensemble) and params and FLOPs alone are
ranked against accuracy: Spearman with a 95% bootstrap interval, Kendall, and the partial Spearman given params
(how a proxy ranks networks of equal size, which is what a search under a params budget needs). Subsets:
every network, and the ``near_budget`` ones (params at least ``near`` of the budget: the kind of network a
search under that budget returns, where size no longer separates them).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

import numpy as np
import pandas as pd
import torch

from benchmarks.config import FidelityConfig, bench_profile
from benchmarks.fidelity import ZALANDO, protocol, task_zc, zc_row
from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from benchmarks.nb201 import PUBLISHED_SOTA, partial_spearman, with_intervals
from nasgen.config import resolve_profile
from nasgen.errors import ConfigError
from nasgen.progress import ProgressLine
from nasgen.space.cost import macro_cost
from nasgen.stages.trained import STAGE, recipe_config
from nasgen.store import ArtifactStore
from nasgen.train.references import PlainNet, spec_from_dict
from nasgen.zc.config import ALL_PROXIES
from nasgen.zc.scorer import Scorer

ROLES = ("snip_ssnr",)  # a column repeating a named variant (tcet is kept: the ensembles name it)


def trained_networks(st: ArtifactStore, cfg: FidelityConfig) -> pd.DataFrame:
    """One row per (network, recipe) of the fidelity protocol in the store: its spec, cost, seeds and mean
    validation and test accuracy."""
    trainings = {name: (data.model_dump(mode="json"), {k: v for k, v in recipe_config(recipe).items() if k != "seed"})
                 for name, (data, recipe) in protocol(cfg).items()}  # fmt: skip
    runs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    specs: dict[str, dict] = {}
    for row in st.list(STAGE):
        m = st.manifest(STAGE, row["key"])
        conf, metrics = m["config"], m.get("metrics", {})
        recipe = {k: v for k, v in conf["recipe"].items() if k != "seed"}
        conf_data = {**conf["dataset"], "root": None}
        name = next((n for n, (d, r) in trainings.items() if conf_data == {**d, "root": None} and recipe == r), None)
        if name is None or metrics.get("val_top1") is None:
            continue
        runs[(conf["arch_id"], name)].append(metrics)
        specs[conf["arch_id"]] = conf["macro"]
    rows = []
    for (arch_id, recipe), ms in runs.items():
        spec = spec_from_dict(specs[arch_id])
        cost = spec.cost() if isinstance(spec, PlainNet) else macro_cost(spec)
        rows.append({"arch_id": arch_id, "recipe": recipe, "seeds": len(ms), "params": cost.params,
                     "flops": cost.flops, "val_top1": float(np.mean([x["val_top1"] for x in ms])),
                     "test_top1": float(np.mean([x["test_top1"] for x in ms])), "spec": spec})  # fmt: skip
    return pd.DataFrame(rows)


def budget_of(params: int, flops: int, budgets: dict[str, tuple[int, int]]) -> str | None:
    """The smallest budget (by params) the network fits, None when it fits none."""
    for name, (p, f) in sorted(budgets.items(), key=lambda kv: kv[1][0]):
        if params <= p and flops <= f:
            return name
    return None


def partial_given_params(values: pd.DataFrame, truth: pd.Series, proxies) -> dict[str, float | None]:
    """Spearman of each proxy with ``truth`` given params (None where undefined: a proxy that is size)."""
    return {p: v if math.isfinite(v) else None for p, v in partial_spearman(values, truth, proxies).items()}


def run(profile: str = "demo", store: str | None = None, device: str = "cpu", threads: int = 2,
        root: str | None = None, near: float = 0.5, plot: str | None = None,
        overrides: dict | None = None) -> dict:  # fmt: skip
    """Rank agreement of every proxy with trained accuracy over the store's real-task networks (those of the
    profile's fidelity protocol; ``overrides`` of its ``fidelity`` section)."""
    if not 0 <= near < 1:
        raise ConfigError(f"--near {near}: a share of the budget in [0, 1)")
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    cfg: FidelityConfig = bench_profile(profile, overrides=overrides).fidelity
    st = ArtifactStore(store)
    nets = trained_networks(st, cfg)
    if nets.empty:
        raise ConfigError(f"no network of the fidelity protocol is trained in {st.root}: run `nasgen bench "
                          "fidelity` or `nasgen bench table1` with this store first")  # fmt: skip
    nets["budget"] = [budget_of(p, f, cfg.budgets) for p, f in zip(nets["params"], nets["flops"])]
    zc = task_zc(resolve_profile(profile).hl_evo.zc, "fashion_mnist", root, ALL_PROXIES)
    scorer = Scorer(zc, device)
    distinct = nets.drop_duplicates("arch_id")
    bar = ProgressLine("bench task-proxies", len(distinct), every=30.0)
    records = {}
    for a, spec in zip(distinct["arch_id"], distinct["spec"]):
        records[a] = zc_row(scorer, spec)
        bar.advance()
    named = [p for p in ALL_PROXIES if p not in ROLES]
    rec = pd.DataFrame.from_dict(records, orient="index")
    out: dict = {}
    for (budget, recipe), part in nets.dropna(subset=["budget"]).groupby(["budget", "recipe"]):
        limit = cfg.budgets[budget][0]
        subsets = {"all": part, "near_budget": part[part["params"] >= near * limit]}
        block = {}
        for name, sub in subsets.items():
            if len(sub) < 3:
                block[name] = {"networks": int(len(sub))}
                continue
            values = rec.loc[sub["arch_id"]].set_index(sub.index)
            values["params"] = sub["params"].astype(float)
            truth = sub["val_top1"]
            block[name] = {
                "networks": int(len(sub)),
                "val_top1": [float(truth.min()), float(truth.max())],
                "params": [int(sub["params"].min()), int(sub["params"].max())],
                "vs_val": with_intervals(values, truth, named),
                "vs_test": {p: v["spearman"] for p, v in with_intervals(values, sub["test_top1"], named,
                                                                         resamples=1).items()},
                "given_params": partial_given_params(values[values["status"] == "ok"],
                                                     truth[values["status"] == "ok"], named),
            }  # fmt: skip
        out.setdefault(budget, {})[recipe] = block
    result = {
        "benchmark": "task_proxies", "machine": machine_info(), "torch_threads": threads, "device": device,
        "profile": profile, "zc": zc.model_dump(mode="json", exclude={"proxies"}), "near": near,
        "trained_networks": int(len(nets)), "distinct_networks": int(len(distinct)),
        "budgets": {k: list(v) for k, v in cfg.budgets.items()}, "results": out,
        "published_sota_nb201": PUBLISHED_SOTA, "zalando_published_test": ZALANDO,
        "wall_seconds": time.perf_counter() - t0,
        "networks": [{**{k: row[k] for k in ("arch_id", "recipe", "budget", "seeds", "params", "flops", "val_top1",
                                              "test_top1")}, "zc": records[row["arch_id"]]}
                     for row in nets.to_dict("records")],
    }  # fmt: skip
    if plot:
        with open(plot, "wb") as f:
            f.write(plot_png(result))
    return result


def plot_png(result: dict) -> bytes:
    """Spearman with reduced-recipe validation accuracy per proxy and ensemble, every network vs near-budget."""
    plt = pyplot()

    panels = [(b, r) for b, recipes in result["results"].items() for r in recipes]
    fig, axes = plt.subplots(len(panels), 1, figsize=(14, 4.5 * len(panels)), squeeze=False)
    for ax, (budget, recipe) in zip(axes[:, 0], panels):
        block = result["results"][budget][recipe]
        shown = [k for k in ("all", "near_budget") if "vs_val" in block[k]]
        names = list(block[shown[0]]["vs_val"]) if shown else []
        x = np.arange(len(names))
        for j, sub in enumerate(shown):
            got = block[sub]["vs_val"]
            rho = np.array([got[p]["spearman"] for p in names], dtype=float)
            ci = np.array([got[p]["spearman_95"] for p in names], dtype=float).T
            ax.bar(x + (j - 0.5) * 0.4, rho, width=0.4, yerr=np.abs(np.nan_to_num(ci - rho)),
                   error_kw={"lw": 0.6}, label=f"{sub} ({block[sub]['networks']} networks)")  # fmt: skip
        ax.set_xticks(x, names, rotation=70, fontsize=7)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylabel("Spearman with val top-1 (95% bootstrap)")
        ax.set_title(f"Fashion-MNIST, budget {budget}, {recipe} recipe")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return png(fig, dpi=100)
