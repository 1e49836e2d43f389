"""Generation for a latency budget against params-only generation (`nasgen bench latency-generate`).

On Fashion-MNIST's input (1x28x28, 10 classes) at a real-task budget, with the SG `bench table1` trains (its
HL-Evo histories at this input, cached in the store) and this machine's latency model (stages `latency_table`
and `latency_model`, 1 thread): first a generation without a latency budget, whose candidates' predicted
latencies set two latency budgets (``quantiles`` of them, so both bind); then, per latency budget,

- ``latency``: `generate` with ``max_latency_ms`` (and the params/MACs budget): every candidate that fits is
  *measured*, giving the share within the latency budget when measured; the best objective; the chosen top-1
  trained with the fidelity study's reduced recipe;
- ``params_only``: `generate` with the params budget the latency-chosen networks reach (their largest) and no
  latency budget, the same measurements: what a user without a latency budget would have been handed.

Every generation's ``predictor`` block is the latency predictor's accuracy on the networks it generated (the
validation on generated networks beside `bench latency`'s random ones).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.config import bench_profile, split_overrides
from benchmarks.fidelity import protocol
from benchmarks.machine import machine_info
from benchmarks.table1 import CLASSES, INPUT, task_models
from nasgen.config import resolve_profile
from nasgen.device import describe
from nasgen.errors import ConfigError
from nasgen.generate.candidates import run as generate_run
from nasgen.generate.config import GenerateConfig
from nasgen.generate.request import GenerateRequest
from nasgen.latency.predictor import accuracy
from nasgen.stages import latency, sg
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore


def run(profile: str = "demo", store: str | None = None, budget: str = "b1", device: str = "cpu", threads: int = 2,
        root: str | None = None, n: int = 100, quantiles: str = "0.25,0.5", plot: str | None = None,
        overrides: dict | None = None) -> dict:  # fmt: skip
    """``budget``: the real-task params/MACs budget every generation keeps; ``quantiles``: of the unconstrained
    candidates' predicted latencies, the two latency budgets; ``n``: sequences per generation."""
    lib, ours = split_overrides(overrides or {})
    prof = resolve_profile(profile, overrides=lib)
    bench = bench_profile(prof.name, overrides=ours)
    cfg, fid = bench.table1, bench.fidelity
    if budget not in cfg.budgets:
        raise ConfigError(f"unknown budget {budget!r}; budgets: {', '.join(cfg.budgets)}")
    qs = [float(q) for q in quantiles.split(",")]
    if not all(0 < q < 1 for q in qs):
        raise ConfigError(f"--quantiles {quantiles!r}: shares in (0, 1)")
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    st = ArtifactStore(store)
    _, sampler, _, history = task_models(st, prof, cfg, device, root)
    model = sg.load_model(st, build(st, history)["sg"])
    table = run_stage("latency_table", st, cfg=prof.latency_table, input_shape=INPUT, classes=CLASSES,
                      latency_device=device)  # fmt: skip
    lat_ref = run_stage("latency_model", st, table_ref=table, cfg=prof.latency_model, latency_device=device)
    gen_zc = prof.generate.zc.model_copy(update={"data": cfg.zc_data, "data_root": root})
    gcfg = GenerateConfig.model_validate({**prof.generate.model_dump(), "objective": history.hl_evo.objective,
                                          "zc": gen_zc.model_dump()})  # fmt: skip
    max_params, max_flops = cfg.budgets[budget]
    reduced = protocol(fid, root)["reduced"]

    def generation(**limits) -> dict:
        req = GenerateRequest(input_shape=INPUT, classes=CLASSES, n=n, top_k=cfg.top_k, max_flops=max_flops,
                              latency_device=device, **limits)  # fmt: skip
        predict, measure = latency.latency_functions(lat_ref, req)
        t = time.perf_counter()
        gen = generate_run(req, *model, sampler, gcfg, "cpu", None, predict, measure)
        fit = {c.macro.arch_id: c for c in gen.candidates if c.satisfies}
        measured = {a: measure(c.macro) for a, c in fit.items()}
        predicted = [fit[a].latency_ms for a in measured]
        top = gen.chosen[0]
        data, recipe = reduced
        trained = metrics(run_stage("trained", st, device, macro=top.macro, dataset=data, recipe=recipe))
        return {"request": dict(limits), "counts": gen.counts(), "seconds": time.perf_counter() - t,
                "fitting": len(fit), "predicted_ms": predicted,
                "measured_ms": list(measured.values()), "best_objective": top.fitness,
                "predictor": accuracy(np.array(predicted), np.array(list(measured.values()))),
                "chosen": [{"arch_id": c.macro.arch_id, "params": c.params, "flops": c.flops,
                            "objective": c.fitness, "predicted_ms": c.latency_ms,
                            "measured_ms": measured[c.macro.arch_id]} for c in gen.chosen],
                "top1_reduced_val_top1": trained["val_top1"],
                "top1_reduced_test_top1": trained["test_top1"]}  # fmt: skip

    free = generation(max_params=max_params)
    budgets = {}
    for q in qs:
        limit = float(np.quantile(free["predicted_ms"], q))
        lat = generation(max_params=max_params, max_latency_ms=limit)
        reach = max(c["params"] for c in lat["chosen"])
        base = generation(max_params=reach)
        for r in (lat, base):
            r["share_within_measured"] = float(np.mean(np.array(r["measured_ms"]) <= limit))
            r["chosen_within_measured"] = float(np.mean([c["measured_ms"] <= limit for c in r["chosen"]]))
        budgets[f"q{q:g}"] = {"max_latency_ms": limit, "latency": lat, "params_only": base}
    return {"benchmark": "latency-generate", "machine": machine_info(), "device": describe(device),
            "torch_threads": threads, "timing": prof.latency_model.timing.model_dump(), "budget": budget,
            "max_params": max_params, "max_flops": max_flops, "objective": history.hl_evo.objective, "n": n,
            "unconstrained": free, "budgets": budgets, "latency_model": lat_ref.uri,
            "reduced_recipe": reduced[1].model_dump(mode="json"), "wall_seconds": time.perf_counter() - t0}  # fmt: skip
