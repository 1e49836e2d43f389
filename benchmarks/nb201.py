"""NB-201 proxy benchmark: every proxy and variant against NAS-Bench-201's CIFAR-10 ground truth.

Over a seeded sample of architectures (default 1,000; all 15,625 when asked), each proxy of ``ALL_PROXIES`` is
computed at the profile's ZC config on alpha_x (the pipeline's network) and on the NB-201 network, and ranked
against validation and test top-1 (Spearman, Kendall). Beside them: the published figures (Abdelfattah et al.
2021, all 15,625, NB-201 network, real data), NASLib's stored proxies on their 491 architectures (scored here
too, on the NB-201 network, and compared with ours on the same 491 and the same accuracy), the Spearman of
every proxy with params (how much of a proxy is size), the seconds per architecture, and three choices
measured on a sub-sample (each re-scored with the one choice flipped): the singular-Gram policy, Zen's BN term
and a real-data batch (digits). Finally paper Table 7's claim on real ground truth: GMM families of z(x) on
alpha_x with the mean and std of accuracy per family, for each SNIP-SSNR form.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch

from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from nasgen.clusters.gmm import fit_clusters
from nasgen.config import get_profile
from nasgen.device import resolve_device
from nasgen.errors import ConfigError
from nasgen.nb201.arch import sample_indices
from nasgen.nb201.data import PUBLISHED_SPEARMAN, accuracy_table, naslib_proxies
from nasgen.nb201.scoring import NETWORKS, rank_correlations, score_archs
from nasgen.progress import ProgressLine
from nasgen.stages import nb201_proxies
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore
from nasgen.zc.config import ALL_PROXIES, SNIP_SSNR_FORMS, TCET_VARIANTS, ZCConfig
from nasgen.zc.ensemble import AGGREGATIONS, ensemble_scores, ranks

GRAM_PROXIES = ("naswot", "tcet", *TCET_VARIANTS)
DATA_PROXIES = ("naswot", "snip", "snip_ssnr", *SNIP_SSNR_FORMS, "tcet", *TCET_VARIANTS, "zico")
# (field, its values, the proxies it changes): each value other than the config's is measured against it
CHOICES = (
    ("gram_singular", ("exact", "rank", "slogdet"), GRAM_PROXIES),
    ("zen_bn", ("running_var", "batch_var"), ("zen",)),
    ("data", ("noise", "digits"), DATA_PROXIES),
)
NASLIB_OURS = {"snip": "snip", "synflow": "synflow", "params": "params", "flops": "flops"}
SCORED = tuple(p for p in ALL_PROXIES if p not in ("snip_ssnr", "tcet"))  # roles repeat a named variant
# The state of the art's own figures on NB-201 CIFAR-10 (all 15,625 architectures, the NB-201 network, real CIFAR
# batches), the anchors of every proxy added after T-CET: (Spearman, Kendall) with test accuracy, None where the
# source gives none. AZ-NAS: cvlab-yonsei/AZ-NAS NB201/tss_general.ipynb's saved output (seed 1); MeCo: its paper
# (NeurIPS 2023) Table 1; SWAP: its paper's abstract gives CIFAR-100 only (regularised, 0.90).
PUBLISHED_SOTA: dict[str, tuple[float | None, float | None]] = {
    "aznas": (0.9127, 0.7409),
    "meco": (0.894, None),
    "swap_reg (C100)": (0.90, None),
    "zico": (None, 0.59),
}
BOOTSTRAP = 500  # resamples of the architectures for each Spearman's 95% interval


def _score(indices, network: str, cfg: ZCConfig, device: str, label: str, progress: bool) -> pd.DataFrame:
    bar = ProgressLine(f"nb201 {label}", len(indices), enabled=progress)
    return score_archs(indices, network, cfg, device, progress=bar.advance)


def _truth(table: pd.DataFrame) -> dict[str, pd.Series]:
    return {"valid": table["valid_top1"], "test": table["test_top1"]}


def correlations(df: pd.DataFrame, table: pd.DataFrame, proxies) -> dict:
    return {acc: rank_correlations(df, y, proxies) for acc, y in _truth(table).items()}


def size_dependence(df: pd.DataFrame, proxies) -> dict[str, float]:
    """Spearman of each proxy with params: 1 means the proxy only restates the network's size."""
    return {p: v["spearman"] for p, v in rank_correlations(df, df["params"], proxies).items()}


