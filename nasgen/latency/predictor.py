"""Whole-network latency from the lookup table: the blocks' sum plus a learnt linear correction.

latency ~ a * (sum of the blocks' table latencies) + b * (number of blocks) + c, with a, b, c >= 0 fitted by least
squares of the *relative* error (weights 1/measured^2) on networks measured whole (as nn-Meter and HW-NAS-Bench
correct a kernel sum): a plain fit is ruled by the largest networks and misses sub-millisecond ones by 100%.
``b`` carries the per-block costs the table leaves out (the element-wise sums inside cells, Python dispatch),
``c`` the fixed cost of a call. Accuracy is stated the way nn-Meter states it: the share of networks within
+-10% of their measured latency, with the mean absolute percentage error and the Spearman of predicted against measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from nasgen.latency.table import LatencyTable
from nasgen.space.macro import MacroArch


@dataclass(frozen=True)
class LatencyPredictor:
    table: LatencyTable
    per_ms: float  # a
    per_block_ms: float  # b
    intercept_ms: float  # c

    def features(self, macro: MacroArch) -> tuple[float, int]:
        return self.table.network_sum(macro)

    def predict(self, macro: MacroArch) -> float:
        """Predicted latency (ms) of ``macro`` on the table's device and settings."""
        return self.corrected(*self.features(macro))

    def corrected(self, table_sum_ms: float, blocks: int) -> float:
        """The correction applied to a network's table sum and block count."""
        return self.per_ms * table_sum_ms + self.per_block_ms * blocks + self.intercept_ms

    def coefficients(self) -> dict[str, float]:
        return {"per_ms": self.per_ms, "per_block_ms": self.per_block_ms, "intercept_ms": self.intercept_ms}


def fit(table: LatencyTable, sums: np.ndarray, counts: np.ndarray, measured_ms: np.ndarray) -> LatencyPredictor:
    """The correction fitted on networks whose table sums, block counts and measured latencies are given."""
    from sklearn.linear_model import LinearRegression

    x = np.column_stack([sums, counts, np.ones(len(sums))]).astype(float)  # the constant as a third, >= 0, column
    y = np.asarray(measured_ms, dtype=float)
    reg = LinearRegression(positive=True, fit_intercept=False).fit(x, y, sample_weight=1.0 / y**2)
    return LatencyPredictor(table, *(float(v) for v in reg.coef_))


def accuracy(predicted_ms: np.ndarray, measured_ms: np.ndarray) -> dict[str, float]:
    """nn-Meter's headline metric (share within +-10%) with the MAPE, the largest error and the Spearman."""
    p, m = np.asarray(predicted_ms, dtype=float), np.asarray(measured_ms, dtype=float)
    rel = np.abs(p - m) / m
    return {"n": int(m.size), "within_10pct": float(np.mean(rel <= 0.10)), "within_5pct": float(np.mean(rel <= 0.05)),
            "mape": float(rel.mean()), "max_relative_error": float(rel.max()),
            "spearman": float(spearmanr(p, m).statistic)}  # fmt: skip
