"""Stage `cells`: N unique canonical cells as a chain of Parquet shards, resumable shard by shard.

Shard i holds positions [i*S, (i+1)*S) of the deterministic unique stream (nasgen.space.sampling; under
``space: nb201``, NB-201's distinct cells in a seeded order, nasgen.nb201.cell.nb201_codes). It is
computed from the codes of shards < i and the stream cursor stored in shard i-1's manifest, so a run that
died after shard i resumes at shard i+1 and produces exactly the cells of an uninterrupted run. The final
`cells` artifact is a manifest listing the shard refs, committed once every shard exists.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from nasgen.errors import ArtifactMissingError
from nasgen.nb201.cell import nb201_codes
from nasgen.space import canonical
from nasgen.space.cell import Cell, cells_from_codes
from nasgen.space.config import SampleCellsConfig
from nasgen.space.ops import OPS
from nasgen.space.sampling import Cursor, unique_codes
from nasgen.store import ArtifactStore, Ref, content_key, store_of

SHARD_STAGE = "cells_shard"
STAGE = "cells"
SHARD_FILE = "cells.parquet"

CELL_SCHEMA = pa.schema(
    [
        pa.field("position", pa.uint64(), nullable=False),  # index in the unique stream
        pa.field("code", pa.uint64(), nullable=False),  # canonical code (see nasgen.space.canonical)
        pa.field("cell_id", pa.string(), nullable=False),  # code as 16 hex digits
        pa.field("n_ops", pa.uint8(), nullable=False),
        pa.field("ops", pa.list_(pa.string()), nullable=False),  # op names in canonical order
        pa.field("edges", pa.list_(pa.list_(pa.uint8(), 2)), nullable=False),
    ]
)


def shard_sizes(cfg: SampleCellsConfig) -> list[int]:
    full, rest = divmod(cfg.n, cfg.shard_size)
    return [cfg.shard_size] * full + ([rest] if rest else [])


def _key_config(cfg: SampleCellsConfig) -> dict:
    """The config as keys see it: ``space`` only when it is not the GraphNet default (it arrived after the
    GraphNet artifacts were keyed, and a new field must not invalidate them)."""
    return cfg.model_dump(mode="json", exclude={"space"} if cfg.space == "graphnet" else None)


def shard_key(cfg: SampleCellsConfig, index: int) -> str:
    return content_key(SHARD_STAGE, {"cells": _key_config(cfg), "index": index})


def key(cfg: SampleCellsConfig) -> str:
    return content_key(STAGE, _key_config(cfg))


def codes_table(codes: np.ndarray, start: int) -> pa.Table:
    decoded = [canonical.decode(c) for c in codes.tolist()]
    return pa.Table.from_pydict(
        {
            "position": np.arange(start, start + len(codes), dtype=np.uint64),
            "code": codes.astype(np.uint64),
            "cell_id": [format(c, "016x") for c in codes.tolist()],
            "n_ops": np.array([len(labels) for labels, _ in decoded], dtype=np.uint8),
            "ops": [[OPS[o].name for o in labels] for labels, _ in decoded],
            "edges": [[list(e) for e in edges] for _, edges in decoded],
        },
        schema=CELL_SCHEMA,
    )


def read_codes(store: ArtifactStore, shard_refs: list[Ref]) -> np.ndarray:
    parts = [store.read_parquet(r, SHARD_FILE, columns=["code"]).column("code").to_numpy() for r in shard_refs]
    return np.concatenate(parts) if parts else np.empty(0, np.uint64)


def compute_shard(store: ArtifactStore, cfg: SampleCellsConfig, index: int, previous: list[Ref], progress=None) -> Ref:
    """Shard ``index``; ``previous`` are the refs of shards 0..index-1."""
    if len(previous) != index:
        raise ValueError(f"shard {index} needs the refs of the {index} shards before it, got {len(previous)}")
    cursor = Cursor()
    size = shard_sizes(cfg)[index]
    start = index * cfg.shard_size
    if cfg.space == "nb201":
        codes = nb201_codes(cfg.seed)[start : start + size]
        if progress is not None:
            progress(size)
    else:
        if previous:
            cursor = Cursor(**store.manifest(previous[-1].stage, previous[-1].key)["cursor"])
        seen = read_codes(store, previous)
        codes, cursor = unique_codes(size, cfg.seed, cfg.sampler, seen=seen, cursor=cursor, progress=progress)
    with store.writer(
        SHARD_STAGE,
        shard_key(cfg, index),
        config={"cells": cfg.model_dump(mode="json"), "index": index},
        upstream=previous[-1:],
    ) as w:
        w.write_parquet(SHARD_FILE, codes_table(codes, start), CELL_SCHEMA)
        w.rows = len(codes)
        w.meta["cursor"] = {"batch": cursor.batch, "offset": cursor.offset}
        w.meta["index"] = index
    return w.ref


def compute(store: ArtifactStore, cfg: SampleCellsConfig, shards: list[Ref]) -> Ref:
    """The `cells` artifact: the ordered shard list, committed only when all shards are present."""
    expected = shard_sizes(cfg)
    if len(shards) != len(expected):
        raise ValueError(f"cells needs {len(expected)} shards, got {len(shards)}")
    for r in shards:
        if not store.exists(r.stage, r.key):
            raise ArtifactMissingError(f"shard {r.uri} vanished before the cells artifact was committed")
    with store.writer(STAGE, key(cfg), config=cfg, upstream=shards) as w:
        w.write_json("shards.json", [r.model_dump() for r in shards])
        w.rows = sum(r.rows or 0 for r in shards)
        w.meta["shards"] = len(shards)
    return w.ref


def load_shard_refs(store: ArtifactStore, ref: Ref) -> list[Ref]:
    return [Ref(**r) for r in store.read_json(ref, "shards.json")]


def load_cells(store: ArtifactStore, ref: Ref) -> pa.Table:
    """All rows of a `cells` artifact, in stream order."""
    return pa.concat_tables(store.read_parquet(r, SHARD_FILE) for r in load_shard_refs(store, ref))


def first_cells(ref: Ref, n: int | None = None) -> list[Cell]:
    """The first ``n`` cells of a `cells` artifact (all with None), in position order."""
    codes = load_cells(store_of(ref), ref).column("code").to_numpy()
    return cells_from_codes(codes if n is None else codes[:n])


def is_complete(store: ArtifactStore, cfg: SampleCellsConfig) -> bool:
    """The `cells` artifact and every shard it lists are committed (a deleted shard means: recompute)."""
    k = key(cfg)
    if not store.exists(STAGE, k):
        return False
    return all(store.exists(r.stage, r.key) for r in load_shard_refs(store, store.ref(STAGE, k)))