def partial_spearman(df: pd.DataFrame, truth: pd.Series, proxies) -> dict[str, float]:
    """Partial Spearman of each proxy with ``truth`` given ``df["params"]``: how well it ranks networks of equal
    size (what a search under a params budget needs), NaN for a proxy that is size:
    rho_xy.z = (rho_xy - rho_xz rho_yz) / sqrt((1 - rho_xz^2)(1 - rho_yz^2)).
    """
    r_yz = rank_correlations(df, truth, ["params"])["params"]["spearman"]
    out = {}
    for p in proxies:
        r_xy = rank_correlations(df, truth, [p])[p]["spearman"]
        r_xz = rank_correlations(df, df["params"], [p])[p]["spearman"]
        den = math.sqrt(max((1 - r_xz**2) * (1 - r_yz**2), 0.0))
        out[p] = float((r_xy - r_xz * r_yz) / den) if den > 1e-6 else float("nan")
    return out


def beyond_size(df: pd.DataFrame, table: pd.DataFrame, proxies) -> dict[str, float]:
    """Partial Spearman of each proxy with NB-201's test top-1 given params."""
    return partial_spearman(df, table["test_top1"], proxies)


def families(df: pd.DataFrame, table: pd.DataFrame, prof, form: str, extra: tuple[str, ...] = ()) -> dict:
    """GMM families of z(x) = [naswot, form, params, flops] (and ``extra`` components) with accuracy per family
    (paper Table 7)."""
    ok = df[df["status"] == "ok"]
    ccfg = prof.clusters.model_copy(update={"components": ("naswot", form, "params", "flops", *extra)})
    z = ok[list(ccfg.components)].to_numpy(dtype=np.float64)
    model, sel = fit_clusters(z, ccfg)
    label = model.assign(z)
    acc = table.loc[ok.index]
    rows = []
    for k in range(model.k):
        m = label == k
        if not m.any():
            continue
        part = ok[m]
        rows.append({
            "family": k, "size": int(m.sum()),
            **{f"{c}_mean": float(part[c].mean()) for c in ccfg.components},
            **{f"{c}_std": float(part[c].std(ddof=0)) for c in ccfg.components},
            "valid_mean": float(acc["valid_top1"][m].mean()), "valid_std": float(acc["valid_top1"][m].std(ddof=0)),
            "test_mean": float(acc["test_top1"][m].mean()), "test_std": float(acc["test_top1"][m].std(ddof=0)),
        })  # fmt: skip
    rows.sort(key=lambda r: -r["test_mean"])
    y = acc["test_top1"].to_numpy()
    within = sum(((y[label == k] - y[label == k].mean()) ** 2).sum() for k in np.unique(label))
    return {"components": list(ccfg.components), "k": model.k, "families": rows,
            "test_variance_explained": float(1 - within / ((y - y.mean()) ** 2).sum())}  # fmt: skip


def naslib_comparison(ours: pd.DataFrame, table: pd.DataFrame) -> dict:
    """NASLib's stored proxies and ours on the same 491 architectures and the same accuracy (NASLib's)."""
    nl = naslib_proxies()
    theirs = [c for c in nl.columns if c != "val_accuracy"]
    ours = ours.loc[ours.index.intersection(nl.index)]
    truth = nl["val_accuracy"]
    agree = {}
    for theirs_name, ours_name in NASLIB_OURS.items():
        r = rank_correlations(ours, nl[theirs_name], [ours_name])[ours_name]
        agree[ours_name] = r["spearman"]
    return {
        "archs": int(len(ours)),
        "naslib_vs_naslib_val": rank_correlations(nl, truth, theirs),
        "ours_vs_naslib_val": rank_correlations(ours, truth, SCORED),
        "ours_vs_table_valid": rank_correlations(ours, table["valid_top1"], SCORED),
        "agreement_spearman": agree,
    }


