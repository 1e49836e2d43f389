"""Space benchmark: sample + canonicalise + deduplicate N unique cells, analytic cost throughput, space size.

Goals (issue 2): 400k unique cells in <= 60 s on a 2-core machine; >= 5,000 macros/s analytic cost.
"""

from __future__ import annotations

import json
import time

import numpy as np

from benchmarks.machine import machine_info
from nasgen.space import cost, ops
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import random_macro, space_size, unique_codes


def run(n: int = 400_000, macros: int = 20_000, space_samples: int = 2000, seed: int = 0) -> dict:
    cfg = SamplerConfig()
    t0 = time.perf_counter()
    codes, cursor = unique_codes(n, seed, cfg)
    sample_s = time.perf_counter() - t0
    assert len(np.unique(codes)) == n

    rng = np.random.default_rng(seed)
    archs = [random_macro(rng, cfg) for _ in range(macros)]
    cost._cached_ops_cost.cache_clear()
    ops._op_cost.cache_clear()
    t0 = time.perf_counter()
    for a in archs:
        cost.macro_cost(a)
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a in archs:
        cost.macro_cost(a)
    warm_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    size = space_size(samples=space_samples, seed=seed)
    size_s = time.perf_counter() - t0
    return {
        "benchmark": "space",
        "machine": machine_info(),
        "sampling": {
            "unique_cells": n,
            "seconds": round(sample_s, 3),
            "cells_per_second": round(n / sample_s),
            "batches_drawn": cursor.batch + 1,
            "batch_size": cfg.batch_size,
            "goal_seconds": 60,
        },
        "cost_model": {
            "macros": macros,
            "mean_positions": float(np.mean([len(a.layers) for a in archs])),
            "cold_macros_per_second": round(macros / cold_s),
            "warm_macros_per_second": round(macros / warm_s),
            "goal_macros_per_second": 5000,
        },
        "micro_space": {**size, "seconds": round(size_s, 2)},
    }


if __name__ == "__main__":
    print(json.dumps(run(), default=float))
