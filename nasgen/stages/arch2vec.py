"""Stage `arch2vec`: pre-train arch2vec on every NAS-Bench-201 cell (10% held out) and freeze it; its
embeddings are what arch2vec-RL and arch2vec-BO search (nasgen.arch2vec).

Written: ``weights.safetensors`` (state dict), ``model.json`` (the Arch2VecConfig and vocabulary: all that is
needed to rebuild the module), ``embeddings.safetensors`` (``embeddings``: one row per NB-201 index, the mean of
its node means) and ``metrics.json`` (Table 3.1's metrics, both validity checks, the loss per epoch).
"""

from __future__ import annotations

import time

import torch

from nasgen.arch2vec import graphs
from nasgen.arch2vec.model import Arch2Vec
from nasgen.arch2vec.training import tensors, train
from nasgen.config import Arch2VecConfig
from nasgen.errors import CorruptArtifactError
from nasgen.nb201.arch import SPACE_SIZE, all_archs
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "arch2vec"
WEIGHTS = "weights.safetensors"
EMBEDDINGS = "embeddings.safetensors"


def key(cfg: Arch2VecConfig) -> str:
    return content_key(STAGE, cfg)


def compute(store: ArtifactStore, cfg: Arch2VecConfig, progress=None) -> Ref:
    archs = list(all_archs())
    t0 = time.perf_counter()
    model, metrics = train(archs, cfg, progress)
    metrics["seconds"] = time.perf_counter() - t0
    emb = model.embed(*tensors(archs))
    with store.writer(STAGE, key(cfg), config=cfg) as w:
        w.write_safetensors(WEIGHTS, {k: v.detach().cpu() for k, v in model.state_dict().items()})
        w.write_json("model.json", {"config": cfg.model_dump(mode="json"), "vocab": list(graphs.VOCAB)})
        w.write_safetensors(EMBEDDINGS, {"embeddings": emb.contiguous()})
        w.write_json(METRICS, metrics)
        w.rows = len(archs)
        w.meta.update(metrics={k: v for k, v in metrics.items() if k != "train_loss"})
    return w.ref


def load_model(ref: Ref) -> Arch2Vec:
    info = store_of(ref).read_json(ref, "model.json")
    model = Arch2Vec(len(info["vocab"]), Arch2VecConfig(**info["config"]))
    try:
        model.load_state_dict(store_of(ref).read_safetensors(ref, WEIGHTS))
    except RuntimeError as e:
        raise CorruptArtifactError(f"arch2vec weights at {ref.uri} do not fit its config: {e}") from None
    return model.eval()


def embeddings(ref: Ref) -> torch.Tensor:
    """(15,625, latent): row i embeds NB-201 architecture i."""
    emb = store_of(ref).read_safetensors(ref, EMBEDDINGS).get("embeddings")
    if emb is None or emb.ndim != 2 or emb.shape[0] != SPACE_SIZE:
        raise CorruptArtifactError(f"{ref.uri}: {EMBEDDINGS} holds no ({SPACE_SIZE}, d) 'embeddings' table")
    return emb
