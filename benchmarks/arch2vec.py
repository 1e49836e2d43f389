"""arch2vec pre-training (issue 21): the dissertation's protocol — 10% held out, 10 epochs, batch 32, Adam 1e-3,
10,000 rescaled prior draws — on every NAS-Bench-201 cell, beside its Table 3.1, or on GraphNet cells.

Run: ``nasgen bench arch2vec [--threads N] [--set arch2vec.FIELD=VALUE ...] --json`` prints one line of JSON.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.machine import machine_info
from nasgen.arch2vec.config import Arch2VecConfig
from nasgen.arch2vec.encoding import Encoding
from nasgen.arch2vec.graphnet import GRAPHNET
from nasgen.arch2vec.graphs import NB201
from nasgen.arch2vec.training import train
from nasgen.config import resolve_profile
from nasgen.errors import ConfigError
from nasgen.nb201.arch import all_archs
from nasgen.space.cell import cells_from_codes
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import unique_codes

# Dissertation Table 3.1, NAS-Bench-201 columns (reconstruction accuracy, validity, uniqueness; percent), validity by
# the authors' check (graphs.reference_valid).
PUBLISHED = {
    "GAE": (99.52, 79.28, 78.42),
    "VGAE": (98.32, 79.30, 88.42),
    "arch2vec (w.o. KL)": (100.0, 77.09, 96.57),
    "arch2vec": (100.0, 79.41, 98.72),
}


METRICS = ("reconstruction", "label_accuracy", "edge_accuracy", "validity", "uniqueness")


def architectures(space: str, cells: int, seed: int = 0) -> tuple[list, Encoding]:
    """Every NB-201 cell, or ``cells`` distinct GraphNet cells of the default sampler (the `cells` stage's)."""
    if space == "nb201":
        return list(all_archs()), NB201
    codes, _ = unique_codes(cells, seed, SamplerConfig())
    return cells_from_codes(codes), GRAPHNET


def _pretrain(items: list, encoding: Encoding, cfg: Arch2VecConfig) -> dict:
    _, m = train(items, cfg, encoding=encoding)
    ours = {k: round(100 * m[k], 2) for k in METRICS}
    if "validity_reference" in m:
        ours.update({f"{k}_reference_check": round(100 * m[f"{k}_reference"], 2) for k in ("validity", "uniqueness")})
    return {"seed": cfg.seed, "kl": cfg.kl, "cells": m["cells"], "held_out": m["held_out"],
            "final_train_loss": m["train_loss"][-1], "train_reconstruction": round(100 * m["train_reconstruction"], 2),
            **ours}  # fmt: skip


def run(profile: str = "demo", threads: int = 1, seeds: int = 1, without_kl: bool = False, space: str = "nb201",
        cells: int = 20_000, overrides: dict | None = None) -> dict:  # fmt: skip
    """``seeds`` pre-trainings (seeds cfg.seed, cfg.seed + 1, ...) of the profile's arch2vec (``--set
    arch2vec.lr=...``) and, with ``without_kl``, of its w/o-KL variant, on ``space``; per run and mean ± std of
    each metric."""
    if space not in ("nb201", "graphnet"):
        raise ConfigError(f"space {space!r}: nb201 or graphnet")
    cfg = resolve_profile(profile, overrides=overrides).arch2vec
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    items, encoding = architectures(space, cells)
    variants = [("arch2vec", cfg)] + (
        [("arch2vec (w.o. KL)", cfg.model_copy(update={"kl": False}))] if without_kl else []
    )
    rows = {name: [_pretrain(items, encoding, c.model_copy(update={"seed": c.seed + k})) for k in range(seeds)]
            for name, c in variants}  # fmt: skip
    summary = {name: {k: {"mean": round(float(np.mean([r[k] for r in rs])), 2),
                          "std": round(float(np.std([r[k] for r in rs])), 2)} for k in rs[0] if k in METRICS
                      or k.endswith("_reference_check")}
               for name, rs in rows.items()}  # fmt: skip
    return {"benchmark": f"arch2vec-{space}", "machine": machine_info(), "torch_threads": threads,
            "config": cfg.model_dump(mode="json"), "seconds": time.perf_counter() - t0, "runs": rows,
            "ours": summary, "published_table_3_1": PUBLISHED if space == "nb201" else None}  # fmt: skip
