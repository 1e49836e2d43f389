"""Stage `zc`: the ZC record of the labelled subset of a cells artifact, in independent shards.

Shard [start, stop) scores positions start..stop-1 of the cells stream. Its key depends on the cells key,
the ZC config and its own bounds only, so shards are independent (any order, any worker) and growing the
labelled subset reuses every full shard. A killed run loses at most the shards in flight: committed shards
have a manifest and are skipped. The `zc` artifact merges the shards into one table, checked to hold every
position exactly once, plus per-proxy statistics of the rows that scored.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nasgen.errors import ArtifactMissingError, ConfigError, CorruptArtifactError, NasgenError
from nasgen.space.cell import Cell
from nasgen.stages import cells as cell_stage
from nasgen.store import ArtifactStore, Ref, content_key, store_of
from nasgen.zc.config import ScoreCellsConfig
from nasgen.zc.plots import overview_png
from nasgen.zc.scorer import STATUSES, Scorer

SHARD_STAGE = "zc_shard"
STAGE = "zc"
TABLE = "zc.parquet"
OVERVIEW = "overview.png"


class ScoringError(NasgenError):
    """Every network of a shard failed with an exception: a systemic problem, not a bad cell."""


def schema(cfg: ScoreCellsConfig) -> pa.Schema:
    return pa.schema(
        [
            pa.field("position", pa.uint64(), nullable=False),
            pa.field("cell_id", pa.string(), nullable=False),
            *(pa.field(p, pa.float64()) for p in cfg.zc.proxies),
            pa.field("status", pa.string(), nullable=False),  # ok | nan | error | oom
            pa.field("error", pa.string()),
            pa.field("seconds", pa.float64(), nullable=False),
            pa.field("device", pa.string(), nullable=False),
        ]
    )


def scoring_config(ref: Ref) -> ScoreCellsConfig:
    """The config a committed `zc` artifact was scored with (its ZC input shape and classes define alpha_x)."""
    try:
        return ScoreCellsConfig(**store_of(ref).manifest(ref.stage, ref.key)["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptArtifactError(f"manifest of {ref.uri} holds no valid scoring config: {e}") from None


def labelled_count(cells_ref: Ref, cfg: ScoreCellsConfig) -> int:
    if cells_ref.rows is None:
        raise ArtifactMissingError(f"cells artifact {cells_ref.uri} has no row count")
    if cfg.n_labelled is not None and cfg.n_labelled > cells_ref.rows:
        raise ConfigError(f"n_labelled={cfg.n_labelled} exceeds the {cells_ref.rows} cells of {cells_ref.uri}")
    return cells_ref.rows if cfg.n_labelled is None else cfg.n_labelled


def plan(cells_ref: Ref, cfg: ScoreCellsConfig) -> list[tuple[int, int]]:
    n = labelled_count(cells_ref, cfg)
    return [(s, min(s + cfg.shard_size, n)) for s in range(0, n, cfg.shard_size)]


def shard_length(cells_ref: Ref, cfg: ScoreCellsConfig, index: int) -> int:
    start, stop = plan(cells_ref, cfg)[index]
    return stop - start


def shard_key(cells_ref: Ref, cfg: ScoreCellsConfig, index: int) -> str:
    start, stop = plan(cells_ref, cfg)[index]
    return _bounds_key(cells_ref, cfg, start, stop)


def _bounds_key(cells_ref: Ref, cfg: ScoreCellsConfig, start: int, stop: int) -> str:
    return content_key(SHARD_STAGE, _shard_config(cfg, start, stop), upstream=[cells_ref])


def key(cells_ref: Ref, cfg: ScoreCellsConfig) -> str:
    return content_key(STAGE, cfg, upstream=[cells_ref])


def _shard_config(cfg: ScoreCellsConfig, start: int, stop: int) -> dict:
    return {"zc": cfg.zc.model_dump(mode="json"), "start": start, "stop": stop}


def read_cell_slice(cells_ref: Ref, start: int, stop: int) -> pa.Table:
    """Positions, codes and ids of cells start..stop-1, reading only the cells shards that hold them
    (from the cells artifact's own store, which need not be the one zc writes to)."""
    store = store_of(cells_ref)
    parts, offset = [], 0
    for r in cell_stage.load_shard_refs(store, cells_ref):
        rows = r.rows or 0
        lo, hi = max(start, offset), min(stop, offset + rows)
        if lo < hi:
            t = store.read_parquet(r, cell_stage.SHARD_FILE, columns=["position", "code", "cell_id"])
            parts.append(t.slice(lo - offset, hi - lo))
        offset += rows
    table = pa.concat_tables(parts) if parts else None
    if table is None or table.num_rows != stop - start:
        raise CorruptArtifactError(f"cells artifact {cells_ref.uri} does not hold positions {start}..{stop - 1}")
    return table


def compute_shard(
    store: ArtifactStore,
    cells_ref: Ref,
    cfg: ScoreCellsConfig,
    index: int,
    device: str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> Ref:
    start, stop = plan(cells_ref, cfg)[index]
    scorer = Scorer(cfg.zc, device)
    cells = read_cell_slice(cells_ref, start, stop)
    codes = cells.column("code").to_numpy()
    rows = list(scorer.score_cells((Cell.from_code(int(c)) for c in codes), progress=progress))
    failed = [r for r in rows if r["status"] in ("error", "oom")]
    if len(failed) == len(rows):
        raise ScoringError(f"all {len(rows)} cells of zc shard {index} failed; first: {failed[0]['error']}")
    data = {p: [r[p] for r in rows] for p in schema(cfg).names if p not in ("position",)}
    data["position"] = cells.column("position").to_numpy()
    with store.writer(
        SHARD_STAGE,
        _bounds_key(cells_ref, cfg, start, stop),
        config=_shard_config(cfg, start, stop),
        upstream=[cells_ref],
    ) as w:
        w.write_parquet(TABLE, data, schema(cfg))
        w.rows = len(rows)
        w.meta.update(index=index, start=start, stop=stop, statuses=_status_counts(data["status"]))
    return w.ref


def _status_counts(statuses: list[str]) -> dict[str, int]:
    return {s: statuses.count(s) for s in STATUSES}


def proxy_stats(table: pa.Table, proxies: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Summary of each proxy over the rows whose status is ok."""
    ok = table.filter(pc.equal(table.column("status"), "ok"))
    out = {}
    for p in proxies:
        v = ok.column(p).to_numpy(zero_copy_only=False).astype(np.float64)
        if len(v) == 0:
            continue
        q = np.quantile(v, [0.0, 0.25, 0.5, 0.75, 1.0])
        out[p] = {
            "mean": float(v.mean()),
            "std": float(v.std()),
            **dict(zip(("min", "q25", "median", "q75", "max"), map(float, q))),
        }
    return out


def compute(store: ArtifactStore, cells_ref: Ref, cfg: ScoreCellsConfig, shards: list[Ref]) -> Ref:
    expected = plan(cells_ref, cfg)
    if len(shards) != len(expected):
        raise ValueError(f"zc needs {len(expected)} shards, got {len(shards)}")
    table = pa.concat_tables(store.read_parquet(r, TABLE) for r in shards)
    positions = table.column("position").to_numpy()
    n = expected[-1][1] if expected else 0
    if len(positions) != n or not np.array_equal(positions, np.arange(n, dtype=positions.dtype)):
        raise CorruptArtifactError(f"zc shards do not cover positions 0..{n - 1} exactly once")
    statuses = _status_counts(table.column("status").to_pylist())
    with store.writer(STAGE, key(cells_ref, cfg), config=cfg, upstream=[cells_ref, *shards]) as w:
        w.write_parquet(TABLE, table, schema(cfg))
        w.write_json("shards.json", [r.model_dump() for r in shards])
        w.write_json("stats.json", {"statuses": statuses, "proxies": proxy_stats(table, cfg.zc.proxies)})
        if statuses["ok"]:
            w.write_bytes(OVERVIEW, overview_png(table, cfg.zc.proxies))
        w.rows = table.num_rows
        w.meta.update(statuses=statuses, cells=cells_ref.model_dump())
    return w.ref


def load_scores(store: ArtifactStore, ref: Ref) -> pa.Table:
    return store.read_parquet(ref, TABLE)


def is_complete(store: ArtifactStore, cells_ref: Ref, cfg: ScoreCellsConfig) -> bool:
    return store.exists(STAGE, key(cells_ref, cfg))


def stats(ref: Ref) -> dict:
    """``stats.json``: status counts and per-proxy summaries of the rows that scored."""
    return store_of(ref).read_json(ref, "stats.json")


def committed_shards(store: ArtifactStore, cells_ref: Ref, cfg: ScoreCellsConfig) -> list[int]:
    return [
        i
        for i, (s, e) in enumerate(plan(cells_ref, cfg))
        if store.exists(SHARD_STAGE, _bounds_key(cells_ref, cfg, s, e))
    ]
