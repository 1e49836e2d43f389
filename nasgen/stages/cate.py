"""Stage `cate`: pre-train CATE on every NAS-Bench-201 cell (5% held out), pairs by params (the vendored
table's), and freeze it; its encodings feed the encoder comparison and CATE-DNGO-LS (nasgen.cate).

Written: ``weights.safetensors`` (the pair model's state dict), ``model.json`` (the CATEConfig and vocabulary),
``embeddings.safetensors`` (``embeddings``: row i the output-node state of NB-201 architecture i) and
``metrics.json`` (held-out masked-op accuracy, loss per epoch, pairs, seconds).
"""

from __future__ import annotations

import time

import torch

from nasgen.cate.graphs import NB201
from nasgen.cate.model import PairModel
from nasgen.cate.pretraining import encode, train
from nasgen.config import CATEConfig
from nasgen.errors import ConfigError, CorruptArtifactError
from nasgen.nb201.arch import SPACE_SIZE, all_archs
from nasgen.nb201.data import accuracy_table
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "cate"
WEIGHTS = "weights.safetensors"
EMBEDDINGS = "embeddings.safetensors"


def key(cfg: CATEConfig) -> str:
    return content_key(STAGE, cfg)


def compute(store: ArtifactStore, cfg: CATEConfig, progress=None) -> Ref:
    if cfg.pair_by != "params":
        raise ConfigError(
            f"stage cate pairs NB-201 cells by params (the only attribute of all 15,625), not {cfg.pair_by!r}"
        )
    archs = list(all_archs())
    t0 = time.perf_counter()
    model, metrics = train(archs, NB201, accuracy_table()["params_m"].to_numpy(), cfg, progress)
    metrics["seconds"] = time.perf_counter() - t0
    emb = encode(model, archs, NB201)
    with store.writer(STAGE, key(cfg), config=cfg) as w:
        w.write_safetensors(WEIGHTS, {k: v.detach().cpu() for k, v in model.state_dict().items()})
        w.write_json("model.json", {"config": cfg.model_dump(mode="json"), "vocab": list(NB201.vocab.names)})
        w.write_safetensors(EMBEDDINGS, {"embeddings": emb.contiguous()})
        w.write_json(METRICS, metrics)
        w.rows = len(archs)
        w.meta.update(metrics={k: v for k, v in metrics.items() if k != "train_loss"})
    return w.ref


def load_model(ref: Ref) -> PairModel:
    info = store_of(ref).read_json(ref, "model.json")
    model = PairModel(len(info["vocab"]) + 2, len(info["vocab"]), CATEConfig(**info["config"]))
    try:
        model.load_state_dict(store_of(ref).read_safetensors(ref, WEIGHTS))
    except RuntimeError as e:
        raise CorruptArtifactError(f"CATE weights at {ref.uri} do not fit its config: {e}") from None
    return model.eval()


def embeddings(ref: Ref) -> torch.Tensor:
    """(15,625, d_model): row i encodes NB-201 architecture i."""
    emb = store_of(ref).read_safetensors(ref, EMBEDDINGS).get("embeddings")
    if emb is None or emb.ndim != 2 or emb.shape[0] != SPACE_SIZE:
        raise CorruptArtifactError(f"{ref.uri}: {EMBEDDINGS} holds no ({SPACE_SIZE}, d) 'embeddings' table")
    return emb
