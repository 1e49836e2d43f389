"""Stage `hl_evo`: one HL-Evo run (paper Algorithm 1) under one constraint level, on a trained CCNF.

GenCell is the CCNF's (``cell_source = ccnf``) or, with ``cell_source = graphpnas``, the generator of a
`graphpnas` artifact (``graphpnas_ref``, then part of the key); the CCNF still gives the families.

Each level is its own artifact (key: search config, level, ccnf key), so levels fan out as independent,
cached tasks and a new level reuses every finished one. Written: ``history.parquet`` (H: every accepted
network with its HL sequence, cells, cost, ZC vector, T-CET, iteration, phase), ``best.json`` (the best
network of H), ``stats.json`` (evaluations, discarded children, seconds) and ``curve.png`` (best T-CET vs
ZC evaluations, and params vs T-CET of H).
"""

from __future__ import annotations

import time

from nasgen.errors import ConfigError
from nasgen.search.config import ConstraintConfig, HLEvoConfig
from nasgen.search.history import curve_png, schema, to_table
from nasgen.search.hl_evo import initial_cluster, search
from nasgen.search.objective import ZCObjective
from nasgen.space.macro import MacroArch
from nasgen.stages import ccnf as ccnf_stage
from nasgen.stages import graphpnas as graphpnas_stage
from nasgen.stages import latency as latency_stage
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "hl_evo"
HISTORY = "history.parquet"
CURVE = "curve.png"


def level_config(cfg: HLEvoConfig, level: ConstraintConfig) -> dict:
    """What one level's key depends on: the search config without the other levels, and this level."""
    later = {"strategy", "random_pool"} if cfg.strategy == "hl_evo" else set()  # added later; HL-Evo keys unchanged
    later |= {"latency_device"} if cfg.latency_device is None else set()
    no_latency = {"max_latency_ms"} if level.max_latency_ms is None else set()  # added later; keys unchanged
    return {"search": cfg.model_dump(mode="json", exclude={"levels", *later}),
            "level": level.model_dump(mode="json", exclude=no_latency)}  # fmt: skip


def _upstream(ccnf_ref: Ref, cfg: HLEvoConfig, graphpnas_ref: Ref | None, latency_ref: Ref | None) -> list[Ref]:
    if (cfg.cell_source == "graphpnas") != (graphpnas_ref is not None):
        why = "needs a graphpnas artifact" if graphpnas_ref is None else "reads no graphpnas artifact"
        raise ConfigError(f"hl_evo.cell_source={cfg.cell_source} {why}")
    if (cfg.latency_device is None) != (latency_ref is None):
        why = "needs a latency_model artifact" if latency_ref is None else "reads no latency_model artifact"
        raise ConfigError(f"hl_evo.latency_device={cfg.latency_device} {why}")
    return [r for r in (ccnf_ref, graphpnas_ref, latency_ref) if r is not None]


def key(ccnf_ref: Ref, cfg: HLEvoConfig, level: ConstraintConfig, graphpnas_ref: Ref | None = None,
        latency_ref: Ref | None = None) -> str:  # fmt: skip
    return content_key(STAGE, level_config(cfg, level), upstream=_upstream(ccnf_ref, cfg, graphpnas_ref, latency_ref))


def compute(store: ArtifactStore, ccnf_ref: Ref, cfg: HLEvoConfig, level: ConstraintConfig,
            graphpnas_ref: Ref | None = None, latency_ref: Ref | None = None, progress=None,
            device: str = "cpu") -> Ref:  # fmt: skip
    """``latency_ref``: the `latency_model` of ``cfg.latency_device`` at the scorer's input, with which every
    history network's latency is predicted (column ``latency_ms``)."""
    upstream = _upstream(ccnf_ref, cfg, graphpnas_ref, latency_ref)
    sampler = ccnf_stage.load_sampler(store_of(ccnf_ref), ccnf_ref, device)
    gen_cell = sampler.cell_source() if graphpnas_ref is None else graphpnas_stage.cell_source(
        graphpnas_stage.load_generator(graphpnas_ref))  # fmt: skip
    evaluator = ZCObjective(cfg.zc, device, objective=cfg.objective)
    k0 = initial_cluster(sampler.clusters.weights, cfg)
    t0 = time.perf_counter()
    predictor = None if latency_ref is None else latency_stage.load_predictor(latency_ref)
    res = search(cfg, level, evaluator, gen_cell, sampler.clusters.k, k0, progress,
                 None if predictor is None else predictor.predict)  # fmt: skip
    seconds = time.perf_counter() - t0
    if predictor is not None:
        for r in res.history:
            r["latency_ms"] = predictor.predict(MacroArch.from_json(r["macro"]))
    best = max(res.history, key=lambda r: r["fitness"])
    stats = {
        "constraint": level.name,
        "init_cluster": k0,
        "cell_source": cfg.cell_source,
        "strategy": cfg.strategy,
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
    extra = ("latency_ms",) if latency_ref is not None else ()
    with store.writer(STAGE, key(ccnf_ref, cfg, level, graphpnas_ref, latency_ref), config=level_config(cfg, level),
                      upstream=upstream) as w:  # fmt: skip
        w.write_parquet(HISTORY, to_table(res.history, cfg.zc.proxies + extra), schema(cfg.zc.proxies + extra))
        w.write_json("best.json", {k: best[k] for k in ("arch_id", "macro", "hl_sequence", "fitness", "params",
                                                          "flops")})  # fmt: skip
        w.write_json("stats.json", stats)
        title = "HL-Evo" if cfg.strategy == "hl_evo" else "random HL sequences"
        w.write_bytes(CURVE, curve_png(res.history, f"{title}, {level.name}", cfg.objective))
        w.rows = len(res.history)
        w.meta.update(stats=stats)
    return w.ref


def load_history(store: ArtifactStore, ref: Ref):
    return store.read_parquet(ref, HISTORY)


def stats(ref: Ref) -> dict:
    """``stats.json``: constraint, evaluations, discarded children, best fitness and cost, seconds."""
    return store_of(ref).read_json(ref, "stats.json")


def best(ref: Ref) -> dict:
    """``best.json``: the best network of the history (arch id, macro and HL sequence JSON, fitness, cost)."""
    return store_of(ref).read_json(ref, "best.json")