def _relative_change(new: pd.Series, old: pd.Series) -> dict[str, float]:
    rel = (np.abs(new - old) / np.abs(old).clip(lower=1e-12)).to_numpy(dtype=float)
    return {"median": float(np.nanmedian(rel)), "max": float(np.nanmax(rel)),
            "share_changed": float(np.mean(rel > 1e-9))}  # fmt: skip


def ablations(df_default: pd.DataFrame, indices, cfg: ZCConfig, device: str, progress: bool) -> dict:
    """Each choice flipped alone on alpha_x over ``indices``: the affected proxies' correlations, both ways."""
    table = accuracy_table()
    out = {}
    base = df_default.loc[df_default.index.intersection(indices)]
    for field, values, affected in CHOICES:
        named = [p for p in affected if p in cfg.proxies and p not in ("snip_ssnr", "tcet")]
        default_test = {p: v["spearman"] for p, v in rank_correlations(base, table["test_top1"], named).items()}
        out[field] = {"default": getattr(cfg, field), "default_test": default_test, "archs": int(len(base))}
        for alt in (v for v in values if v != getattr(cfg, field)):
            t0 = time.perf_counter()
            alt_cfg = cfg.model_copy(update={field: alt, "proxies": tuple(named)})
            df = _score(list(base.index), "alpha_x", alt_cfg, device, f"choice {field}={alt}", progress)
            out[field][alt] = {
                "seconds": time.perf_counter() - t0,
                "test": {p: v["spearman"] for p, v in rank_correlations(df, table["test_top1"], named).items()},
                "relative_change": {p: _relative_change(df[p], base.loc[df.index, p]) for p in named},
                "spearman_with_default": {p: rank_correlations(df, base[p], [p])[p]["spearman"] for p in named},
            }  # fmt: skip
    return out


def with_intervals(df: pd.DataFrame, truth: pd.Series, proxies, resamples: int = BOOTSTRAP, seed: int = 0) -> dict:
    """Spearman and Kendall of each proxy (and of each rank ensemble of the proxies, ``ensemble_log`` /
    ``aznas_mean`` ...) with ``truth``, and Spearman's 95% bootstrap interval over the architectures."""
    ok = df[df["status"] == "ok"] if "status" in df else df
    base = {p: ok[p].to_numpy(dtype=float) for p in proxies if p in ok}
    cols = dict(base)
    for how in AGGREGATIONS:
        cols |= {f"{name}_{how}": v for name, v in ensemble_scores(base, how).items()}
    values = pd.DataFrame(cols, index=ok.index)
    y = truth.reindex(values.index).to_numpy(dtype=float)
    out = rank_correlations(values, truth, list(values.columns))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(values), (resamples, len(values)))
    ranked_y = ranks(y[draws], axis=1)
    for c in values.columns:
        if len(values) < 3:
            out[c]["spearman_95"] = [math.nan, math.nan]
            continue
        x = values[c].to_numpy()
        rx = ranks(x[draws], axis=1)
        rhos = np.array([_pearson(a, b) for a, b in zip(rx, ranked_y)])
        rhos = rhos[np.isfinite(rhos)]  # a resample where either side is constant has no correlation
        out[c]["spearman_95"] = [float(v) for v in np.percentile(rhos, [2.5, 97.5])] if len(rhos) else [math.nan] * 2
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / den if den > 0 else math.nan


