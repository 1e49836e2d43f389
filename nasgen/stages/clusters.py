"""Stage `clusters`: GMM cell families of the scored (status ok) cells of a `zc` artifact.

Written: ``gmm.safetensors`` (weights, means, covariances, transform statistics as float64 tensors),
``model.json`` (K, components, transform), ``selection.parquet`` (BIC/AIC per K), ``selection.png`` (the curve)
and ``assignments.parquet`` (position, cell_id, cluster, log-density of every clustered cell).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from nasgen.clusters.config import ClusterConfig
from nasgen.clusters.gmm import ClusterModel, Selection, fit_clusters, selection_png
from nasgen.errors import CorruptArtifactError
from nasgen.space.cell import Cell
from nasgen.stages import zc
from nasgen.store import ArtifactStore, Ref, content_key, open_ref, store_of
from nasgen.zc.transform import ZCTransform

STAGE = "clusters"
WEIGHTS = "gmm.safetensors"
SELECTION_PNG = "selection.png"
ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("position", pa.uint64(), nullable=False),
        pa.field("cell_id", pa.string(), nullable=False),
        pa.field("cluster", pa.int32(), nullable=False),
        pa.field("log_density", pa.float64(), nullable=False),
    ]
)
SELECTION_SCHEMA = pa.schema(
    [
        pa.field("k", pa.int32(), nullable=False),
        pa.field("bic", pa.float64(), nullable=False),
        pa.field("aic", pa.float64(), nullable=False),
        pa.field("aicc", pa.float64(), nullable=False),
        pa.field("converged", pa.bool_(), nullable=False),
        pa.field("chosen", pa.bool_(), nullable=False),
    ]
)


def key(zc_ref: Ref, cfg: ClusterConfig) -> str:
    return content_key(STAGE, cfg, upstream=[zc_ref])


def scored_cells(zc_ref: Ref) -> pa.Table:
    table = zc.load_scores(store_of(zc_ref), zc_ref)
    return table.filter(pc.equal(table.column("status"), "ok"))


def compute(store: ArtifactStore, zc_ref: Ref, cfg: ClusterConfig, progress=None) -> Ref:
    ok = scored_cells(zc_ref)
    z = ZCTransform.raw(ok, cfg.components)
    model, sel = fit_clusters(z, cfg, progress)
    t = model.transform(z)
    clusters = model.predict(t)
    sizes = np.bincount(clusters, minlength=model.k)
    with store.writer(STAGE, key(zc_ref, cfg), config=cfg, upstream=[zc_ref]) as w:
        w.write_safetensors(WEIGHTS, _tensors(model), metadata={"k": str(model.k)})
        w.write_json("model.json", {"k": model.k, "transform": model.transform.to_json(), "sizes": sizes.tolist()})
        w.write_parquet("selection.parquet", _selection_table(sel), SELECTION_SCHEMA)
        w.write_bytes(SELECTION_PNG, selection_png(sel))
        w.write_parquet(
            "assignments.parquet",
            {
                "position": ok.column("position").to_numpy(),
                "cell_id": ok.column("cell_id").to_pylist(),
                "cluster": clusters.astype(np.int32),
                "log_density": model.score_samples(t),
            },
            ASSIGNMENTS_SCHEMA,
        )
        w.rows = len(clusters)
        w.meta.update(k=model.k, sizes=sizes.tolist(), excluded=zc_ref.rows - len(clusters) if zc_ref.rows else None)
    return w.ref


def _tensors(model: ClusterModel) -> dict[str, torch.Tensor]:
    return {
        "weights": torch.from_numpy(model.weights),
        "means": torch.from_numpy(model.means),
        "covariances": torch.from_numpy(model.covariances),
        "transform_mean": torch.from_numpy(model.transform.mean),
        "transform_std": torch.from_numpy(model.transform.std),
    }


def _selection_table(sel: Selection) -> dict:
    return {"k": sel.ks.astype(np.int32), "bic": sel.bic, "aic": sel.aic, "aicc": sel.aicc, "converged": sel.converged,
            "chosen": sel.ks == sel.k}  # fmt: skip


def load_model(store: ArtifactStore, ref: Ref) -> ClusterModel:
    t = store.read_safetensors(ref, WEIGHTS)
    info = store.read_json(ref, "model.json")
    transform = ZCTransform.from_json(info["transform"])
    model = ClusterModel(
        t["weights"].numpy(), t["means"].numpy(), t["covariances"].numpy(),
        ZCTransform(transform.components, transform.log_components, t["transform_mean"].numpy(),
                    t["transform_std"].numpy()),
    )  # fmt: skip
    if model.k != info["k"] or model.means.shape != (model.k, len(transform.components)):
        raise CorruptArtifactError(f"cluster model at {ref.uri} has inconsistent shapes")
    return model


def load(uri: str) -> ClusterModel:
    """The cluster model of a committed `clusters` artifact, by URI (for later stages and users)."""
    store, ref = open_ref(uri, stage=STAGE)
    return load_model(store, ref)


def load_assignments(store: ArtifactStore, ref: Ref) -> pa.Table:
    return store.read_parquet(ref, "assignments.parquet")


def family_cells(ref: Ref) -> dict[int, list[Cell]]:
    """The scored cells of each family (cluster -> cells, in the artifact's order): what GenCell is replaced by
    in the no-CCNF ablation (uniform draws of a family's own scored cells)."""
    t = load_assignments(store_of(ref), ref)
    out: dict[int, list[Cell]] = {}
    for cell_id, k in zip(t.column("cell_id").to_pylist(), t.column("cluster").to_pylist()):
        out.setdefault(int(k), []).append(Cell.from_id(cell_id))
    return out


def model_info(ref: Ref) -> dict:
    """``model.json``: K, the cluster sizes and the ZC transform."""
    return store_of(ref).read_json(ref, "model.json")


def selection(ref: Ref) -> list[dict]:
    """``selection.parquet`` as rows: the information criteria per K and the K chosen."""
    return store_of(ref).read_parquet(ref, "selection.parquet").to_pylist()
