"""ZC benchmark: seconds per cell of each proxy and of the shared record, against one forward+backward.

For each cell (random, from the sampler) and config, measured side by side in one process, after one
untimed warm-up cell: build (meta construction + seeded init), one forward+backward of the cross-entropy
(the reference cost), the full record with shared passes (what the scoring stage runs) and every proxy on
its own. overhead_factor = sum of record seconds / sum of forward+backward seconds. On a GPU the device is
synchronised around every timed block; cells/s and the extrapolated time for 400k cells include the build.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.machine import machine_info
from nasgen.config import get_profile
from nasgen.device import resolve_device
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.macro import reference_macro
from nasgen.space.sampling import unique_codes
from nasgen.zc.common import make_batch
from nasgen.zc.config import ALL_PROXIES, ZCConfig
from nasgen.zc.record import STANDALONE, zc_record
from nasgen.zc.scorer import derive_seed, seeded_network

PAPER_CELLS = 400_000


def _timer(device: str) -> Callable[[Callable[[], object]], float]:
    def run(fn: Callable[[], object]) -> float:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    return run


def _measure_cell(cfg: ZCConfig, cell: Cell, batch, device: str, standalone: bool) -> dict:
    timed = _timer(device)
    macro = reference_macro(cell, input_shape=cfg.input_shape, classes=cfg.classes)
    holder: dict = {}
    build = timed(lambda: holder.setdefault("net", seeded_network(macro, derive_seed(cfg.seed, cell.cell_id), device)))
    net = holder["net"]

    def fwd_bwd() -> None:
        net.train()
        F.cross_entropy(net(batch.inputs), batch.targets).backward()
        net.zero_grad(set_to_none=True)

    row = {"cell_id": cell.cell_id, "n_ops": len(cell.ops), "build": build, "fwd_bwd": timed(fwd_bwd)}
    row["record"] = timed(lambda: zc_record(net, batch, cfg, proxies=cfg.proxies))
    if standalone:
        for p in (p for p in ALL_PROXIES if p in STANDALONE):
            row[p] = timed(lambda p=p: STANDALONE[p](net, batch, cfg))
    return row


def measure(cfg: ZCConfig, codes: np.ndarray, device: str, standalone: bool = True) -> dict:
    batch = make_batch(cfg, device)
    _measure_cell(cfg, Cell.from_code(int(codes[0])), batch, device, standalone)  # warm-up, not reported
    rows = [_measure_cell(cfg, Cell.from_code(int(c)), batch, device, standalone) for c in codes]
    keys = [k for k in rows[0] if k not in ("cell_id", "n_ops")]
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    fb, rec = sum(r["fwd_bwd"] for r in rows), sum(r["record"] for r in rows)
    per_cell = mean["record"] + mean["build"]
    return {
        "config": cfg.model_dump(mode="json"),
        "device": device,
        "cells": len(rows),
        "seconds_per_cell": mean,
        "overhead_factor": rec / fb,
        "overhead_factor_per_cell": {
            "min": min(r["record"] / r["fwd_bwd"] for r in rows),
            "max": max(r["record"] / r["fwd_bwd"] for r in rows),
        },  # fmt: skip
        "standalone_sum_over_record": (sum(mean[p] for p in cfg.proxies if p in STANDALONE) / mean["record"])
        if standalone
        else None,
        "cells_per_second": 1.0 / per_cell,
        "hours_for_400k_cells": PAPER_CELLS * per_cell / 3600.0,
        "per_cell": rows,
    }


def run(
    cells: int = 6,
    seed: int = 0,
    device: str = "cpu",
    configs: tuple[str, ...] = ("paper", "demo"),
    standalone: bool = True,
) -> dict:
    device = resolve_device(device)
    codes, _ = unique_codes(cells, seed, SamplerConfig(batch_size=4096))
    results = {name: measure(get_profile(name).zc.zc, codes, device, standalone) for name in configs}
    return {"benchmark": "zc", "machine": machine_info(), "torch_threads": torch.get_num_threads(), "results": results}
