"""The hierarchical method on NAS-Bench-201: the pipeline's GMM families, G-VAE and CCNF pretrained on NB-201's
cells (stage `cells` with ``space: nb201``, then `zc`, `clusters`, `gvae`, `ccnf` unchanged), CCNF samples
conditioned on a family mean or on a reference cell's z(x), kept to the cells NB-201 contains.

What the hierarchy can and cannot do in a one-cell space: NB-201 fixes the macro skeleton (stem, 3 stages of 5
copies of the one cell, 16/32/64 channels), so only the cell level exists. HL-Evo's macro level, its
constraint levels (every cell's cost is fixed by the skeleton) and the sequence generator trained on HL-Evo's
history have nothing to search; what remains is Algorithm 1's GenCell (a family's or a reference's synonyms)
followed by a zero-cost pick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import torch

from nasgen.ccnf.sampling import CellSampler, GenerationError
from nasgen.config import Profile
from nasgen.errors import ConfigError
from nasgen.nb201.cell import BEST_CIFAR10, nb201_cell, nb201_indices
from nasgen.nb201.config import HierarchyCondition, NB201HierarchyConfig, NB201SearchConfig
from nasgen.space.cell import Cell
from nasgen.space.config import NB201_CELLS, SampleCellsConfig
from nasgen.stages import ccnf as ccnf_stage
from nasgen.stages import clusters as cluster_stage
from nasgen.stages import pipeline
from nasgen.stages import zc as zc_stage
from nasgen.store import ArtifactStore, Ref, store_of
from nasgen.zc.scorer import Scorer

PRETRAINED = "ccnf"  # the last pretrain step the method needs


def pretrain_profile(prof: Profile, search: NB201SearchConfig) -> Profile:
    """``prof`` with its `cells` on NB-201, ``labelled`` of them scored, and the CCNF's training cells set (the
    benchmark's ``search.hierarchy``): every other section (families, G-VAE, CCNF) is the profile's own, so this
    is the pipeline on NB-201."""
    h = search.hierarchy
    cells = SampleCellsConfig(space="nb201", n=h.cells or NB201_CELLS, seed=search.seed,
                              shard_size=prof.cells.shard_size)  # fmt: skip
    return prof.model_copy(update={
        "cells": cells,
        "zc": prof.zc.model_copy(update={"n_labelled": h.labelled}),
        "ccnf": prof.ccnf.model_copy(update={"max_cells": h.ccnf_max_cells}),
    })  # fmt: skip


def pretrain(store: ArtifactStore, prof: Profile, search: NB201SearchConfig, device: str = "cpu",
             upto: str = PRETRAINED) -> dict[str, Ref]:  # fmt: skip
    """The NB-201 pretrain artifacts through ``upto`` (the CCNF), each stored (and found again) by its key."""
    return pipeline.build(store, pretrain_profile(prof, search), device, upto=upto)  # type: ignore[return-value]


def family_members(zc_ref: Ref, clusters_ref: Ref, proxy: str) -> pd.DataFrame:
    """The labelled cells (cell_id, family, ``proxy`` from the zero-cost record) the GMM clustered."""
    scores = zc_stage.load_scores(store_of(zc_ref), zc_ref)
    if proxy not in scores.column_names:
        raise ConfigError(f"the zc record {zc_ref.uri} has no {proxy!r} column; it has {scores.column_names}")
    ok = scores.filter(pc.equal(scores.column("status"), "ok")).select(["position", proxy]).to_pandas()
    assign = cluster_stage.load_assignments(store_of(clusters_ref), clusters_ref)
    members = assign.select(["position", "cell_id", "cluster"]).to_pandas().merge(ok, on="position")
    return members[np.isfinite(members[proxy])]


def family_medians(zc_ref: Ref, clusters_ref: Ref, proxy: str) -> dict[int, float]:
    """Median ``proxy`` of each family's labelled cells (zero-cost: no accuracy involved)."""
    members = family_members(zc_ref, clusters_ref, proxy)
    return {int(k): float(v) for k, v in members.groupby("cluster")[proxy].median().items()}


def family_accuracy(zc_ref: Ref, clusters_ref: Ref, proxy: str, test: pd.Series) -> dict[int, dict]:
    """Per family, after the fact: its labelled cells, their median ``proxy``, and the mean and best ``test``
    accuracy of their NB-201 architectures (a cell's accuracy: the mean over the architectures computing it)."""
    members = family_members(zc_ref, clusters_ref, proxy)
    members["acc"] = [float(test.iloc[list(nb201_indices(Cell.from_id(c)))].mean()) for c in members["cell_id"]]
    return {int(k): {"cells": len(g), f"median_{proxy}": float(g[proxy].median()),
                     "test_mean": float(g["acc"].mean()), "test_max": float(g["acc"].max())}
            for k, g in members.groupby("cluster")}  # fmt: skip


@dataclass(frozen=True)
class Condition:
    name: HierarchyCondition
    vector: torch.Tensor  # the transformed ZC condition the CCNF samples at
    detail: dict  # the family chosen and its median, or the reference cell


def best_cell_condition(sampler: CellSampler) -> Condition:
    """z(x) of NB-201's best CIFAR-10 cell, measured (one ZC evaluation) with the G-VAE's scoring config."""
    reference = nb201_cell(BEST_CIFAR10)
    row = Scorer(sampler.zc).score_cell(reference)
    if row["status"] != "ok":
        raise GenerationError(f"the NB-201 best cell did not score ({row['status']}): {row.get('error')}")
    raw = np.array([[row[c] for c in sampler.transform.components]], dtype=np.float64)
    return Condition("best_cell", sampler.condition_of([reference], raw)[0],
                     {"nb201": BEST_CIFAR10, "cell_id": reference.cell_id})  # fmt: skip


def conditions(refs: dict[str, Ref], sampler: CellSampler, cfg: NB201HierarchyConfig) -> dict[str, Condition]:
    out = {}
    for name in cfg.conditions:
        if name == "family":
            medians = family_medians(refs["zc"], refs["clusters"], cfg.proxy)
            k = max(medians, key=medians.get)
            out[name] = Condition(name, sampler.cluster_condition(k),
                                  {"family": k, f"median_{cfg.proxy}": medians[k], "medians": medians})  # fmt: skip
        else:
            out[name] = best_cell_condition(sampler)
    return out


def load(refs: dict[str, Ref], cfg: NB201HierarchyConfig, device: str = "cpu") -> tuple[CellSampler, dict]:
    """The pretrained sampler and every condition of ``cfg``."""
    ref = refs[PRETRAINED]
    sampler = ccnf_stage.load_sampler(store_of(ref), ref, device)
    return sampler, conditions(refs, sampler, cfg)
