"""Zero-cost proxies of NB-201 architectures on two networks, and their rank correlation with ground truth.

- ``alpha_x``: the architecture's GraphNet cell (``nasgen.nb201.cell``) in the paper's reference macro
  (Eq. 1) at the ZC config's input: what the pipeline scores. The 341 architectures without an
  input -> output path have no GraphNet cell and get no row.
- ``nb201``: the benchmark's own network (``nasgen.nb201.network``), every architecture included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, spearmanr
from torch import nn

from nasgen.nb201.arch import from_index, has_path, to_string
from nasgen.nb201.cell import nb201_cell
from nasgen.nb201.network import build_nb201
from nasgen.space.macro import reference_macro
from nasgen.space.network import build_network
from nasgen.zc.config import ZCConfig
from nasgen.zc.scorer import Scorer

NETWORKS: tuple[str, ...] = ("alpha_x", "nb201")


def builder(index: int, network: str, cfg: ZCConfig) -> Callable[[], nn.Module] | None:
    """A constructor of the network scoring architecture ``index``; None where alpha_x has no cell for it."""
    arch = from_index(index)
    if network == "nb201":
        return lambda: build_nb201(arch, classes=cfg.classes, in_channels=cfg.in_channels)
    if network != "alpha_x":
        raise ValueError(f"unknown NB-201 scoring network {network!r}; expected one of {NETWORKS}")
    if not has_path(arch):
        return None
    macro = reference_macro(nb201_cell(to_string(arch)), input_shape=cfg.input_shape, classes=cfg.classes)
    return lambda: build_network(macro)


def score_archs(indices: Iterable[int], network: str, cfg: ZCConfig, device: str = "cpu",
                progress: Callable[[int], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per scored architecture: index, the config's proxies, status, error, seconds."""
    scorer = Scorer(cfg, device)
    rows = []
    for i in indices:
        build = builder(int(i), network, cfg)
        if build is not None:
            rows.append({"index": int(i), **scorer.score_module(build, f"nb201:{int(i)}")})
        if progress is not None:
            progress(1)
    return pd.DataFrame(rows).set_index("index") if rows else pd.DataFrame()


def rank_correlations(values: pd.DataFrame, truth: pd.Series, proxies: Sequence[str]) -> dict[str, dict]:
    """Spearman rho and Kendall tau of each proxy with ``truth`` over the rows where both are finite."""
    out = {}
    for p in proxies:
        if p not in values:
            continue
        x = values[p].astype(float)
        if "status" in values:
            x = x.where(values["status"] == "ok")
        y = truth.reindex(x.index).astype(float)
        ok = np.isfinite(x.to_numpy()) & np.isfinite(y.to_numpy())
        if ok.sum() < 3:
            out[p] = {"spearman": float("nan"), "kendall": float("nan"), "n": int(ok.sum())}
            continue
        xs, ys = x.to_numpy()[ok], y.to_numpy()[ok]
        out[p] = {"spearman": float(spearmanr(xs, ys).statistic), "kendall": float(kendalltau(xs, ys).statistic),
                  "n": int(ok.sum())}  # fmt: skip
    return out


class ProxyValues:
    """Zero-cost values of NB-201 architectures as a search asks for them: the stored sample's rows first, the
    scorer (memoised) for the others. -inf where the network cannot be built (alpha_x and the 341
    architectures without an input -> output path) or the proxy failed, so a search never picks them."""

    def __init__(self, network: str, cfg: ZCConfig, stored: pd.DataFrame | None = None, device: str = "cpu",
                 proxies: Sequence[str] | None = None):  # fmt: skip
        """``proxies``: what an on-demand score computes (default: the config's); each proxy's value does not
        depend on which others are computed with it (same seeded weights and batch)."""
        self.network, self.device = network, device
        self.cfg = cfg if proxies is None else cfg.model_copy(update={"proxies": tuple(proxies)})
        self._rows: dict[int, dict] = {}
        if stored is not None and len(stored):
            self._rows.update({int(i): row for i, row in stored.to_dict(orient="index").items()})
        self._scorer: Scorer | None = None
        self.computed = 0  # architectures scored on demand (not found in the stored sample)

    def row(self, index: int) -> dict:
        if index not in self._rows:
            build = builder(index, self.network, self.cfg)
            if build is None:
                self._rows[index] = {"status": "unbuildable"}
            else:
                self._scorer = self._scorer or Scorer(self.cfg, self.device)
                self._rows[index] = self._scorer.score_module(build, f"nb201:{index}")
                self.computed += 1
        return self._rows[index]

    def value(self, index: int, proxy: str) -> float:
        row = self.row(int(index))
        v = row.get(proxy)
        if row.get("status", "ok") != "ok" or v is None or not np.isfinite(float(v)):
            return float("-inf")
        return float(v)
