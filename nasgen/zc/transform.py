"""The fixed transform of ZC vectors every downstream model sees (DESIGN section 4).

log10 of the size-like components (params and FLOPs span orders of magnitude), then standardisation with
statistics fitted once on the labelled cells and stored: the GMM, the G-VAE's triplet distance and predictor
targets, and the CCNF condition all share one transform, so "one unit" means the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from nasgen.errors import ConfigError


@dataclass(frozen=True)
class ZCTransform:
    components: tuple[str, ...]
    log_components: tuple[str, ...]
    mean: np.ndarray  # (D,) of the (logged) components
    std: np.ndarray  # (D,)

    @staticmethod
    def raw(table: pa.Table, components: tuple[str, ...]) -> np.ndarray:
        """(N, D) float64 matrix of ``components`` from a zc table."""
        missing = [c for c in components if c not in table.column_names]
        if missing:
            raise ConfigError(f"ZC table has no column(s) {missing}; it has {table.column_names}")
        return np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in components])

    @classmethod
    def fit(cls, z: np.ndarray, components: tuple[str, ...], log_components: tuple[str, ...]) -> ZCTransform:
        unknown = set(log_components) - set(components)
        if unknown:
            raise ConfigError(f"log_components {sorted(unknown)} are not among the components {components}")
        logged = _log(z, components, log_components)
        std = logged.std(axis=0)
        if len(z) < 2 or np.any(std == 0) or not np.all(np.isfinite(std)):
            raise ConfigError(f"cannot standardise {len(z)} ZC vectors: a component is constant or not finite")
        return cls(tuple(components), tuple(log_components), logged.mean(axis=0), std)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return (_log(z, self.components, self.log_components) - self.mean) / self.std

    def inverse(self, t: np.ndarray) -> np.ndarray:
        x = np.asarray(t, dtype=np.float64) * self.std + self.mean
        for i, c in enumerate(self.components):
            if c in self.log_components:
                x[..., i] = 10.0 ** x[..., i]
        return x

    def to_json(self) -> dict:
        return {
            "components": list(self.components),
            "log_components": list(self.log_components),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }

    @classmethod
    def from_json(cls, d: dict) -> ZCTransform:
        return cls(tuple(d["components"]), tuple(d["log_components"]), np.asarray(d["mean"]), np.asarray(d["std"]))


def _log(z: np.ndarray, components: tuple[str, ...], log_components: tuple[str, ...]) -> np.ndarray:
    z = np.array(z, dtype=np.float64, copy=True)
    if z.ndim != 2 or z.shape[1] != len(components):
        raise ConfigError(f"expected ZC vectors of shape (N, {len(components)}), got {z.shape}")
    for i, c in enumerate(components):
        if c in log_components:
            if np.any(z[:, i] <= 0):
                raise ConfigError(f"component {c} must be positive to take its log")
            z[:, i] = np.log10(z[:, i])
    return z
