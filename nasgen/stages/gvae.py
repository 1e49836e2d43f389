"""Stage `gvae`: train the G-VAE on the first ``max_cells`` cells, the scored ones labelled with their ZC
vectors transformed by the `clusters` artifact's transform (one transform for every model).

Written: ``weights.safetensors`` (state dict), ``model.json`` (the GVAEConfig and the ZC transform: all that
is needed to rebuild the module), ``history.parquet`` (losses per epoch), ``metrics.json`` (nasgen.gvae.metrics
on the held-out cells) and ``held_out.json`` (positions of the held-out cells).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from nasgen.errors import CorruptArtifactError
from nasgen.gvae.config import GVAEConfig
from nasgen.gvae.metrics import evaluate, tsne_png
from nasgen.gvae.model import GVAE
from nasgen.gvae.training import History, encode, train
from nasgen.space.cell import Cell
from nasgen.stages import cells as cell_stage
from nasgen.stages import clusters as cluster_stage
from nasgen.stages.clusters import scored_cells
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, open_ref, store_of
from nasgen.zc.transform import ZCTransform

STAGE = "gvae"
WEIGHTS = "weights.safetensors"
TSNE = "tsne.png"
HISTORY_SCHEMA = pa.schema(
    [pa.field(n, pa.float64(), nullable=False) for n in ("train_loss", "recon", "val_recon", "triplet", "predictor")]
)


def key(cells_ref: Ref, zc_ref: Ref, clusters_ref: Ref, cfg: GVAEConfig) -> str:
    return content_key(STAGE, cfg, upstream=[cells_ref, zc_ref, clusters_ref])


def training_data(cells_ref: Ref, zc_ref: Ref, clusters_ref: Ref, cfg: GVAEConfig):
    """Cells, indices of the labelled ones, their transformed ZC vectors, the transform, their GMM clusters."""
    table = cell_stage.load_cells(store_of(cells_ref), cells_ref)
    n = table.num_rows if cfg.max_cells is None else min(cfg.max_cells, table.num_rows)
    cells = [Cell.from_code(int(c)) for c in table.column("code").to_numpy()[:n]]
    model = cluster_stage.load_model(store_of(clusters_ref), clusters_ref)
    ok = scored_cells(zc_ref)
    positions = ok.column("position").to_numpy().astype(np.int64)
    keep = positions < n
    z = ZCTransform.raw(ok, model.transform.components)[keep]
    t_zc = model.transform(z)
    return cells, positions[keep], t_zc, model.transform, model.predict(t_zc)


def compute(store: ArtifactStore, cells_ref: Ref, zc_ref: Ref, clusters_ref: Ref, cfg: GVAEConfig, progress=None,
            device: str = "cpu") -> Ref:  # fmt: skip
    """Train on ``device`` (not part of the key)."""
    cells, labelled, t_zc, transform, families = training_data(cells_ref, zc_ref, clusters_ref, cfg)
    model, hist, val_idx = train(cells, cfg, labelled, t_zc, progress, device=device)
    held = set(val_idx.tolist())
    held_lab = [i for i, p in enumerate(labelled) if int(p) in held]
    metrics = evaluate(
        model,
        [c for i, c in enumerate(cells) if i not in held],
        [cells[i] for i in val_idx],
        [cells[labelled[i]] for i in held_lab],
        t_zc[held_lab],
        prior_n=cfg.prior_samples,
        seed=cfg.seed,
    )
    metrics.update(epochs=len(hist.recon), best_epoch=hist.best_epoch, cells=len(cells), labelled=len(labelled))
    with store.writer(STAGE, key(cells_ref, zc_ref, clusters_ref, cfg), config=cfg,
                      upstream=[cells_ref, zc_ref, clusters_ref]) as w:  # fmt: skip
        w.write_safetensors(WEIGHTS, {k: v.detach().cpu() for k, v in model.state_dict().items()})
        w.write_json("model.json", {"config": cfg.model_dump(mode="json"), "transform": transform.to_json()})
        w.write_parquet("history.parquet", _history(hist), HISTORY_SCHEMA)
        w.write_json(METRICS, metrics)
        w.write_json("held_out.json", sorted(int(i) for i in val_idx))
        if len(labelled) >= 5:
            kind = "regularised" if cfg.triplet_weight or cfg.predictor_weight else "naive"
            lat = encode(model, [cells[i] for i in labelled]).cpu().numpy()
            w.write_bytes(TSNE, tsne_png(lat, families, f"{kind} G-VAE latents, {len(labelled)} labelled cells"))
        w.rows = len(cells)
        w.meta.update(metrics=metrics)
    return w.ref


def _history(h: History) -> dict:
    return {"train_loss": h.train_loss, "recon": h.recon, "val_recon": h.val_recon, "triplet": h.triplet,
            "predictor": h.predictor}  # fmt: skip


def load_model(store: ArtifactStore, ref: Ref) -> tuple[GVAE, ZCTransform]:
    info = store.read_json(ref, "model.json")
    model = GVAE(GVAEConfig(**info["config"]))
    try:
        model.load_state_dict(store.read_safetensors(ref, WEIGHTS))
    except RuntimeError as e:
        raise CorruptArtifactError(f"G-VAE weights at {ref.uri} do not fit its config: {e}") from None
    return model.eval(), ZCTransform.from_json(info["transform"])


def load(uri: str) -> tuple[GVAE, ZCTransform]:
    """The trained G-VAE (eval mode) and its ZC transform, from a committed `gvae` artifact URI."""
    store, ref = open_ref(uri, stage=STAGE)
    return load_model(store, ref)
