"""Encodings compared as predictors on NAS-Bench-201 (issue 21, item 4; dissertation ch. 4's encoding study):
each encoding feeds the same GP and DNGO, trained on n random architectures' validation accuracy, and is
scored by Kendall τ and Spearman ρ of predicted against true validation accuracy on a fixed held-out sample.

Encodings: ``adjacency`` (NB-201's adjacency is the same for every cell, so its one-hot encoding is the 6 x 5
op one-hot), ``arch2vec`` (stage `arch2vec`), ``cate`` (stage `cate`), ``gvae`` (the G-VAE of the hierarchical
method on NB-201, nasgen.stages.nb201_hierarchy: the pipeline through `gvae` on NB-201's cells in GraphNet form; an
architecture's latent mean is its cell's, and the 341 architectures without an input -> output path, which
have no cell, get the zero vector and a last coordinate 1 that every other row has 0); all are pre-trained
at the profile's config and cached in the store.

On GraphNet (``--space graphnet``) the target is log10 T-CET of alpha_x of the pipeline's ZC-scored cells
(the profile's `zc` artifact; 200 at demo), predicted from n of them and scored on the rest. Encodings:
``adjacency`` (the 28 upper-triangle adjacency bits and a one-hot of each of the 8 slots' 30 node tokens),
``arch2vec`` (stage `arch2vec_graphnet`), ``gvae`` (the pipeline's G-VAE latent means), ``cate`` (stage
`cate_graphnet`, pairs by alpha_x params).

Pairing (``--space graphnet-pairing``): CATE pre-trained on the same GraphNet cells — the first ``labelled``
cells, all ZC-scored (the profile's `zc` with ``n_labelled = labelled``) — once with pairs by alpha_x params
(the dissertation's kind of attribute) and once with pairs by the L2 distance of their standardised ZC vectors
(our metric space, ``zc_delta``); both encodings predict log10 T-CET of those cells as above (train sizes 50,
100, 200, the rest held out). The ZC-paired CATE saw the cells' ZC vectors (not T-CET) through its pairs.

Run: ``nasgen bench encodings [--space nb201|graphnet|graphnet-pairing] [--profile demo] [--store DIR]
[--threads N] --json`` prints one line of JSON.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from benchmarks.config import bench_profile
from benchmarks.machine import machine_info
from nasgen.cate.graphs import GRAPHNET_VOCAB, graphnet_tokens
from nasgen.config import Profile, get_profile
from nasgen.errors import ConfigError
from nasgen.gvae.training import encode as gvae_encode
from nasgen.nb201.arch import EDGES, OPS, SPACE_SIZE, all_archs, has_path, to_string
from nasgen.nb201.cell import nb201_cell
from nasgen.nb201.data import accuracy_table
from nasgen.search.config import DNGOConfig
from nasgen.search.dngo import DNGO
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import reference_macro
from nasgen.stages import arch2vec as arch2vec_stage
from nasgen.stages import cate as cate_stage
from nasgen.stages import cells as cell_stage
from nasgen.stages import gvae as gvae_stage
from nasgen.stages import nb201_hierarchy as hierarchy
from nasgen.stages.clusters import scored_cells
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore

TRAIN_SIZES = (50, 100, 200)
TEST_SIZE = 2_000


def adjacency_onehot() -> np.ndarray:
    out = np.zeros((SPACE_SIZE, len(EDGES) * len(OPS)), dtype=np.float32)
    for i, arch in enumerate(all_archs()):
        for e, op in enumerate(arch):
            out[i, e * len(OPS) + OPS.index(op)] = 1.0
    return out


def _standardise(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (x - ref.mean(0)) / (ref.std(0) + 1e-8)


def gp_predict(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, seed: int) -> np.ndarray:
    kernel = ConstantKernel() * RBF(np.ones(x_tr.shape[1])) + WhiteKernel()
    gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=0, random_state=seed)
    gp.fit(_standardise(x_tr, x_tr), y_tr)
    return gp.predict(_standardise(x_te, x_tr))


def dngo_predict(x_tr, y_tr, x_te, seed: int, cfg: DNGOConfig) -> np.ndarray:
    return DNGO(cfg, seed).fit(x_tr, y_tr).predict(x_te)[0]


def run(profile: str | Profile = "demo", store: str | None = None, threads: int = 1, seeds: int = 10,
        train_sizes: tuple[int, ...] = TRAIN_SIZES, test_size: int = TEST_SIZE) -> dict:  # fmt: skip
    torch.set_num_threads(threads)
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    st = ArtifactStore(store)
    t0 = time.perf_counter()
    a2v_ref = run_stage("arch2vec", st, cfg=prof.arch2vec)
    cate_ref = run_stage("cate", st, cfg=prof.cate)
    gvae_ref = hierarchy.pretrain(st, prof, bench_profile(prof.name).nb201_search, upto="gvae")["gvae"]
    pretrain_seconds = time.perf_counter() - t0
    encodings = {"adjacency": adjacency_onehot(), "arch2vec": arch2vec_stage.embeddings(a2v_ref).numpy(),
                 "cate": cate_stage.embeddings(cate_ref).numpy(),
                 "gvae": nb201_gvae_encoding(st, gvae_ref)}  # fmt: skip
    y = accuracy_table()["valid_top1"].to_numpy()
    rng = np.random.default_rng(0)
    test = rng.choice(SPACE_SIZE, size=test_size, replace=False)
    rest = np.setdiff1d(np.arange(SPACE_SIZE), test)
    rows = compare(encodings, y, test, rest, train_sizes, seeds)
    params = accuracy_table()["params_m"].to_numpy()[test]
    reference = {"params": rank_agreement(params, y[test])}  # no fit: the ranking params alone give
    return {"benchmark": "encodings-nb201", "reference": reference, "machine": machine_info(),
            "torch_threads": threads,
            "profile": prof.name, "seeds": seeds, "test_size": test_size, "target": "NB201 final validation top-1",
            "pretrain_seconds": pretrain_seconds, "seconds": time.perf_counter() - t0,
            "arch2vec": {"uri": a2v_ref.uri, **{k: metrics(a2v_ref)[k] for k in ("reconstruction", "validity")}},
            "cate": {"uri": cate_ref.uri, "config": prof.cate.model_dump(mode="json"),
                     **{k: metrics(cate_ref)[k] for k in ("masked_accuracy", "train_pairs", "seconds")}},
            "gvae": {"uri": gvae_ref.uri, **{k: metrics(gvae_ref).get(k) for k in GVAE_METRICS}},
            "results": rows}  # fmt: skip


GVAE_METRICS = ("reconstruction", "validity", "uniqueness", "zc_preservation")


def nb201_gvae_encoding(st: ArtifactStore, gvae_ref) -> np.ndarray:
    """(15,625, latent + 1): each architecture's cell's G-VAE latent mean, and a no-path indicator."""
    model, _ = gvae_stage.load_model(st, gvae_ref)
    archs = list(all_archs())
    rows = [i for i, a in enumerate(archs) if has_path(a)]
    with torch.no_grad():
        z = torch.cat([gvae_encode(model, [nb201_cell(to_string(archs[i])) for i in rows[j : j + 1024]])
                       for j in range(0, len(rows), 1024)]).cpu().numpy()  # fmt: skip
    out = np.zeros((SPACE_SIZE, z.shape[1] + 1), dtype=np.float32)
    out[:, -1] = 1.0
    out[rows, :-1], out[rows, -1] = z, 0.0
    return out


def graphnet_onehot(cells) -> np.ndarray:
    tokens, adj = graphnet_tokens(cells)
    iu = np.triu_indices(adj.shape[1], 1)
    onehot = np.eye(GRAPHNET_VOCAB.size, dtype=np.float32)[tokens].reshape(len(cells), -1)
    return np.hstack([adj[:, iu[0], iu[1]].astype(np.float32), onehot])


def compare(encodings: dict[str, np.ndarray], y: np.ndarray, test: np.ndarray, pool: np.ndarray,
            train_sizes: tuple[int, ...], seeds: int) -> dict:  # fmt: skip
    """Kendall τ and Spearman ρ on ``test`` of GP and DNGO fit on n random rows of ``pool``, per encoding."""
    dngo_cfg = DNGOConfig(normalize_output=True)
    predictors = {"gp": gp_predict, "dngo": lambda a, b, c, s: dngo_predict(a, b, c, s, dngo_cfg)}
    rows: dict = {}
    for name, x in encodings.items():
        for pname, predict in predictors.items():
            for n in train_sizes:
                taus, rhos = [], []
                for s in range(seeds):
                    tr = np.random.default_rng([s, n]).choice(pool, size=n, replace=False)
                    pred = predict(x[tr], y[tr], x[test], s)
                    taus.append(kendalltau(pred, y[test]).statistic)
                    rhos.append(spearmanr(pred, y[test]).statistic)
                rows[f"{name}/{pname}/{n}"] = {"encoding": name, "predictor": pname, "train": n,
                    "kendall_tau": _stats(taus), "spearman": _stats(rhos),
                    "constant_predictions": int(np.isnan(taus).sum())}  # fmt: skip
    return rows


def alpha_x_params(cells) -> np.ndarray:
    """Params of each cell's alpha_x (analytic): the no-fit reference ranking of the GraphNet comparisons."""
    return np.array([macro_cost(reference_macro(c)).params for c in cells], dtype=float)