def run(n: int | None = 1000, seed: int = 0, profile: str = "demo", store: str | None = None, device: str = "cpu",
        naslib: bool = True, ablation_n: int = 300, plot: str | None = None, scores: str | None = None,
        progress: bool = True, all_archs: bool = False, data: str = "noise", proxies: str | None = None,
        extras: bool = True, networks: str = ",".join(NETWORKS), z_with: str | None = None) -> dict:  # fmt: skip
    """The sample's scores are `nb201_proxies` artifacts of ``store`` (cached: a rerun only re-ranks).
    ``all_archs`` (or ``n`` None): all 15,625 architectures. ``data``: the ZC batch (noise, or images of a local
    dataset resized to the profile's input); ``proxies``: only these (comma-separated); ``extras``: NASLib's
    491, the GMM families and the ZC choices too (they need both ``networks``). ``z_with``: comma-separated
    proxies, each added in turn to z(x) = [naswot, snip_ssnr_mean, params, flops] for the GMM families on alpha_x:
    does a better component separate accuracy better?"""
    if n is not None and n < 1:
        raise ConfigError(f"--n {n}: the sample needs at least one architecture")
    n = None if all_archs else n
    device = resolve_device(device)
    prof = get_profile(profile)
    chosen = ALL_PROXIES if proxies is None else tuple(p.strip() for p in proxies.split(",") if p.strip())
    unknown = sorted(set(chosen) - set(ALL_PROXIES))
    if unknown or not chosen:
        raise ConfigError(f"--proxies: unknown {unknown or 'none given'}; proxies: {', '.join(ALL_PROXIES)}")
    try:
        cfg = ZCConfig.model_validate({**prof.nb201_proxies.zc.model_dump(), "proxies": chosen, "data": data})
    except ValueError as e:
        raise ConfigError(f"--data {data!r}: {e}") from None
    named = tuple(p for p in SCORED if p in cfg.proxies)
    nets = tuple(x.strip() for x in networks.split(",") if x.strip())
    if not nets or set(nets) - set(NETWORKS):
        raise ConfigError(f"--networks {networks!r}: some of {', '.join(NETWORKS)}")
    extras = extras and set(nets) == set(NETWORKS)
    table = accuracy_table()
    st = ArtifactStore(store)
    scored: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}
    for network in nets:
        stage_cfg = prof.nb201_proxies.model_copy(update={"n": n, "seed": seed, "network": network, "zc": cfg})
        bar = ProgressLine(f"nb201 {network}", len(sample_indices(n, seed)), enabled=progress)
        ref = run_stage("nb201_proxies", st, device, progress=bar.advance, cfg=stage_cfg)
        scored[network] = nb201_proxies.scores(ref).drop(columns=["arch"])
        seconds[network] = nb201_proxies.correlations(ref)["seconds_per_arch"]
    sample = sample_indices(n, seed)
    result: dict = {
        "benchmark": "nb201", "machine": machine_info(), "torch_threads": torch.get_num_threads(),
        "profile": profile, "zc": cfg.model_dump(mode="json", exclude={"proxies"}), "archs": int(len(sample)),
        "proxies": list(cfg.proxies), "seed": seed, "seconds_per_arch": seconds,
        "scored": {k: int((v["status"] == "ok").sum()) for k, v in scored.items()},
        "published_spearman": PUBLISHED_SPEARMAN, "published_sota": PUBLISHED_SOTA,
        "correlations": {k: correlations(v, table, named) for k, v in scored.items()},
        "with_intervals": {k: {acc: with_intervals(v, y, (*named, "tcet")) for acc, y in _truth(table).items()}
                           for k, v in scored.items()},
        "size_dependence": {k: size_dependence(v, named) for k, v in scored.items()},
        "beyond_size": {k: beyond_size(v, table, named) for k, v in scored.items()},
        "objective": cfg.tcet, "z_snip_ssnr": cfg.snip_ssnr,
    }  # fmt: skip
    if z_with:
        adds = [p.strip() for p in z_with.split(",") if p.strip()]
        need = {"naswot", "snip_ssnr_mean", "params", "flops", *adds}
        if "alpha_x" not in scored or need - set(scored["alpha_x"].columns):
            raise ConfigError(f"--z-with needs alpha_x scored with {sorted(need)}: add them to --proxies")
        base = scored["alpha_x"]
        result["z_families"] = {
            "z(x)": families(base, table, prof, "snip_ssnr_mean"),
            **{f"z(x)+{p}": families(base, table, prof, "snip_ssnr_mean", (p,)) for p in adds},
        }
    if extras and naslib:
        nl = naslib_proxies().index
        extra = nl.difference(scored["nb201"].index)
        more = _score(list(extra), "nb201", cfg, device, "nb201 (NASLib's 491)", progress)
        result["naslib"] = naslib_comparison(pd.concat([scored["nb201"], more]), table)
    if extras:
        result["families"] = {form: families(scored["alpha_x"], table, prof, form) for form in SNIP_SSNR_FORMS}
        sub = [i for i in sample[:ablation_n] if i in scored["alpha_x"].index]
        result["choices"] = ablations(scored["alpha_x"], sub, cfg, device, progress)
    if plot:
        with open(plot, "wb") as f:
            f.write(plot_png(result, scored, table))
    if scores:
        pd.concat([v.assign(network=k) for k, v in scored.items()]).drop(columns=["error"]).to_parquet(scores)
    return result


