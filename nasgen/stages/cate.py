"""Stages `cate` and `cate_graphnet`: pre-train CATE (5% held out) and freeze it; its encodings feed the
encoder comparison and CATE-DNGO-LS (nasgen.cate).

- `cate`: every NAS-Bench-201 cell, pairs by params (the vendored table's, millions); row i = NB-201 index i.
- `cate_graphnet`: the first ``max_cells`` cells of a `cells` artifact, pairs by the params or FLOPs (millions)
  of each cell's alpha_x (analytic); row i = cell position i. With ``pair_by = zc`` (our metric space) it
  trains on the ZC-scored cells of a `zc` artifact of those cells (the first ``max_cells`` scored ones), pairs
  by the L2 distance of their standardised ZC vectors (the clusters' vector and transform: log params/FLOPs,
  then z-scores); row i = the i-th scored cell.

The artifact (``nasgen.stages.frozen_encoder``): the pair model's weights, ``model.json`` (config, space,
vocabulary), the embedding table (each architecture's output-node state) and the metrics (held-out masked-op
accuracy, loss per epoch, pairs, seconds).
"""

from __future__ import annotations

import time

import numpy as np

from nasgen.cate.config import CATEConfig
from nasgen.cate.graphs import GRAPHNET, NB201, TokenSpace
from nasgen.cate.model import PairModel
from nasgen.cate.pretraining import encode, train
from nasgen.clusters.config import ClusterConfig
from nasgen.errors import ConfigError
from nasgen.nb201.arch import all_archs
from nasgen.nb201.data import accuracy_table
from nasgen.space.cell import cells_from_codes
from nasgen.space.cost import macro_cost
from nasgen.space.macro import reference_macro
from nasgen.stages import cells as cell_stage
from nasgen.stages import clusters, frozen_encoder
from nasgen.stages.frozen_encoder import embeddings  # noqa: F401  (the stage's reader)
from nasgen.store import ArtifactStore, Ref, content_key, store_of
from nasgen.zc.config import ZC_VECTOR
from nasgen.zc.transform import ZCTransform

STAGE = "cate"
GRAPHNET_STAGE = "cate_graphnet"


def key(cfg: CATEConfig) -> str:
    return content_key(STAGE, cfg)


def compute(store: ArtifactStore, cfg: CATEConfig, progress=None) -> Ref:
    if cfg.pair_by != "params":
        raise ConfigError(
            f"stage cate pairs NB-201 cells by params (the only attribute of all 15,625), not {cfg.pair_by!r}"
        )
    archs = list(all_archs())
    attribute = accuracy_table()["params_m"].to_numpy()
    return _pretrain(store, STAGE, key(cfg), archs, NB201, attribute, cfg, progress)


def _graphnet_upstream(cells_ref: Ref, cfg: CATEConfig, zc_ref: Ref | None) -> list[Ref]:
    if (cfg.pair_by == "zc") != (zc_ref is not None):
        why = "needs a zc artifact of its cells" if zc_ref is None else "reads no zc artifact"
        raise ConfigError(f"stage cate_graphnet with pair_by={cfg.pair_by} {why}")
    if zc_ref is None:
        return [cells_ref]
    ups = [u["key"] for u in store_of(zc_ref).manifest(zc_ref.stage, zc_ref.key).get("upstream_refs", [])]
    if cells_ref.key not in ups:
        raise ConfigError(f"the zc artifact {zc_ref.uri} scored other cells than {cells_ref.uri}")
    return [cells_ref, zc_ref]


def graphnet_key(cells_ref: Ref, cfg: CATEConfig, zc_ref: Ref | None = None) -> str:
    return content_key(GRAPHNET_STAGE, cfg, upstream=_graphnet_upstream(cells_ref, cfg, zc_ref))


def graphnet_compute(store: ArtifactStore, cells_ref: Ref, cfg: CATEConfig, zc_ref: Ref | None = None,
                     progress=None) -> Ref:  # fmt: skip
    upstream = _graphnet_upstream(cells_ref, cfg, zc_ref)
    if zc_ref is not None:
        scored = clusters.scored_cells(zc_ref).slice(0, cfg.max_cells)
        codes = cell_stage.load_cells(store_of(cells_ref), cells_ref).column("code").to_numpy()
        cells = cells_from_codes(codes[scored.column("position").to_numpy().astype(np.int64)])
        z = ZCTransform.raw(scored, ZC_VECTOR)
        attribute = ZCTransform.fit(z, ZC_VECTOR, ClusterConfig().log_components)(z)
    else:
        cells = cell_stage.first_cells(cells_ref, cfg.max_cells)
        attribute = np.array([getattr(macro_cost(reference_macro(c)), cfg.pair_by) for c in cells]) / 1e6
    return _pretrain(store, GRAPHNET_STAGE, graphnet_key(cells_ref, cfg, zc_ref), cells, GRAPHNET, attribute, cfg,
                     progress, upstream)  # fmt: skip


def _pretrain(store: ArtifactStore, stage: str, k: str, items: list, space: TokenSpace, attribute: np.ndarray,
              cfg: CATEConfig, progress, upstream: list[Ref] | None = None) -> Ref:  # fmt: skip
    t0 = time.perf_counter()
    model, metrics = train(items, space, attribute, cfg, progress)
    metrics["seconds"] = time.perf_counter() - t0
    info = {"space": space.name, "vocab": list(space.vocab.names)}
    return frozen_encoder.write(store, stage, k, cfg, model, info, encode(model, items, space), metrics, upstream)


def load_model(ref: Ref) -> PairModel:
    info = frozen_encoder.model_info(ref)
    model = PairModel(len(info["vocab"]) + 2, len(info["vocab"]), CATEConfig(**info["config"]))
    return frozen_encoder.load_state(model, ref, "CATE")
