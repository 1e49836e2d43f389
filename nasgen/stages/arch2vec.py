"""Stages `arch2vec` and `arch2vec_graphnet`: pre-train arch2vec (10% held out) and freeze it; its embeddings
are what arch2vec-RL and arch2vec-BO search (nasgen.arch2vec).

- `arch2vec`: every NAS-Bench-201 cell; row i of the embeddings is NB-201 index i.
- `arch2vec_graphnet`: the first ``max_cells`` GraphNet cells of a `cells` artifact; row i is cell position i.

Written: ``weights.safetensors`` (state dict), ``model.json`` (the Arch2VecConfig, the encoding and its heads:
all that is needed to rebuild the module), ``embeddings.safetensors`` (``embeddings``: the mean of each
architecture's node means) and ``metrics.json`` (Table 3.1's metrics, the loss per epoch).
"""

from __future__ import annotations

import time

import torch

from nasgen.arch2vec.encoding import Encoding
from nasgen.arch2vec.graphnet import GRAPHNET
from nasgen.arch2vec.graphs import NB201
from nasgen.arch2vec.model import Arch2Vec
from nasgen.arch2vec.training import tensors, train
from nasgen.config import Arch2VecConfig
from nasgen.errors import CorruptArtifactError
from nasgen.nb201.arch import SPACE_SIZE, all_archs
from nasgen.space.cell import Cell
from nasgen.stages import cells as cell_stage
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "arch2vec"
GRAPHNET_STAGE = "arch2vec_graphnet"
WEIGHTS = "weights.safetensors"
EMBEDDINGS = "embeddings.safetensors"


def key(cfg: Arch2VecConfig) -> str:
    return content_key(STAGE, cfg)


def compute(store: ArtifactStore, cfg: Arch2VecConfig, progress=None) -> Ref:
    return _pretrain(store, STAGE, key(cfg), list(all_archs()), NB201, cfg, progress)


def graphnet_key(cells_ref: Ref, cfg: Arch2VecConfig) -> str:
    return content_key(GRAPHNET_STAGE, cfg, upstream=[cells_ref])


def graphnet_compute(store: ArtifactStore, cells_ref: Ref, cfg: Arch2VecConfig, progress=None) -> Ref:
    table = cell_stage.load_cells(store_of(cells_ref), cells_ref)
    codes = table.column("code").to_numpy()[: cfg.max_cells]
    cells = [Cell.from_code(int(c)) for c in codes]
    return _pretrain(store, GRAPHNET_STAGE, graphnet_key(cells_ref, cfg), cells, GRAPHNET, cfg, progress, [cells_ref])


def _pretrain(store: ArtifactStore, stage: str, k: str, items: list, encoding: Encoding, cfg: Arch2VecConfig,
              progress, upstream: list[Ref] | None = None) -> Ref:  # fmt: skip
    t0 = time.perf_counter()
    model, metrics = train(items, cfg, progress, encoding)
    metrics["seconds"] = time.perf_counter() - t0
    emb = model.embed(*tensors(items, encoding))
    with store.writer(stage, k, config=cfg, upstream=upstream or []) as w:
        w.write_safetensors(WEIGHTS, {name: v.detach().cpu() for name, v in model.state_dict().items()})
        w.write_json("model.json", {"config": cfg.model_dump(mode="json"), "encoding": encoding.name,
                                    "heads": list(encoding.heads)})  # fmt: skip
        w.write_safetensors(EMBEDDINGS, {"embeddings": emb.contiguous()})
        w.write_json(METRICS, metrics)
        w.rows = len(items)
        w.meta.update(metrics={m: v for m, v in metrics.items() if m != "train_loss"})
    return w.ref


def load_model(ref: Ref) -> Arch2Vec:
    info = store_of(ref).read_json(ref, "model.json")
    model = Arch2Vec(tuple(info["heads"]), Arch2VecConfig(**info["config"]))
    try:
        model.load_state_dict(store_of(ref).read_safetensors(ref, WEIGHTS))
    except RuntimeError as e:
        raise CorruptArtifactError(f"arch2vec weights at {ref.uri} do not fit its config: {e}") from None
    return model.eval()


def embeddings(ref: Ref) -> torch.Tensor:
    """(rows, latent): `arch2vec` row i embeds NB-201 architecture i (15,625 rows); `arch2vec_graphnet` row i
    the cell at position i of its `cells` artifact."""
    emb = store_of(ref).read_safetensors(ref, EMBEDDINGS).get("embeddings")
    rows = SPACE_SIZE if ref.stage == STAGE else ref.rows
    if emb is None or emb.ndim != 2 or emb.shape[0] != rows:
        raise CorruptArtifactError(f"{ref.uri}: {EMBEDDINGS} holds no ({rows}, d) 'embeddings' table")
    return emb
