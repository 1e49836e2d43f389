"""Stage `ccnf`: the conditional flow p(latent | ZC condition) over the G-VAE latents of the cells.

Training rows are the first ``max_cells`` cells of the G-VAE's data. Latent: the G-VAE's posterior (fresh
draws from q(z | x) with ``posterior_samples``, else its mean f(x)). Condition: the measured transformed ZC
vector where the cell was scored, else the predictor's q(f(x)) (paper Section 4.2: q stands in for scoring
every cell) with, under ``exact_costs``, its params/FLOPs replaced by their analytic values.

Written: ``weights.safetensors``, ``model.json`` (config, dimensions, training latents' mean and std),
``history.parquet`` (NLL, NFE and end time per epoch) and ``metrics.json`` (held-out NLL, NFE, and the
decoding success of samples for every cluster mean).
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import torch

from nasgen.ccnf.cnf import CCNF
from nasgen.ccnf.config import CCNFConfig
from nasgen.ccnf.sampling import CellSampler
from nasgen.ccnf.training import History, train
from nasgen.device import resolve_device
from nasgen.errors import CorruptArtifactError
from nasgen.gvae import GVAE, encode_cells
from nasgen.space.cell import Cell
from nasgen.stages import cells as cell_stage
from nasgen.stages import clusters as cluster_stage
from nasgen.stages import gvae as gvae_stage
from nasgen.stages import zc as zc_stage
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, open_ref, store_of, upstream_of
from nasgen.zc.conditions import with_exact_costs
from nasgen.zc.config import ZCConfig

STAGE = "ccnf"
WEIGHTS = "weights.safetensors"
HISTORY = "history.parquet"
ENCODE_BATCH = 4096
SUCCESS_SAMPLES = 1000  # per cluster mean: at p = 0.99 the 3-family mean has a standard error of 0.002 (200: 0.004)
HISTORY_SCHEMA = pa.schema(
    [pa.field(n, pa.float64(), nullable=False)
     for n in ("train_nll", "val_nll", "nfe_forward", "nfe_backward", "end_time")]
)  # fmt: skip


def key(gvae_ref: Ref, cfg: CCNFConfig) -> str:
    return content_key(STAGE, cfg, upstream=[gvae_ref])


@torch.no_grad()
def posterior_of(model: GVAE, cells: list[Cell]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of the G-VAE posterior q(z | x) of every cell."""
    model.eval()
    dev = next(model.parameters()).device
    parts = [
        model.encode(encode_cells(cells[i : i + ENCODE_BATCH]).to(dev)) for i in range(0, len(cells), ENCODE_BATCH)
    ]
    return torch.cat([m for m, _ in parts]), torch.cat([torch.exp(0.5 * lv) for _, lv in parts])


def scoring_config_of(gvae_ref: Ref) -> ZCConfig:
    """The ZC config the G-VAE's labelled cells were scored with."""
    return zc_stage.scoring_config(upstream_of(gvae_ref, zc_stage.STAGE)).zc


def training_data(gvae_ref: Ref, model: GVAE, cfg: CCNFConfig):
    """(posterior means, posterior stds, conditions, how many conditions were measured rather than predicted)."""
    cells_ref = upstream_of(gvae_ref, cell_stage.STAGE)
    zc_ref = upstream_of(gvae_ref, zc_stage.STAGE)
    clusters_ref = upstream_of(gvae_ref, cluster_stage.STAGE)
    cells, labelled, t_zc, transform, _ = gvae_stage.training_data(cells_ref, zc_ref, clusters_ref, model.cfg)
    n = len(cells) if cfg.max_cells is None else min(cfg.max_cells, len(cells))
    lat, std = posterior_of(model, cells[:n])
    with torch.no_grad():
        cond = model.predictor(lat)
    if cfg.exact_costs:
        exact = with_exact_costs(cond.cpu().numpy(), cells[:n], transform, scoring_config_of(gvae_ref))
        cond = torch.as_tensor(exact, device=cond.device)
    keep = labelled < n
    cond[torch.from_numpy(labelled[keep]).to(cond.device)] = torch.as_tensor(t_zc[keep], dtype=cond.dtype,
                                                                              device=cond.device)  # fmt: skip
    return lat, std, cond, int(keep.sum())


