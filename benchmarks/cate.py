"""CATE pre-training on NAS-Bench-201: how much the paired architecture can tell, and how much of it the model
learns (issue 21, CATE's masked-op accuracy).

- ``partner_reference``: from one architecture alone a masked op is 1/5 (NB-201's six ops are independent and
  uniform), so held-out masked accuracy is at most 0.25 + 0.75 / 5 = 0.40 (a quarter of the targets are the
  input or output node, which the attention mask gives away). A partner of similar params has nearly the same
  numbers of 3x3 and 1x1 convolutions; the reference is a lookup table fit on the training pairs, from (the op
  counts of x's five other ops, the op counts of the whole partner) to x's hidden op, scored on the held-out
  pairs: what an ideal use of the partner's op counts reaches with one op hidden and the partner unmasked.
- ``pretrain``: the `cate` stage's pre-training (all 15,625 architectures, pairs by params) at the profile's
  sizes for each variant of config overrides: ours, the authors' sqrt(d) segment scale, a constant learning rate.
- ``identical_pairs``: ``n`` random architectures, each twice and paired only with its copy, so the partner tells
  every op it does not mask itself; ours against the authors' segment scale. How much a model can use a partner
  at all, apart from how much a params partner tells.

Run: ``nasgen bench cate [--profile demo] [--epochs 3] [--threads 2] --json`` prints one line of JSON.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import numpy as np
import torch

from benchmarks.machine import machine_info
from nasgen.cate.config import CATEConfig
from nasgen.cate.graphs import NB201
from nasgen.cate.pretraining import split_pairs, train
from nasgen.config import get_profile
from nasgen.nb201.arch import OPS, all_archs, from_index
from nasgen.nb201.data import accuracy_table

VARIANTS = {"ours": {}, "authors_segment_scale": {"scaled_segment": True}, "constant_lr": {"lr_schedule": "constant"}}
IDENTICAL = {"ours": {}, "authors_segment_scale": {"scaled_segment": True}}


def partner_reference(cfg: CATEConfig) -> dict:
    ops = np.array([[OPS.index(o) for o in a] for a in all_archs()])
    params = accuracy_table()["params_m"].to_numpy()
    train_pairs, test_pairs = split_pairs(params, cfg, np.random.default_rng(cfg.seed))  # as `train` draws them

    def rows(pairs):
        for x, y in pairs:
            cy = tuple(np.bincount(ops[y], minlength=len(OPS)))
            for p in range(ops.shape[1]):
                yield tuple(np.bincount(np.delete(ops[x], p), minlength=len(OPS))), cy, ops[x, p]

    table: dict = defaultdict(Counter)
    for cx, cy, t in rows(train_pairs):
        table[cx, cy][t] += 1
    hits = [bool(table[cx, cy]) and table[cx, cy].most_common(1)[0][0] == t for cx, cy, t in rows(test_pairs)]
    op_acc = float(np.mean(hits))
    return {"one_architecture_bound": 0.25 + 0.75 / len(OPS), "partner_op_accuracy": op_acc,
            "partner_reference": 0.25 + 0.75 * op_acc, "train_pairs": len(train_pairs),
            "test_pairs": len(test_pairs)}  # fmt: skip


def pretrain(cfg: CATEConfig) -> dict:
    t = time.perf_counter()
    _, m = train(list(all_archs()), NB201, accuracy_table()["params_m"].to_numpy(), cfg)
    keys = ("masked_accuracy", "test_loss", "train_loss", "train_pairs", "test_pairs")
    return {**{k: m[k] for k in keys}, "seconds": time.perf_counter() - t}


def identical_pairs(cfg: CATEConfig, n: int = 4_000, epochs: int = 6) -> dict:
    idx = np.random.default_rng(0).choice(len(accuracy_table()), n, replace=False)
    archs = [from_index(int(i)) for i in idx for _ in range(2)]
    copies = np.repeat(np.arange(n, dtype=float), 2)  # attribute = the architecture's number: the copy within 0.5
    # a fifth held out: a held-out pair needs both copies there
    base = cfg.model_copy(update={"pair_delta": 0.5, "pairs_per_arch": 1, "epochs": epochs, "test_fraction": 0.2})
    out = {"architectures": n, "epochs": epochs}
    for name, o in IDENTICAL.items():
        t = time.perf_counter()
        _, m = train(archs, NB201, copies, base.model_copy(update=o))
        out[name] = {"masked_accuracy": m["masked_accuracy"], "test_pairs": m["test_pairs"],
                     "seconds": time.perf_counter() - t}  # fmt: skip
    return out


def run(profile: str = "demo", epochs: int | None = None, threads: int = 2, variants: dict | None = None) -> dict:
    torch.set_num_threads(threads)
    cfg = get_profile(profile).cate
    cfg = cfg.model_copy(update={"epochs": epochs}) if epochs else cfg
    variants = VARIANTS if variants is None else variants
    runs = {name: {"overrides": o, **pretrain(cfg.model_copy(update=o))} for name, o in variants.items()}
    return {"benchmark": "cate-nb201", "machine": machine_info(), "torch_threads": threads, "profile": profile,
            "config": cfg.model_dump(mode="json"), "reference": partner_reference(cfg), "variants": runs,
            "identical_pairs": identical_pairs(cfg)}  # fmt: skip
