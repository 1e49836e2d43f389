"""What a curve table supports (`bench curves`): the NAS-Bench-x11 surrogate's metrics per mu-model and noise
model (dissertation Table 5.3's grid, without XGBoost and the VAE), the SVD's reconstruction error against k,
learning-curve extrapolation as a predictor and as final selection at equal epochs, and multi-fidelity search
on the surrogate (dissertation Fig. 5.5).

Held out by architecture: every network trained at several seeds (the KL set), then random ones up to
``surrogate.test_fraction``. LCE is measured out of fold (grouped K-fold over networks): every network's
prediction comes from a model that never saw it. Selection is simulated on the real curves: a partial run of a
recipe is the prefix of its full run (same seed, same schedule), so "train N candidates to E_few, then the
chosen one to the end" costs N x E_few + E epochs and reads values that training would produce.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, spearmanr

from benchmarks.fidelity import CLASSES, INPUT, random_networks
from benchmarks.figure import png, pyplot
from nasgen.config import Profile
from nasgen.curves import multifidelity, surrogate
from nasgen.curves.config import LCEConfig, MultiFidelityConfig, SurrogateConfig
from nasgen.curves.lce import LcSVR, few_epochs, wpm_extrapolate
from nasgen.curves.metrics import kl_divergence, mean_curve_metrics
from nasgen.curves.svd import CurveSVD, reconstruction_mse
from nasgen.curves.table import curves, features, split
from nasgen.progress import ProgressLine
from nasgen.search.config import ConstraintConfig

MODELS = ("lgb", "mlp", "gp")
NOISES = ("std", "window", "gkde")
KL_DRAWS = 100  # surrogate curves per held-out architecture for its predicted distribution
FOLDS = 5  # grouped K-fold of the out-of-fold LCE predictions
MAX_DRAWS = 1_000_000  # random macros drawn for the pool before the budget is said to be unreachable
GROUPS = 2_000  # random candidate sets of the selection simulation
CANDIDATES = 10  # networks per candidate set (generate's top-N)
# dissertation Table 5.2 (each benchmark's best surrogate, SVD-LGB-GKDE): avg R2, final R2, avg KT, final KT, avg KL;
# "w. accs": NB-101's or the first epochs' accuracies as extra features (our features have none)
PUBLISHED = {"NB-111": (0.529, 0.630, 0.531, 0.645, 2.016), "NB-111 (w. accs)": (0.630, 0.853, 0.611, 0.794, 1.710),
             "NB-311": (0.779, 0.800, 0.728, 0.788, 0.905), "NB-NLP11": (0.326, 0.314, 0.505, 0.475, None),
             "NB-NLP11 (w. accs)": (0.878, 0.895, 0.878, 0.844, None)}  # fmt: skip


def _per_arch(table: pd.DataFrame, y: np.ndarray, mask: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(arch ids, the first row index of each, the seed-mean curve of each) among ``mask``'s rows."""
    sub = table[mask]
    archs = list(dict.fromkeys(sub["arch_id"]))
    first = np.array([sub.index[sub["arch_id"] == a][0] for a in archs])
    mean = np.stack([y[table.index.get_indexer(sub.index[sub["arch_id"] == a])].mean(axis=0) for a in archs])
    return archs, table.index.get_indexer(first), mean


def surrogate_grid(table: pd.DataFrame, cfg: SurrogateConfig) -> dict:
    x, y = features(table, cfg.zc), curves(table, cfg.metric)
    train, test = split(table, cfg.test_fraction, cfg.seed)
    archs, first, mean = _per_arch(table, y, test)
    multi = [a for a in archs if (table["arch_id"] == a).sum() > 1]
    svd = CurveSVD.fit(y[train], min(y[train].shape))
    out: dict[str, Any] = {
        "train_runs": int(train.sum()), "test_networks": len(archs), "kl_networks": len(multi),
        "singular_values": svd.singular_values.tolist(),
        "reconstruction_mse_vs_k": reconstruction_mse(y[train], mean, range(1, min(y[train].shape) + 1)),
        "rows": [],
    }  # fmt: skip
    rng = np.random.default_rng(cfg.seed)
    for model in MODELS:
        for noise in NOISES:
            c = cfg.model_copy(update={"model": model, "noise": noise})
            t = time.perf_counter()
            s = surrogate.fit(x[train], y[train], c)
            row = {"model": model, "noise": noise, **mean_curve_metrics(s.mean(x[first]), mean)}
            kls = [kl_divergence(y[(table["arch_id"] == a).to_numpy()],
                                 s.sample(x[first[archs.index(a)]][None], KL_DRAWS, rng)[:, 0])
                   for a in multi]  # fmt: skip
            row |= {"kl_avg": float(np.mean([k["avg"] for k in kls])) if kls else None,
                    "kl_final": float(np.mean([k["final"] for k in kls])) if kls else None,
                    "seconds": time.perf_counter() - t}  # fmt: skip
            out["rows"].append(row)
    enc = features(table, ())
    enc_only = surrogate.fit(enc[train], y[train], cfg.model_copy(update={"zc": ()}))
    out["encoding_only"] = {"model": cfg.model, **mean_curve_metrics(enc_only.mean(enc[first]), mean)}
    return out