def rank_agreement(x: np.ndarray, y: np.ndarray) -> dict:
    return {"kendall_tau": float(kendalltau(x, y).statistic), "spearman": float(spearmanr(x, y).statistic)}


def _stats(values: list[float]) -> dict:
    """Mean ± std over the draws whose predictions were not constant (a rank correlation is undefined there)."""
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    return {"mean": float(a.mean()) if a.size else float("nan"), "std": float(a.std()) if a.size else float("nan")}


def run_graphnet(profile: str | Profile = "demo", store: str | None = None, threads: int = 1, seeds: int = 10,
                 train_sizes: tuple[int, ...] = (50, 100)) -> dict:  # fmt: skip
    torch.set_num_threads(threads)
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    st = ArtifactStore(store)
    t0 = time.perf_counter()
    refs = build(st, prof, upto="gvae")
    a2v_ref = run_stage("arch2vec_graphnet", st, cells_ref=refs["cells"], cfg=prof.arch2vec)
    cate_ref = run_stage("cate_graphnet", st, cells_ref=refs["cells"], cfg=prof.cate)
    pretrain_seconds = time.perf_counter() - t0
    scored = scored_cells(refs["zc"])
    positions = scored.column("position").to_numpy().astype(np.int64)
    tcet = scored.column("tcet").to_numpy().astype(float)
    keep = (positions < min(a2v_ref.rows, cate_ref.rows)) & np.isfinite(tcet) & (tcet > 0)
    positions, y = positions[keep], np.log10(tcet[keep])
    codes = cell_stage.load_cells(st, refs["cells"]).column("code").to_numpy()
    cells = [Cell.from_code(int(codes[p])) for p in positions]
    gvae, _ = gvae_stage.load_model(st, refs["gvae"])
    encodings = {"adjacency": graphnet_onehot(cells),
                 "arch2vec": arch2vec_stage.embeddings(a2v_ref).numpy()[positions],
                 "gvae": gvae_encode(gvae, cells).detach().cpu().numpy(),
                 "cate": cate_stage.embeddings(cate_ref).numpy()[positions]}  # fmt: skip
    n = len(y)
    if n <= max(train_sizes):
        raise ConfigError(f"{n} scored cells: too few for training sizes {train_sizes} and a test split")
    order = np.random.default_rng(0).permutation(n)
    test, pool = order[: n - max(train_sizes)], order[n - max(train_sizes) :]
    rows = compare(encodings, y, test, pool, train_sizes, seeds)
    reference = {"params": rank_agreement(alpha_x_params([cells[i] for i in test]), y[test])}  # no fit
    return {"benchmark": "encodings-graphnet", "reference": reference, "machine": machine_info(),
            "torch_threads": threads,
            "profile": prof.name, "seeds": seeds, "scored_cells": n, "test_size": len(test),
            "target": "log10 T-CET of alpha_x (the zc artifact's)", "pretrain_seconds": pretrain_seconds,
            "seconds": time.perf_counter() - t0,
            "arch2vec": {"uri": a2v_ref.uri, **{k: metrics(a2v_ref)[k] for k in ("reconstruction", "edge_accuracy")}},
            "cate": {"uri": cate_ref.uri, **{k: metrics(cate_ref)[k] for k in ("masked_accuracy", "train_pairs")}},
            "gvae_uri": refs["gvae"].uri, "results": rows}  # fmt: skip


