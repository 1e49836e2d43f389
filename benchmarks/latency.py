"""The latency predictor's accuracy on this machine (`nasgen bench latency`).

Builds (or reads from the store) the device's lookup table and predictor for the input (stages `latency_table`
and `latency_model`: the predictor fitted on half of the random networks, validated on the other half), then
measures whole a second, independent set: the random networks the real-task fidelity study trains at each
real-task budget (params and MACs at 1x28x28), the kind of network a search under those budgets returns.
Reports nn-Meter's metric (share within +-10% of measured), MAPE, the largest error and the Spearman, for the
predictor and for the table's plain sum, and the same for a second measurement of every budget network after
the first pass (``retest``: the noise floor any predictor is judged against on this machine); the timing
settings, threads and machine with them.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.config import REAL_TASK_BUDGETS
from benchmarks.fidelity import random_networks
from benchmarks.machine import machine_info
from nasgen.config import resolve_profile
from nasgen.device import describe
from nasgen.latency.predictor import accuracy
from nasgen.latency.timing import time_module
from nasgen.progress import ProgressLine
from nasgen.search.config import ConstraintConfig
from nasgen.space.network import build_network
from nasgen.stages import latency
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore

INPUT, CLASSES = (1, 28, 28), 10


def run(profile: str = "demo", store: str | None = None, device: str = "cpu", per_budget: int = 40,
        plot: str | None = None, overrides: dict | None = None) -> dict:  # fmt: skip
    """Table, predictor and their accuracy on the fit's holdout and on ``per_budget`` networks per budget."""
    prof = resolve_profile(profile, overrides=overrides or {})
    st = ArtifactStore(store)
    t0 = time.perf_counter()
    table_ref = run_stage("latency_table", st, cfg=prof.latency_table, input_shape=INPUT, classes=CLASSES,
                          latency_device=device)  # fmt: skip
    t_table = time.perf_counter() - t0
    model_ref = run_stage("latency_model", st, table_ref=table_ref, cfg=prof.latency_model, latency_device=device)
    t_model = time.perf_counter() - t0 - t_table
    predictor = latency.load_predictor(model_ref)
    metrics = st.read_json(model_ref, "metrics.json")
    budgets = {}
    for name, (params, macs) in REAL_TASK_BUDGETS.items():
        nets, _ = random_networks(per_budget, ConstraintConfig(max_params=params, max_flops=macs), seed=1,
                                  max_draws=1_000_000)  # fmt: skip
        bar = ProgressLine(f"bench latency {name}", len(nets), every=30.0)
        measured, predicted, summed = [], [], []
        for m in nets:
            measured.append(time_module(build_network(m), INPUT, prof.latency_model.timing, device).median_ms)
            predicted.append(predictor.predict(m))
            summed.append(predictor.features(m)[0])
            bar.advance()
        bar.finish()
        # the noise floor: every network measured again after the whole pass (same settings, same process)
        again = [time_module(build_network(m), INPUT, prof.latency_model.timing, device).median_ms for m in nets]
        budgets[name] = {"params": params, "macs": macs, "predictor": accuracy(np.array(predicted), np.array(measured)),
                         "retest": accuracy(np.array(again), np.array(measured)),
                         "table_sum_only": accuracy(np.array(summed), np.array(measured)),
                         "measured_ms": {"min": min(measured), "median": float(np.median(measured)),
                                         "max": max(measured)}}  # fmt: skip
    if plot:
        with open(plot, "wb") as f:
            f.write(st.read_bytes(model_ref, "accuracy.png"))
    blocks = latency.table_units(prof.latency_table, INPUT, CLASSES)
    return {"benchmark": "latency", "machine": machine_info(), "device": describe(device),
            "timing_table": prof.latency_table.timing.model_dump(),
            "timing_networks": prof.latency_model.timing.model_dump(),
            "input": list(INPUT), "classes": CLASSES, "table_blocks": blocks,
            "table_seconds": round(t_table, 1), "model_seconds": round(t_model, 1),
            "networks": prof.latency_model.networks, "coefficients": predictor.coefficients(),
            "random_networks": {k: metrics[k] for k in ("fit", "holdout", "table_sum_only_holdout")},
            "budgets": budgets, "table": table_ref.uri, "model": model_ref.uri,
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
