"""Conditions with exact costs: params and FLOPs of alpha_x are analytic, so no cell needs them predicted.

The CCNF's condition for an unscored cell is the G-VAE predictor's q(f(x)) (paper Section 4.2), which stands
in for ZC scoring that costs seconds per cell. The size components of the ZC vector cost nothing to compute
exactly (``nasgen.space.cost``), so predicting them only adds q's error to the condition: with a few hundred
labelled cells q explains about half the variance. This replaces them by their true values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import reference_macro
from nasgen.zc.config import ZCConfig
from nasgen.zc.transform import ZCTransform

COST_COMPONENTS = ("params", "flops")


def exact_costs(cells: Sequence[Cell], cfg: ZCConfig) -> np.ndarray:
    """(N, 2) params and FLOPs of each cell's alpha_x at the ZC config's input shape and class count."""
    out = np.empty((len(cells), len(COST_COMPONENTS)), dtype=np.float64)
    for i, cell in enumerate(cells):
        c = macro_cost(reference_macro(cell, input_shape=cfg.input_shape, classes=cfg.classes))
        out[i] = c.params, c.flops
    return out


def with_exact_costs(cond: np.ndarray, cells: Sequence[Cell], transform: ZCTransform, cfg: ZCConfig) -> np.ndarray:
    """Transformed conditions ``cond`` (N, D) with their cost components replaced by the exact, transformed ones."""
    present = [c for c in COST_COMPONENTS if c in transform.components]
    if not present:
        return cond
    raw = transform.inverse(np.asarray(cond, dtype=np.float64))
    costs = exact_costs(cells, cfg)
    for c in present:
        raw[:, transform.components.index(c)] = costs[:, COST_COMPONENTS.index(c)]
    return transform(raw).astype(np.asarray(cond).dtype)