def _folds(table: pd.DataFrame, k: int, seed: int) -> np.ndarray:
    archs = np.array(sorted(set(table["arch_id"])))
    fold_of = dict(zip(np.random.default_rng(seed).permutation(archs), np.arange(len(archs)) % k))
    return table["arch_id"].map(fold_of).to_numpy()


def out_of_fold(table: pd.DataFrame, cfg: LCEConfig, seed: int) -> pd.DataFrame:
    """Seed-0 runs with their final value and each predictor's out-of-fold prediction of it."""
    x, y = features(table, cfg.zc), curves(table)
    few = few_epochs(y.shape[1], cfg.few_fraction)
    folds = _folds(table, FOLDS, seed)
    svr = np.full(len(table), np.nan)
    for f in range(FOLDS):
        held = folds == f
        if held.all() or not held.any():
            continue
        svr[held] = LcSVR.fit(x[~held], y[~held], cfg).predict(x[held], y[held])
    rows = table["seed"].to_numpy() == 0
    return pd.DataFrame({
        "arch_id": table["arch_id"][rows].to_numpy(), "final": y[rows, -1], "svr": svr[rows],
        "wpm": [wpm_extrapolate(c[:few], y.shape[1], cfg) for c in y[rows]], "last_value": y[rows, few - 1],
        **{p: table[f"zc_{p}"][rows].to_numpy(dtype=float) for p in cfg.zc if f"zc_{p}" in table},
        "params": table["params"][rows].to_numpy(dtype=float),
    })  # fmt: skip


PREDICTORS = ("svr", "wpm", "last_value")


def prediction_quality(oof: pd.DataFrame, proxies: tuple[str, ...]) -> dict:
    out = {}
    for p in (*PREDICTORS, *proxies, "params"):
        v = oof[p].to_numpy(dtype=float)
        ok = np.isfinite(v)
        out[p] = {"spearman": float(spearmanr(v[ok], oof["final"][ok]).statistic),
                  "kendall": float(kendalltau(v[ok], oof["final"][ok]).statistic),
                  "mae": float(np.abs(v[ok] - oof["final"][ok]).mean()) if p in PREDICTORS else None}  # fmt: skip
    return out


def selection(oof: pd.DataFrame, epochs: int, few: int, proxies: tuple[str, ...], seed: int) -> dict:
    """Random candidate sets of CANDIDATES networks: the final accuracy of each strategy's pick and its epochs."""
    rng = np.random.default_rng(seed)
    final = oof["final"].to_numpy()
    cost = {"svr": CANDIDATES * few + epochs, "wpm": CANDIDATES * few + epochs, "last_value": CANDIDATES * few + epochs,
            **{p: epochs for p in (*proxies, "params")}, "random": epochs, "oracle": CANDIDATES * epochs}  # fmt: skip
    picks: dict[str, list[float]] = {k: [] for k in cost}
    for _ in range(GROUPS):
        g = rng.choice(len(oof), size=min(CANDIDATES, len(oof)), replace=False)
        for k in cost:
            if k == "oracle":
                i = g[np.argmax(final[g])]
            elif k == "random":
                i = g[0]
            else:
                v = oof[k].to_numpy(dtype=float)[g]
                i = g[np.nanargmax(np.where(np.isfinite(v), v, -np.inf))]
            picks[k].append(float(final[i]))
    best = np.array(picks["oracle"])
    return {k: {"mean_final": float(np.mean(v)), "mean_regret": float(np.mean(best - np.array(v))),
                "picked_best": float(np.mean(np.array(v) >= best)), "epochs": cost[k]}
            for k, v in picks.items()}  # fmt: skip


