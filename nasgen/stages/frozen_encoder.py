"""The artifact a frozen architecture encoder commits (stages `arch2vec`, `arch2vec_graphnet`, `cate`,
`cate_graphnet`): ``weights.safetensors`` (state dict), ``model.json`` (config and what rebuilds the module),
``embeddings.safetensors`` (``embeddings``: one row per architecture, in the stage's order) and
``metrics.json``. Written and read here once, so the stages differ only in what they train."""

from __future__ import annotations

import torch

from nasgen.errors import CorruptArtifactError
from nasgen.nb201.arch import SPACE_SIZE
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, store_of

WEIGHTS = "weights.safetensors"
EMBEDDINGS = "embeddings.safetensors"
NB201_STAGES = ("arch2vec", "cate")  # one row per NB-201 index; the others one per cell of their `cells` artifact


def write(store: ArtifactStore, stage: str, key: str, cfg, model: torch.nn.Module, info: dict,
          emb: torch.Tensor, metrics: dict, upstream: list[Ref] | None = None) -> Ref:  # fmt: skip
    with store.writer(stage, key, config=cfg, upstream=upstream or []) as w:
        w.write_safetensors(WEIGHTS, {n: v.detach().cpu() for n, v in model.state_dict().items()})
        w.write_json("model.json", {"config": cfg.model_dump(mode="json"), **info})
        w.write_safetensors(EMBEDDINGS, {"embeddings": emb.detach().cpu().contiguous()})
        w.write_json(METRICS, metrics)
        w.rows = int(emb.shape[0])
        w.meta.update(metrics={k: v for k, v in metrics.items() if k != "train_loss"})
    return w.ref


def model_info(ref: Ref) -> dict:
    return store_of(ref).read_json(ref, "model.json")


def load_state(model: torch.nn.Module, ref: Ref, what: str) -> torch.nn.Module:
    try:
        model.load_state_dict(store_of(ref).read_safetensors(ref, WEIGHTS))
    except RuntimeError as e:
        raise CorruptArtifactError(f"{what} weights at {ref.uri} do not fit its config: {e}") from None
    return model.eval()


def embeddings(ref: Ref) -> torch.Tensor:
    """(rows, d): an NB-201 stage's row i is NB-201 architecture i (15,625 rows); a GraphNet stage's row i is the
    cell at position i of its `cells` artifact."""
    emb = store_of(ref).read_safetensors(ref, EMBEDDINGS).get("embeddings")
    rows = SPACE_SIZE if ref.stage in NB201_STAGES else ref.rows
    if emb is None or emb.ndim != 2 or emb.shape[0] != rows:
        raise CorruptArtifactError(f"{ref.uri}: {EMBEDDINGS} holds no ({rows}, d) 'embeddings' table")
    return emb
