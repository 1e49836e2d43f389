"""Stage `supernet`: HM-NAS's weight-sharing supernet trained bi-level on a dataset's search images (its training
split less the validation split), alpha and beta learnt beside the weights (nasgen.hm_nas).

Key: the supernet config (dataset, space, encoding, sizes, training, seed). Written:
``supernet.safetensors`` (every weight, alpha and beta; the configs, input shape and classes in the metadata),
``summary.json`` (per-epoch rows, validation and test accuracy, alpha and beta, activation memory of one
training batch, seconds per epoch, DARTS's heuristic architecture at the default of ``hm_nas.heuristic_edges``).
"""

from __future__ import annotations

import json

import torch
from safetensors.torch import load

from nasgen.errors import ConfigError, CorruptArtifactError
from nasgen.hm_nas.config import HMNASConfig, SupernetConfig
from nasgen.hm_nas.derive import graphnet_heuristic, nb201_heuristic
from nasgen.hm_nas.supernet import Supernet, build_supernet
from nasgen.hm_nas.training import first_batch, loader, saved_bytes, search_data, train_supernet
from nasgen.nb201.arch import to_index, to_string
from nasgen.store import ArtifactStore, Ref, content_key, store_of
from nasgen.train.checkpoint import safetensors_metadata
from nasgen.train.config import DatasetConfig
from nasgen.train.datasets import Dataset, prepared
from nasgen.train.loop import evaluate

STAGE = "supernet"
WEIGHTS = "supernet.safetensors"
SUMMARY = "summary.json"
EVAL_BATCH = 512


def key(cfg: SupernetConfig) -> str:
    return content_key(STAGE, cfg)


def task_data(dataset: DatasetConfig) -> Dataset:
    """The dataset with its validation split, which every reported decision uses (the test split only reports)."""
    if not dataset.val_fraction:
        raise ConfigError("HM-NAS reports on a validation split: give the dataset a val_fraction")
    if dataset.train_subset is not None:
        raise ConfigError("the supernet's search images are `supernet.subset`: leave the dataset's train_subset unset")
    return prepared(dataset, seed=0)


def accuracy(net: torch.nn.Module, ds: Dataset, device: str) -> dict[str, float]:
    dev = torch.device(device)
    return {f"{s}_top1": evaluate(net, loader(getattr(ds, s), EVAL_BATCH, 0, shuffle=False), dev)["top1"]
            for s in ("val", "test")}  # fmt: skip


def heuristic(net: Supernet, top: int) -> dict:
    """DARTS's derivation of ``net`` (the chapter's single- and multi-level ablation rows)."""
    cfg = net.cfg
    if cfg.space == "nb201":
        arch = nb201_heuristic(net.alpha.detach(), net.beta.detach(), net.multi, top)
        return {"nb201": to_string(arch), "nb201_index": to_index(arch)}
    cell = graphnet_heuristic(net.alpha.detach(), net.beta.detach(), cfg, top)
    return {"cell": cell.to_dict()}


def compute(store: ArtifactStore, cfg: SupernetConfig, device: str = "cpu", progress=None) -> Ref:
    ds = task_data(cfg.dataset)
    w_images, arch_images = search_data(ds, cfg)
    x, y = first_batch(w_images, cfg.batch_size)
    activation = saved_bytes(build_supernet(cfg, ds.input_shape[0], ds.classes), x, y)
    net = build_supernet(cfg, ds.input_shape[0], ds.classes)
    val = loader(ds.val, EVAL_BATCH, 0, shuffle=False)
    rows = train_supernet(net, w_images, arch_images, cfg, val, device, progress)
    summary = {"space": cfg.space, "encoding": cfg.encoding, "dataset": ds.name, "rows": rows,
               "search_images": len(w_images) + len(arch_images), **accuracy(net, ds, device),
               "weights": sum(p.numel() for p in net.weight_parameters()), "activation_bytes_per_batch": activation,
               "batch_size": cfg.batch_size, "seconds": sum(r["seconds"] for r in rows),
               "seconds_per_epoch": sum(r["seconds"] for r in rows) / len(rows),
               "alpha": net.alpha.detach().cpu().tolist(), "beta": net.beta.detach().cpu().tolist(),
               "heuristic": heuristic(net, HMNASConfig().heuristic_edges)}  # fmt: skip
    meta = {
        "config": cfg.model_dump_json(),
        "input_shape": json.dumps(list(ds.input_shape)),
        "classes": str(ds.classes),
    }
    with store.writer(STAGE, key(cfg), config=cfg.model_dump(mode="json")) as w:
        w.write_safetensors(WEIGHTS, {k: v.detach().cpu() for k, v in net.state_dict().items()}, meta)
        w.write_json(SUMMARY, summary)
        w.rows = len(rows)
        w.meta.update(metrics={k: summary[k] for k in ("val_top1", "test_top1", "seconds_per_epoch")})
    return w.ref


def load_supernet(ref: Ref) -> Supernet:
    """The trained supernet of a `supernet` artifact (on the CPU, train mode; its config is ``net.cfg``)."""
    if ref.stage != STAGE:
        raise ConfigError(f"expected a `{STAGE}` artifact, got a `{ref.stage}` one ({ref.uri})")
    blob = store_of(ref).read_bytes(ref, WEIGHTS)
    try:
        meta = safetensors_metadata(blob)
        cfg = SupernetConfig.model_validate_json(meta["config"])
        net = build_supernet(cfg, json.loads(meta["input_shape"])[0], int(meta["classes"]))
        net.load_state_dict(load(blob))
    except Exception as e:  # a bad header, missing metadata, weights that do not fit the config
        raise CorruptArtifactError(f"{ref.uri}/{WEIGHTS} is not a supernet checkpoint: {e}") from None
    return net
