"""The curve table: one row per trained run (network, recipe, seed) with its learning curves, the network's
encoding and its ZC record: the data of the curve surrogate and of LcSVR (built by the `curves` stage)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from nasgen.curves.encoding import NAMES
from nasgen.errors import ConfigError

CURVE_COLUMNS = ("val_top1", "train_loss", "train_top1")  # per-epoch lists kept from each run's curve
ZC_PREFIX = "zc_"
SCHEMA_FIXED = [
    pa.field("arch_id", pa.string(), nullable=False),
    pa.field("trained_key", pa.string(), nullable=False),
    pa.field("spec", pa.string(), nullable=False),  # the network's JSON (MacroArch)
    pa.field("recipe", pa.string(), nullable=False),  # JSON, without the seed
    pa.field("dataset", pa.string(), nullable=False),  # JSON
    pa.field("seed", pa.int64(), nullable=False),
    pa.field("epochs", pa.int64(), nullable=False),
    pa.field("params", pa.int64(), nullable=False),
    pa.field("flops", pa.int64(), nullable=False),
    pa.field("test_top1", pa.float64(), nullable=False),  # after the last epoch
    pa.field("seconds", pa.float64(), nullable=False),
    pa.field("encoding", pa.list_(pa.float64()), nullable=False),
    *(pa.field(c, pa.list_(pa.float64()), nullable=False) for c in CURVE_COLUMNS),
]  # fmt: skip


def schema(proxies: Sequence[str]) -> pa.Schema:
    return pa.schema([*SCHEMA_FIXED, *(pa.field(ZC_PREFIX + p, pa.float64()) for p in proxies)])


def check_one_protocol(table: pd.DataFrame) -> tuple[dict, dict]:
    """(recipe, dataset) shared by every run of the table: curves of different recipes are not one population."""
    protocols = set(zip(table["recipe"], table["dataset"], table["epochs"]))
    if len(protocols) != 1:
        raise ConfigError(f"a curve table holds runs of one recipe and dataset; this one has {len(protocols)}")
    recipe, dataset, _ = protocols.pop()
    return json.loads(recipe), json.loads(dataset)


def features(table: pd.DataFrame, proxies: Sequence[str]) -> np.ndarray:
    """[encoding, ZC record of ``proxies``] per row (NaN where a proxy failed or was not computed)."""
    enc = np.stack(table["encoding"].to_numpy()) if len(table) else np.zeros((0, len(NAMES)))
    missing = [p for p in proxies if ZC_PREFIX + p not in table.columns]
    if missing:
        have = sorted(c[len(ZC_PREFIX) :] for c in table.columns if c.startswith(ZC_PREFIX))
        raise ConfigError(f"the curve table has no ZC column for {missing}; it has {have}")
    zc = table[[ZC_PREFIX + p for p in proxies]].to_numpy(dtype=np.float64)
    return np.hstack([enc, zc])


def curves(table: pd.DataFrame, metric: str = "val_top1") -> np.ndarray:
    """(runs, epochs) matrix of one curve column."""
    if metric not in CURVE_COLUMNS:
        raise ConfigError(f"curve metric {metric!r} is not in the table; columns: {', '.join(CURVE_COLUMNS)}")
    m = np.stack(table[metric].to_numpy()) if len(table) else np.zeros((0, 0))
    if not np.isfinite(m).all():
        raise ConfigError(f"the curve table's {metric} has missing values: trained without a validation split?")
    return m


def split(table: pd.DataFrame, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, test) masks by architecture (all seeds of one network on one side): every network
    trained at several seeds is held out (the KL test set), then random ones up to ``test_fraction``."""
    archs = table["arch_id"].to_numpy()
    seeds = table.groupby("arch_id")["seed"].nunique()
    multi = set(seeds[seeds > 1].index)
    rest = sorted(set(archs) - multi)
    rng = np.random.default_rng(seed)
    want = max(1, round(test_fraction * len(set(archs)))) - len(multi)
    held = multi | set(rng.permutation(rest)[: max(0, want)].tolist()) if rest else multi
    test = np.isin(archs, sorted(held))
    if test.all() or not test.any():
        raise ConfigError(f"cannot split {len(set(archs))} networks into training and held-out ones")
    return ~test, test
