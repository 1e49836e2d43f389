"""Stage `hl_evo`: one HL-Evo run (paper Algorithm 1) under one constraint level, on a trained CCNF.

Each level is its own artifact (key: search config, level, ccnf key), so levels fan out as independent,
cached tasks and a new level reuses every finished one. Written: ``history.parquet`` (H: every accepted
network with its HL sequence, cells, cost, ZC vector, T-CET, iteration, phase), ``best.json`` (the best
network of H), ``stats.json`` (evaluations, discarded children, seconds) and ``curve.png`` (best T-CET vs
ZC evaluations, and params vs T-CET of H).
"""

from __future__ import annotations

import io
import time

import numpy as np

from nasgen.ccnf.sampling import CellSampler
from nasgen.config import ConstraintConfig, SearchConfig
from nasgen.search.history import schema, to_table
from nasgen.search.hl_evo import hl_evo
from nasgen.search.objective import Evaluator
from nasgen.space.cell import Cell
from nasgen.stages import ccnf as ccnf_stage
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "hl_evo"
HISTORY = "history.parquet"


def level_config(cfg: SearchConfig, level: ConstraintConfig) -> dict:
    """What one level's key depends on: the search config without the other levels, and this level."""
    return {"search": cfg.model_dump(mode="json", exclude={"levels"}), "level": level.model_dump(mode="json")}


def search_key(ccnf_ref: Ref, cfg: SearchConfig, level: ConstraintConfig) -> str:
    return content_key(STAGE, level_config(cfg, level), upstream=[ccnf_ref])


def cell_source(sampler: CellSampler):
    """GenCell for Algorithm 1: one valid CCNF + decoder draw of a cluster, seeded from the search's rng."""

    def gen_cell(cluster: int, rng: np.random.Generator) -> Cell:
        return sampler.gen_cell(cluster, 1, seed=int(rng.integers(2**31)))[0]

    return gen_cell


def init_cluster(sampler: CellSampler, cfg: SearchConfig) -> int:
    """alpha_0's cluster: the configured one (hl_evo checks its range) or the GMM's heaviest."""
    return int(np.argmax(sampler.clusters.weights)) if cfg.init_cluster is None else cfg.init_cluster


def run(store: ArtifactStore, ccnf_ref: Ref, cfg: SearchConfig, level: ConstraintConfig, progress=None,
        device: str = "cpu") -> Ref:  # fmt: skip
    key = search_key(ccnf_ref, cfg, level)
    if store.exists(STAGE, key):
        return store.ref(STAGE, key)
    sampler = ccnf_stage.load_sampler(store_of(ccnf_ref), ccnf_ref, device)
    evaluator = Evaluator(cfg.zc, device, objective=cfg.objective)
    k0 = init_cluster(sampler, cfg)
    t0 = time.perf_counter()
    res = hl_evo(cfg, level, evaluator, cell_source(sampler), sampler.clusters.k, k0, progress)
    seconds = time.perf_counter() - t0
    best = max(res.history, key=lambda r: r["fitness"])
    stats = {
        "constraint": level.name,
        "init_cluster": k0,
        "iterations": cfg.iterations,
        "accepted": len(res.history) - 1,
        "evaluations": res.evaluations,
        "discarded_constraint": res.discarded_constraint,
        "discarded_mutation": res.discarded_mutation,
        "objective": cfg.objective,
        "best_fitness": best["fitness"],
        "best_params": best["params"],
        "best_flops": best["flops"],
        "seconds": seconds,
    }
    with store.writer(STAGE, key, config=level_config(cfg, level), upstream=[ccnf_ref]) as w:
        w.write_parquet(HISTORY, to_table(res.history, cfg.zc.proxies), schema(cfg.zc.proxies))
        w.write_json("best.json", {k: best[k] for k in ("arch_id", "macro", "hl_sequence", "fitness", "params",
                                                          "flops")})  # fmt: skip
        w.write_json("stats.json", stats)
        w.write_bytes("curve.png", curve_png(res.history, level.name, cfg.objective))
        w.rows = len(res.history)
        w.meta.update(stats=stats)
    return w.ref


def curve_png(history: list[dict], title: str, objective: str = "tcet") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = np.array([r["evaluations"] for r in history])
    fit = np.array([r["fitness"] for r in history])
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.step(ev, np.maximum.accumulate(fit), where="post")
    a.set(xlabel="ZC evaluations", ylabel=f"best {objective} so far", title=f"HL-Evo, {title}")
    b.scatter([r["params"] for r in history], fit, s=6, c=[r["iteration"] for r in history], cmap="viridis")
    b.set(xscale="log", xlabel="params", ylabel=objective, title="history H (colour: iteration)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def load_history(store: ArtifactStore, ref: Ref):
    return store.read_parquet(ref, HISTORY)
