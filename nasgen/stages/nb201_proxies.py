"""Stage `nb201_proxies`: every proxy of a seeded sample of NAS-Bench-201 architectures on one network, ranked
against the benchmark's CIFAR-10 accuracy (nasgen.nb201). The first stage added through the registry: this
module's ``key`` and ``compute`` plus one entry in ``nasgen.stages.registry``.

Written: ``scores.parquet`` (index, arch, the config's proxies, status, error, seconds) and ``correlations.json``
(Spearman and Kendall of each proxy with validation and test top-1, and the seconds per architecture).
"""

from __future__ import annotations

import time

import pandas as pd
import pyarrow as pa

from nasgen.nb201.arch import from_index, sample_indices, to_string
from nasgen.nb201.config import NB201ProxiesConfig
from nasgen.nb201.data import accuracy_table
from nasgen.nb201.scoring import rank_correlations, score_archs
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "nb201_proxies"
SCORES = "scores.parquet"
ROLES = ("snip_ssnr", "tcet")  # record columns that repeat a named variant


def schema(proxies: tuple[str, ...]) -> pa.Schema:
    return pa.schema([pa.field("index", pa.int64(), nullable=False), pa.field("arch", pa.string(), nullable=False),
                      *(pa.field(p, pa.float64()) for p in proxies), pa.field("status", pa.string(), nullable=False),
                      pa.field("error", pa.string()), pa.field("seconds", pa.float64(), nullable=False),
                      pa.field("device", pa.string(), nullable=False)])  # fmt: skip


def key(cfg: NB201ProxiesConfig) -> str:
    return content_key(STAGE, cfg)


def compute(store: ArtifactStore, cfg: NB201ProxiesConfig, progress=None, device: str = "cpu") -> Ref:
    indices = sample_indices(cfg.n, cfg.seed)
    t0 = time.perf_counter()
    df = score_archs(indices, cfg.network, cfg.zc, device, progress=progress)
    seconds = (time.perf_counter() - t0) / len(indices)
    table = accuracy_table()
    named = [p for p in cfg.zc.proxies if p not in ROLES]
    result = {
        "archs": len(indices),
        "scored": int((df["status"] == "ok").sum()),
        "seconds_per_arch": seconds,
        **{acc: rank_correlations(df, table[f"{acc}_top1"], named) for acc in ("valid", "test")},
    }
    df = df.assign(arch=[to_string(from_index(int(i))) for i in df.index]).reset_index()
    with store.writer(STAGE, key(cfg), config=cfg) as w:
        sch = schema(cfg.zc.proxies)
        w.write_parquet(SCORES, pa.Table.from_pandas(df[sch.names], preserve_index=False), sch)
        w.write_json("correlations.json", result)
        w.rows = len(df)
        w.meta.update(scored=result["scored"])
    return w.ref


def correlations(ref: Ref) -> dict:
    return store_of(ref).read_json(ref, "correlations.json")


def scores(ref: Ref) -> pd.DataFrame:
    """One row per scored architecture, indexed by its NB-201 index."""
    return store_of(ref).read_parquet(ref, SCORES).to_pandas().set_index("index")