def run_pairing(profile: str | Profile = "demo", store: str | None = None, threads: int = 1, seeds: int = 10,
                labelled: int = 1_000, zc_delta: float = 0.5,
                train_sizes: tuple[int, ...] = TRAIN_SIZES) -> dict:  # fmt: skip
    torch.set_num_threads(threads)
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    prof = prof.model_copy(update={"zc": prof.zc.model_copy(update={"n_labelled": labelled})})
    st = ArtifactStore(store)
    t0 = time.perf_counter()
    refs = build(st, prof, upto="zc")
    scored = scored_cells(refs["zc"])
    positions = scored.column("position").to_numpy().astype(np.int64)
    if (positions >= labelled).any():
        raise ConfigError(f"the zc artifact {refs['zc'].uri} scored cells beyond the first {labelled}")
    by = {
        "params": prof.cate.model_copy(update={"pair_by": "params", "max_cells": labelled}),
        "zc": prof.cate.model_copy(update={"pair_by": "zc", "pair_delta": zc_delta, "max_cells": labelled}),
    }
    cate_refs = {k: run_stage("cate_graphnet", st, cells_ref=refs["cells"], cfg=cfg,
                              **({"zc_ref": refs["zc"]} if k == "zc" else {})) for k, cfg in by.items()}  # fmt: skip
    pretrain_seconds = time.perf_counter() - t0
    tcet = scored.column("tcet").to_numpy().astype(float)
    # the params-paired table has one row per cell position, the ZC-paired one per scored cell
    encodings = {"cate_params": cate_stage.embeddings(cate_refs["params"]).numpy()[positions],
                 "cate_zc": cate_stage.embeddings(cate_refs["zc"]).numpy()}  # fmt: skip
    keep = np.isfinite(tcet) & (tcet > 0)
    y = np.log10(np.where(keep, tcet, 1.0))
    idx = np.flatnonzero(keep)
    perm = np.random.default_rng(0).permutation(idx)
    test, pool = perm[: len(perm) - max(train_sizes)], perm[len(perm) - max(train_sizes) :]
    rows = compare(encodings, y, test, pool, train_sizes, seeds)
    cells = cell_stage.first_cells(refs["cells"], labelled)
    reference = {"params": rank_agreement(alpha_x_params([cells[positions[i]] for i in test]), y[test])}  # no fit
    keys = ("masked_accuracy", "test_loss", "train_pairs", "test_pairs", "seconds")
    return {"benchmark": "encodings-graphnet-pairing", "reference": reference, "machine": machine_info(),
            "torch_threads": threads,
            "profile": prof.name, "seeds": seeds, "labelled": labelled, "scored_cells": int(keep.sum()),
            "test_size": len(test), "target": "log10 T-CET of alpha_x (the zc artifact's)",
            "pretrain_seconds": pretrain_seconds,
            "seconds": time.perf_counter() - t0, "zc_uri": refs["zc"].uri,
            "cate": {k: {"uri": r.uri, "pair_by": by[k].pair_by, "pair_delta": by[k].pair_delta,
                         **{m: metrics(r)[m] for m in keys}} for k, r in cate_refs.items()},
            "results": rows}  # fmt: skip


SPACES = {"nb201": run, "graphnet": run_graphnet, "graphnet-pairing": run_pairing}


def run_space(space: str = "nb201", profile: str = "demo", store: str | None = None, threads: int = 1,
              seeds: int = 10) -> dict:  # fmt: skip
    """`nasgen bench encodings`: the comparison of ``space`` (nb201, graphnet, graphnet-pairing)."""
    if space not in SPACES:
        raise ConfigError(f"space {space!r}: one of {', '.join(SPACES)}")
    return SPACES[space](profile, store, threads, seeds)
