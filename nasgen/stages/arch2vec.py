"""Stages `arch2vec` and `arch2vec_graphnet`: pre-train arch2vec (10% held out) and freeze it; its embeddings
are what arch2vec-RL and arch2vec-BO search (nasgen.arch2vec).

- `arch2vec`: every NAS-Bench-201 cell; row i of the embeddings is NB-201 index i.
- `arch2vec_graphnet`: the first ``max_cells`` GraphNet cells of a `cells` artifact; row i is cell position i.

The artifact (``nasgen.stages.frozen_encoder``): weights, ``model.json`` (config, encoding, heads), the
embedding table (the mean of each architecture's node means) and Table 3.1's metrics with the loss per epoch.
"""

from __future__ import annotations

import time

from nasgen.arch2vec.config import Arch2VecConfig
from nasgen.arch2vec.encoding import Encoding
from nasgen.arch2vec.graphnet import GRAPHNET
from nasgen.arch2vec.graphs import NB201
from nasgen.arch2vec.model import Arch2Vec
from nasgen.arch2vec.training import tensors, train
from nasgen.nb201.arch import all_archs
from nasgen.stages import cells as cell_stage
from nasgen.stages import frozen_encoder
from nasgen.stages.frozen_encoder import embeddings  # noqa: F401  (the stage's reader)
from nasgen.store import ArtifactStore, Ref, content_key

STAGE = "arch2vec"
GRAPHNET_STAGE = "arch2vec_graphnet"


def key(cfg: Arch2VecConfig) -> str:
    return content_key(STAGE, cfg)


def compute(store: ArtifactStore, cfg: Arch2VecConfig, progress=None) -> Ref:
    return _pretrain(store, STAGE, key(cfg), list(all_archs()), NB201, cfg, progress)


def graphnet_key(cells_ref: Ref, cfg: Arch2VecConfig) -> str:
    return content_key(GRAPHNET_STAGE, cfg, upstream=[cells_ref])


def graphnet_compute(store: ArtifactStore, cells_ref: Ref, cfg: Arch2VecConfig, progress=None) -> Ref:
    cells = cell_stage.first_cells(cells_ref, cfg.max_cells)
    return _pretrain(store, GRAPHNET_STAGE, graphnet_key(cells_ref, cfg), cells, GRAPHNET, cfg, progress, [cells_ref])


def _pretrain(store: ArtifactStore, stage: str, k: str, items: list, encoding: Encoding, cfg: Arch2VecConfig,
              progress, upstream: list[Ref] | None = None) -> Ref:  # fmt: skip
    t0 = time.perf_counter()
    model, metrics = train(items, cfg, progress, encoding)
    metrics["seconds"] = time.perf_counter() - t0
    info = {"encoding": encoding.name, "heads": list(encoding.heads)}
    return frozen_encoder.write(store, stage, k, cfg, model, info, model.embed(*tensors(items, encoding)), metrics,
                                upstream)  # fmt: skip


def load_model(ref: Ref) -> Arch2Vec:
    info = frozen_encoder.model_info(ref)
    return frozen_encoder.load_state(Arch2Vec(tuple(info["heads"]), Arch2VecConfig(**info["config"])), ref, "arch2vec")
