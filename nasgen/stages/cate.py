"""Stages `cate` and `cate_graphnet`: pre-train CATE (5% held out) and freeze it; its encodings feed the
encoder comparison and CATE-DNGO-LS (nasgen.cate).

- `cate`: every NAS-Bench-201 cell, pairs by params (the vendored table's, millions); row i = NB-201 index i.
- `cate_graphnet`: the first ``max_cells`` cells of a `cells` artifact, pairs by the params or FLOPs (millions)
  of each cell's alpha_x (analytic); row i = cell position i.

The artifact (``nasgen.stages.frozen_encoder``): the pair model's weights, ``model.json`` (config, space,
vocabulary), the embedding table (each architecture's output-node state) and the metrics (held-out masked-op
accuracy, loss per epoch, pairs, seconds).
"""

from __future__ import annotations

import time

import numpy as np

from nasgen.cate.graphs import GRAPHNET, NB201, TokenSpace
from nasgen.cate.model import PairModel
from nasgen.cate.pretraining import encode, train
from nasgen.config import CATEConfig
from nasgen.errors import ConfigError
from nasgen.nb201.arch import all_archs
from nasgen.nb201.data import accuracy_table
from nasgen.space.cost import macro_cost
from nasgen.space.macro import reference_macro
from nasgen.stages import cells as cell_stage
from nasgen.stages import frozen_encoder
from nasgen.stages.frozen_encoder import embeddings  # noqa: F401  (the stage's reader)
from nasgen.store import ArtifactStore, Ref, content_key

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


def graphnet_key(cells_ref: Ref, cfg: CATEConfig) -> str:
    return content_key(GRAPHNET_STAGE, cfg, upstream=[cells_ref])


def graphnet_compute(store: ArtifactStore, cells_ref: Ref, cfg: CATEConfig, progress=None) -> Ref:
    if cfg.pair_by not in ("params", "flops"):
        raise ConfigError(f"stage cate_graphnet pairs cells by alpha_x params or flops, not {cfg.pair_by!r}")
    cells = cell_stage.first_cells(cells_ref, cfg.max_cells)
    attribute = np.array([getattr(macro_cost(reference_macro(c)), cfg.pair_by) for c in cells]) / 1e6
    return _pretrain(store, GRAPHNET_STAGE, graphnet_key(cells_ref, cfg), cells, GRAPHNET, attribute, cfg, progress,
                     [cells_ref])  # fmt: skip


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