def compute(store: ArtifactStore, gvae_ref: Ref, cfg: CCNFConfig, progress=None, device: str = "cpu") -> Ref:
    """Train on ``device`` (not part of the key)."""
    dev = device
    model, transform = gvae_stage.load_model(store_of(gvae_ref), gvae_ref)
    model = model.to(dev)
    lat, std, cond, measured = training_data(gvae_ref, model, cfg)
    t0 = time.perf_counter()
    flow, hist, val_idx = train(lat.cpu().numpy(), cond.cpu().numpy(), cfg, progress, device=dev,
                                latent_std=std.cpu().numpy() if cfg.posterior_samples else None)  # fmt: skip
    seconds = time.perf_counter() - t0
    clusters_ref = upstream_of(gvae_ref, cluster_stage.STAGE)
    sampler = CellSampler(model, flow, cluster_stage.load_model(store_of(clusters_ref), clusters_ref), transform,
                          lat.mean(0), lat.std(0), cfg, scoring_config_of(gvae_ref))  # fmt: skip
    metrics = {
        "val_nll_per_dim": hist.val_nll[hist.best_epoch],
        "train_nll_per_dim": hist.train_nll[hist.best_epoch],
        "epochs": len(hist.val_nll),
        "best_epoch": hist.best_epoch,
        "nfe_forward": float(np.mean(hist.nfe_forward)),
        "nfe_backward": float(np.mean(hist.nfe_backward)),
        "end_time": flow.end_times(),
        "cells": len(lat),
        "held_out": len(val_idx),
        "measured_conditions": measured,
        "train_seconds": seconds,
        **cluster_success(sampler, cfg.seed),
    }
    with store.writer(STAGE, key(gvae_ref, cfg), config=cfg, upstream=[gvae_ref, clusters_ref]) as w:
        w.write_safetensors(WEIGHTS, {k: v.detach().cpu() for k, v in flow.state_dict().items()})
        w.write_json("model.json", {"config": cfg.model_dump(mode="json"), "dim": flow.dim,
                                    "cond_dim": flow.cond_dim, "latent_mean": lat.mean(0).tolist(),
                                    "latent_std": lat.std(0).tolist()})  # fmt: skip
        w.write_parquet(HISTORY, _history(hist), HISTORY_SCHEMA)
        w.write_json(METRICS, metrics)
        w.rows = len(lat)
        w.meta.update(metrics=metrics)
    return w.ref


def cluster_success(sampler: CellSampler, seed: int) -> dict:
    """Per cluster mean: the share of CCNF samples that decode to valid cells, and the share of distinct cells
    among them (a lower temperature buys success with diversity; both are reported)."""
    gen = torch.Generator().manual_seed(seed)
    per, distinct = [], []
    for k in range(sampler.clusters.k):
        valid = [d.cell for d in sampler.draw(sampler.cluster_condition(k).expand(SUCCESS_SAMPLES, -1), gen) if d.ok]
        per.append(len(valid) / SUCCESS_SAMPLES)
        distinct.append(len({c.cell_id for c in valid}) / SUCCESS_SAMPLES)
    return {"cluster_success": per, "generation_success": float(np.mean(per)), "cluster_distinct": distinct}


def _history(h: History) -> dict:
    return {"train_nll": h.train_nll, "val_nll": h.val_nll, "nfe_forward": h.nfe_forward,
            "nfe_backward": h.nfe_backward, "end_time": h.end_time}  # fmt: skip


def load_sampler(store: ArtifactStore, ref: Ref, device: str = "cpu") -> CellSampler:
    """The CellSampler of a committed `ccnf` artifact with its G-VAE and GMM (all in eval mode on ``device``)."""
    dev = resolve_device(device)  # a library entry point: users pass "auto"
    info = store.read_json(ref, "model.json")
    cfg = CCNFConfig(**info["config"])
    flow = CCNF(int(info["dim"]), int(info["cond_dim"]), cfg)
    try:
        flow.load_state_dict(store.read_safetensors(ref, WEIGHTS))
    except RuntimeError as e:
        raise CorruptArtifactError(f"CCNF weights at {ref.uri} do not fit its config: {e}") from None
    gvae_ref = upstream_of(ref, gvae_stage.STAGE)
    clusters_ref = upstream_of(ref, cluster_stage.STAGE)
    model, transform = gvae_stage.load_model(store_of(gvae_ref), gvae_ref)
    as_t = lambda v: torch.tensor(v, dtype=torch.float32, device=dev)  # noqa: E731
    return CellSampler(model.to(dev), flow.to(dev).eval(), cluster_stage.load_model(store_of(clusters_ref),
                       clusters_ref), transform, as_t(info["latent_mean"]), as_t(info["latent_std"]), cfg,
                       scoring_config_of(gvae_ref))  # fmt: skip


def load(uri: str, device: str = "cpu") -> CellSampler:
    """``synonyms`` / ``gen_cell`` from a committed `ccnf` artifact URI."""
    store, ref = open_ref(uri, stage=STAGE)
    return load_sampler(store, ref, device)
