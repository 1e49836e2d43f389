"""Truncated SVD of a matrix of learning curves: the compression c_k and decompression d_k of NAS-Bench-x11
(dissertation Section 5.3). Curves are rows; no centring (the dissertation's S as stacked), so d_k(c_k(y)) is
the projection of y onto the span of the top k right singular vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasgen.errors import ConfigError


@dataclass(frozen=True)
class CurveSVD:
    basis: np.ndarray  # (k, epochs): the top k right singular vectors
    singular_values: np.ndarray  # all of them, for the scree plot

    @classmethod
    def fit(cls, curves: np.ndarray, k: int) -> CurveSVD:
        s = np.asarray(curves, dtype=np.float64)
        if s.ndim != 2 or not np.isfinite(s).all():
            raise ConfigError(f"curves must be a finite (networks, epochs) matrix, got shape {s.shape}")
        if not 1 <= k <= min(s.shape):
            raise ConfigError(f"SVD components k={k} must be in 1..{min(s.shape)} for {s.shape[0]} curves of "
                              f"{s.shape[1]} epochs")  # fmt: skip
        _, sv, vt = np.linalg.svd(s, full_matrices=False)
        return cls(basis=vt[:k], singular_values=sv)

    @property
    def k(self) -> int:
        return self.basis.shape[0]

    def compress(self, curves: np.ndarray) -> np.ndarray:
        """c_k: (n, epochs) -> (n, k) coefficients."""
        return np.asarray(curves, dtype=np.float64) @ self.basis.T

    def decompress(self, coefficients: np.ndarray) -> np.ndarray:
        """d_k: (n, k) -> (n, epochs) curves."""
        return np.asarray(coefficients, dtype=np.float64) @ self.basis


def reconstruction_mse(train: np.ndarray, test: np.ndarray, ks: range | list[int]) -> dict[int, float]:
    """Per k: the mean squared error of d_k(c_k(y)) against held-out curves ``test`` (dissertation Fig. 5.3,
    middle: against seed means where there are several seeds)."""
    full = CurveSVD.fit(train, min(np.asarray(train).shape))
    out = {}
    for k in ks:
        svd = CurveSVD(full.basis[:k], full.singular_values)
        out[int(k)] = float(np.mean((svd.decompress(svd.compress(test)) - test) ** 2))
    return out
