"""CCNF benchmark: paper Table 8 at a profile, and the throughput of batched CCNF sampling + decoding.

Reference r = the NAS-Bench-201 best CIFAR-10 cell as a GraphNet cell. Methods, ``n`` latents each, all
decoded by the same greedy G-VAE decoder: random (the prior rescaled by the training latents' mean/std),
neighbourhood f^-1(f(r) + eps) with eps ~ N(0, (s * latent std)^2) at several scales s (the paper does not
give its scale), and CCNF conditioned on z(r), r's measured and transformed ZC vector, at the config's
sampling temperature (and at temperature 1 when that differs). Every valid sample is scored by the real
scorer at the profile's ZC config; reported per method: generation success, mean/std of each ZC component,
the mean L1 distance of the samples' transformed ZC vectors to r's (what "tighter around the reference"
means), and how many samples are r itself or distinct.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from nasgen.ccnf.sampling import CellSampler
from nasgen.config import get_profile
from nasgen.gvae import Decoded
from nasgen.nb201.cell import BEST_CIFAR10, nb201_cell
from nasgen.space.cell import Cell
from nasgen.stages import ccnf, zc
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.store import ArtifactStore, store_of
from nasgen.zc.scorer import Scorer

SCALES = (0.1, 0.25, 0.5, 1.0)
HEADLINE_SCALE = 0.5
GOAL_SCALES = (0.5, 1.0)  # 1.0: eps ~ N(0, I) on standardised latents, the paper's f^-1(f(r) + eps)
THROUGHPUT_BATCH = 1024


def zc_vectors(scorer: Scorer, cells: list[Cell], components: tuple[str, ...], memo: dict | None = None) -> np.ndarray:
    """Raw ZC vectors (rows with a failed score are NaN); ``memo`` keeps rows by cell code across calls."""
    memo = {} if memo is None else memo
    for c in cells:
        if c.code not in memo:
            r = scorer.score_cell(c)
            memo[c.code] = [r[k] if r["status"] == "ok" else np.nan for k in components]
    return np.array([memo[c.code] for c in cells], dtype=float).reshape(len(cells), len(components))


def summarise(drawn: list[Decoded], z: np.ndarray, reference: Cell, ref_t: np.ndarray, sampler: CellSampler) -> dict:
    """Statistics of one method's draws; ``z``: raw ZC vectors of its valid cells (NaN rows: scoring failed)."""
    cells = [d.cell for d in drawn if d.ok]
    comps = sampler.transform.components
    out: dict = {"attempts": len(drawn), "valid": len(cells), "success": len(cells) / len(drawn)}
    out["identical_to_reference"] = sum(c.code == reference.code for c in cells)
    out["distinct"] = len({c.code for c in cells})
    ok = np.isfinite(z).all(axis=1)
    out["scored"] = int(ok.sum())
    if ok.any():
        z = z[ok]
        out["zc_mean"] = dict(zip(comps, z.mean(axis=0).tolist()))
        out["zc_std"] = dict(zip(comps, z.std(axis=0).tolist()))
        out["l1_to_reference"] = float(np.abs(sampler.transform(z) - ref_t).sum(axis=1).mean())
    return out