def plot_png(result: dict, scored: dict[str, pd.DataFrame], table: pd.DataFrame) -> bytes:
    plt = pyplot()

    full = "families" in result and result["objective"] in scored.get("alpha_x", {})
    fig, axes = plt.subplots(1, 3 if full else 1, figsize=(18 if full else 12, 5.5), squeeze=False)
    axes = axes[0]
    names = list(next(iter(result["with_intervals"].values()))["test"])  # the proxies, then the rank ensembles
    x = np.arange(len(names))
    for j, network in enumerate(result["with_intervals"]):
        got = result["with_intervals"][network]["test"]
        rho = np.array([got[p]["spearman"] for p in names])
        ci = np.array([got[p]["spearman_95"] for p in names]).T
        axes[0].bar(x + (j - 0.5) * 0.4, rho, width=0.4, label=network,
                    yerr=np.abs(ci - rho), error_kw={"lw": 0.6})  # fmt: skip
    pub = [PUBLISHED_SPEARMAN.get(p, PUBLISHED_SOTA.get(p.removesuffix("_log"), (np.nan,))[0]) for p in names]
    axes[0].scatter(x, pub, color="k", marker="_", s=200, zorder=3, label="published (real data, all 15,625)")
    axes[0].set_xticks(x, names, rotation=70, fontsize=8)
    axes[0].set_ylabel("Spearman with CIFAR-10 test top-1 (95% bootstrap)")
    axes[0].axhline(0, color="grey", lw=0.5)
    axes[0].legend(fontsize=8, loc="lower left", framealpha=0.9)
    axes[0].set_title(f"NB-201: {result['archs']} architectures, {result['profile']} ZC config, "
                      f"{result['zc']['data']} batch")  # fmt: skip
    if not full:
        return _png(fig)
    df = scored["alpha_x"]
    ok = df[df["status"] == "ok"]
    obj = result["objective"]
    axes[1].scatter(ok[obj], table.loc[ok.index, "test_top1"], s=6, alpha=0.5)
    axes[1].set_xscale("symlog")
    axes[1].set_xlabel(f"{obj} on alpha_x (the objective)")
    axes[1].set_ylabel("CIFAR-10 test top-1")
    axes[1].set_ylim(max(0, float(table.loc[ok.index, "test_top1"].quantile(0.01)) - 2), 95)
    fam = result["families"][result["z_snip_ssnr"]]
    rows = sorted(fam["families"], key=lambda r: r["params_mean"])
    axes[2].errorbar(range(len(rows)), [r["test_mean"] for r in rows], yerr=[r["test_std"] for r in rows], fmt="o")
    axes[2].set_xticks(range(len(rows)), [f"{r['family']}\nn={r['size']}" for r in rows], fontsize=7)
    axes[2].set_ylabel("test top-1, mean ± std")
    axes[2].set_title(f"GMM families of z(x) (K={fam['k']}), ordered by params")
    return _png(fig)


def _png(fig) -> bytes:
    fig.tight_layout()
    return png(fig, dpi=110)