def multifidelity_runs(table: pd.DataFrame, scfg: SurrogateConfig, lce: LCEConfig, mf: MultiFidelityConfig,
                       constraint: ConstraintConfig) -> dict:  # fmt: skip
    """REA and local search x {single, svr, wpm} on a surrogate of the whole table (encoding only: searched
    networks have no ZC record), LcSVR on the encoding and the partial curve."""
    y = curves(table, scfg.metric)
    x = features(table, ())
    sur = surrogate.fit(x, y, scfg.model_copy(update={"zc": ()}))
    lcsvr = LcSVR.fit(x, y, lce.model_copy(update={"zc": ()}))
    pool = random_networks(mf.pool, constraint, scfg.seed, MAX_DRAWS)[0]
    space = multifidelity.PooledSpace(INPUT, CLASSES, pool)
    out: dict[str, Any] = {}
    combos = [(a, f) for a in multifidelity.ALGORITHMS for f in ("single", "svr", "wpm")]
    bar = ProgressLine("bench curves: multi-fidelity runs", len(combos) * mf.runs, every=30.0)
    for a, f in combos:
        runs = []
        for r in range(mf.runs):
            runs.append(multifidelity.search(a, f, space, constraint, sur, lcsvr, y.shape[1], lce, mf, seed=r))
            bar.advance()
        finals = np.array([r["final_truth"] for r in runs], dtype=float)
        out[f"{a}_{f}"] = {"final_truth_mean": float(np.nanmean(finals)), "final_truth_std": float(np.nanstd(finals)),
                           "fully_trained_mean": float(np.mean([r["fully_trained"] for r in runs])),
                           "architectures_mean": float(np.mean([r["architectures"] for r in runs])),
                           "traces": [r["trace"] for r in runs]}  # fmt: skip
    return out


def analyse(table: pd.DataFrame, prof: Profile, constraint: ConstraintConfig) -> dict:
    """Everything above on one curve table; the searches on the surrogate stay within ``constraint``."""
    scfg, lce, mf = prof.surrogate, prof.lce, prof.multifidelity
    y = curves(table, scfg.metric)
    epochs, few = y.shape[1], few_epochs(y.shape[1], lce.few_fraction)
    oof = out_of_fold(table, lce, scfg.seed)
    return {
        "table": {"runs": len(table), "networks": int(table["arch_id"].nunique()), "epochs": epochs, "few": few,
                  "final_val_top1": {"min": float(y[:, -1].min()), "median": float(np.median(y[:, -1])),
                                     "max": float(y[:, -1].max())}},
        "surrogate": surrogate_grid(table, scfg),
        "published_table_5_2": PUBLISHED,
        "lce": {"networks": len(oof), "few": few, "quality": prediction_quality(oof, lce.zc),
                "selection": selection(oof, epochs, few, lce.zc, scfg.seed)},
        "multifidelity": multifidelity_runs(table, scfg, lce, mf, constraint),
    }  # fmt: skip


def plot_png(result: dict, table: pd.DataFrame) -> bytes:
    plt = pyplot()

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4))
    y = curves(table)
    for row in y[:200]:
        a.plot(range(1, len(row) + 1), row, lw=0.5, alpha=0.35)
    a.axvline(result["table"]["few"], color="k", ls="--", lw=1)
    a.set(xlabel="epoch", ylabel="validation top-1", title=f"{len(table)} curves (dashed: E_few)")
    mse = {int(k): v for k, v in result["surrogate"]["reconstruction_mse_vs_k"].items()}
    ks = [k for k in sorted(mse) if k < max(mse)]  # at full rank the error is round-off: it would squash the axis
    b.semilogy(ks, [mse[k] for k in ks], marker="o")
    b.set(xlabel="SVD components k", ylabel="MSE vs held-out seed means", title="SVD reconstruction")
    for name, r in result["multifidelity"].items():
        pts = [p for t in r["traces"] for p in t]
        if pts:
            grid = np.linspace(0, max(p[0] for p in pts), 50)
            med = [np.median([next((v for e, v in reversed(t) if e <= g), np.nan) for t in r["traces"]]) for g in grid]
            c.plot(grid, med, label=name)
    c.set(xlabel="simulated epochs", ylabel="true final val of the returned network", title="search on the surrogate")
    c.legend(fontsize=7)
    return png(fig, dpi=90, tight=True)