def throughput(sampler: CellSampler, cond: torch.Tensor, seed: int) -> dict:
    """Cells per second of one batched CCNF solve plus greedy decoding, and NFE of that solve."""
    gen = torch.Generator().manual_seed(seed)
    sampler.draw(cond.expand(8, -1), gen)  # warm-up
    sampler.flow.reset_nfe()
    t = time.perf_counter()
    drawn = sampler.draw(cond.expand(THROUGHPUT_BATCH, -1), gen)
    seconds = time.perf_counter() - t
    solves = -(-THROUGHPUT_BATCH // sampler.cfg.sample_batch)
    return {
        "batch": THROUGHPUT_BATCH,
        "seconds": seconds,
        "latents_per_second": THROUGHPUT_BATCH / seconds,
        "valid_cells_per_second": sum(d.ok for d in drawn) / seconds,
        "nfe_per_solve": sampler.flow.nfe / solves,
        "threads": torch.get_num_threads(),
    }


def reference_condition(sampler: CellSampler, zc_ref, ref_t: np.ndarray) -> dict:
    """Where r's transformed ZC vector sits among the measured conditions (the pipeline's scored cells): its
    z-score per component and its Mahalanobis distance beside theirs."""
    ok = zc.load_scores(store_of(zc_ref), zc_ref).to_pandas().query("status == 'ok'")
    comps = sampler.transform.components
    t = sampler.transform(ok[list(comps)].to_numpy(dtype=float))
    mu, inv = t.mean(axis=0), np.linalg.inv(np.cov(t.T))
    dist = np.sqrt(np.einsum("ni,ij,nj->n", t - mu, inv, t - mu))
    r = float(np.sqrt((ref_t - mu) @ inv @ (ref_t - mu)))
    return {
        "measured": len(t),
        "z_scores": dict(zip(comps, ((ref_t - mu) / t.std(axis=0)).tolist())),
        "mahalanobis": r,
        "measured_mahalanobis_median": float(np.median(dist)),
        "measured_mahalanobis_q95": float(np.quantile(dist, 0.95)),
        "measured_further": int((dist >= r).sum()),
    }


def typical_references(sampler: CellSampler, scorer: Scorer, zc_ref, refs: int, per_ref: int, seed: int) -> dict:
    """Table 8's comparison around ``refs`` scored cells of the pipeline (references inside the distribution
    the CCNF learnt, unlike the NB-201 best cell): mean L1 to each reference of CCNF synonyms at the config's
    temperature and of neighbourhood samples at each goal scale, ``per_ref`` latents per method and reference."""
    ok = zc.load_scores(store_of(zc_ref), zc_ref).to_pandas().query("status == 'ok'")
    rows = ok.sample(n=min(refs, len(ok)), random_state=seed)
    comps = sampler.transform.components
    gen = torch.Generator().manual_seed(seed)
    memo: dict = {}
    l1: dict[str, list[float]] = {"ccnf": [], **{f"neighbourhood_{s}": [] for s in GOAL_SCALES}}
    success: dict[str, list[float]] = {k: [] for k in l1}
    for row in rows.itertuples():
        cell = Cell.from_code(int(row.cell_id, 16))
        z = np.array([[getattr(row, c) for c in comps]])
        ref_t = sampler.transform(z)[0]
        draws = {
            "ccnf": sampler.draw(sampler.condition_of([cell], z).expand(per_ref, -1), gen),
            **{f"neighbourhood_{s}": sampler.draw_neighbourhood(cell, per_ref, s, gen) for s in GOAL_SCALES},
        }
        for name, d in draws.items():
            cz = zc_vectors(scorer, [x.cell for x in d if x.ok], comps, memo)
            cz = cz[np.isfinite(cz).all(axis=1)]
            success[name].append(sum(x.ok for x in d) / len(d))
            if len(cz):
                l1[name].append(float(np.abs(sampler.transform(cz) - ref_t).sum(axis=1).mean()))
    return {"references": len(rows), "per_reference": per_ref,
            "l1_mean": {k: float(np.mean(v)) for k, v in l1.items()},
            "l1_per_reference": l1, "success_mean": {k: float(np.mean(v)) for k, v in success.items()},
            "ccnf_tighter_than": {f"neighbourhood_{s}": int(sum(a < b for a, b in zip(l1["ccnf"],
                                  l1[f"neighbourhood_{s}"]))) for s in GOAL_SCALES}}  # fmt: skip


def run(profile: str = "demo", store: str | None = None, n: int = 100, seed: int = 0, plot: str | None = None,
        typical: int = 10, per_ref: int = 20) -> dict:  # fmt: skip
    prof = get_profile(profile)
    st = ArtifactStore(store)
    t0 = time.perf_counter()
    refs = build(st, prof, upto="ccnf")
    fref = refs["ccnf"]
    prep = time.perf_counter() - t0
    sampler = ccnf.load_sampler(st, fref)
    scorer = Scorer(prof.zc.zc)
    reference = nb201_cell(BEST_CIFAR10)
    ref_z = zc_vectors(scorer, [reference], sampler.transform.components)
    ref_t = sampler.transform(ref_z)[0]
    cond = sampler.condition_of([reference], ref_z)
    gen = torch.Generator().manual_seed(seed)
    draws = {"random": sampler.draw_prior(n, gen)}
    for s in SCALES:
        draws[f"neighbourhood_{s}"] = sampler.draw_neighbourhood(reference, n, s, gen)
    draws["ccnf"] = sampler.draw(cond.expand(n, -1), gen)  # at the config's temperature
    if sampler.cfg.temperature != 1.0:
        untempered = replace(sampler, cfg=sampler.cfg.model_copy(update={"temperature": 1.0}))
        draws["ccnf_temperature_1"] = untempered.draw(cond.expand(n, -1), gen)
    comps = sampler.transform.components
    memo: dict = {}
    zs = {name: zc_vectors(scorer, [x.cell for x in d if x.ok], comps, memo) for name, d in draws.items()}
    methods = {name: summarise(d, zs[name], reference, ref_t, sampler) for name, d in draws.items()}
    ccnf_r = methods["ccnf"]
    result = {
        "benchmark": "ccnf",
        "profile": profile,
        "machine": machine_info(),
        "config": prof.ccnf.model_dump(mode="json"),
        "ccnf_uri": fref.uri,
        "training": metrics(fref),
        "pipeline_seconds": prep,
        "reference": {
            "nb201": BEST_CIFAR10,
            "cell": str(reference),
            "zc": dict(zip(sampler.transform.components, ref_z[0].tolist())),
        },
        "reference_condition": reference_condition(sampler, refs["zc"], ref_t),
        "samples_per_method": n,
        "neighbourhood_scales": list(SCALES),
        "methods": methods,
        "throughput": throughput(sampler, cond, seed),
        "typical_references": typical_references(sampler, scorer, refs["zc"], typical, per_ref, seed)
        if typical
        else None,
        "goals_met": {
            "ccnf_success_0.99": ccnf_r["success"] >= 0.99,
            **{
                f"ccnf_tighter_than_neighbourhood_{s}": ccnf_r.get("l1_to_reference", np.inf)
                < methods[f"neighbourhood_{s}"].get("l1_to_reference", np.inf)
                for s in GOAL_SCALES
            },
        },
    }
    if plot:
        with open(plot, "wb") as f:
            f.write(scatter_png(zs, ref_t, sampler))
        result["plot"] = plot
    return result


def scatter_png(zs: dict[str, np.ndarray], ref_t: np.ndarray, sampler: CellSampler) -> bytes:
    """Transformed (naswot, snip_ssnr) of the valid samples of random, neighbourhood and CCNF sampling."""
    plt = pyplot()

    comps = sampler.transform.components
    fig, ax = plt.subplots(figsize=(6, 5))
    for name in ("random", f"neighbourhood_{HEADLINE_SCALE}", "ccnf"):
        z = zs[name]
        t = sampler.transform(z[np.isfinite(z).all(axis=1)]) if len(z) else np.zeros((0, len(comps)))
        ax.scatter(t[:, 0], t[:, 1], s=10, alpha=0.6, label=f"{name} ({len(t)})")
    ax.scatter([ref_t[0]], [ref_t[1]], marker="*", s=250, c="k", label="reference (NB-201 best)")
    ax.set(xlabel=f"{comps[0]} (transformed)", ylabel=f"{comps[1]} (transformed)",
           title="Samples around the reference cell (paper Table 8)")  # fmt: skip
    ax.legend(fontsize=8)
    return png(fig, dpi=110, tight=True)
