"""Learning-curve extrapolation (dissertation Section 5.4): the final value of a curve from its first epochs.

``LcSVR`` (Baker et al. 2017, the dissertation's best): a support vector regressor from [architecture
features, the first E_few values of the curve] to the final value, trained on a curve table. ``wpm``: after
Domhan et al.'s weighted probabilistic model, parametric curve families fitted to the partial curve alone by
least squares, weighted by their fit error, with WPM's prior that a learning curve does not fall as a filter
on the extrapolations (no MCMC: a baseline, not a reproduction).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from nasgen.curves.config import LCEConfig
from nasgen.errors import ConfigError


def few_epochs(epochs: int, fraction: float) -> int:
    """E_few: the epochs a curve is observed for before it is extrapolated (at least 1, at most epochs - 1)."""
    if epochs < 2:
        raise ConfigError(f"a curve of {epochs} epoch cannot be extrapolated")
    return max(1, min(epochs - 1, round(fraction * epochs)))


@dataclass
class LcSVR:
    few: int
    epochs: int
    model: Any

    @classmethod
    def fit(cls, x: np.ndarray, curves: np.ndarray, cfg: LCEConfig) -> LcSVR:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        curves = np.asarray(curves, dtype=np.float64)
        if len(curves) < 3 or len(x) != len(curves):
            raise ConfigError(f"LcSVR needs at least 3 curves with one feature row each, got {len(curves)} curves "
                              f"and {len(x)} rows")  # fmt: skip
        few = few_epochs(curves.shape[1], cfg.few_fraction)
        model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                              SVR(C=cfg.svr_c, epsilon=cfg.svr_epsilon, gamma=cfg.svr_gamma))  # fmt: skip
        model.fit(np.hstack([np.asarray(x, dtype=np.float64), curves[:, :few]]), curves[:, -1])
        return cls(few, curves.shape[1], model)

    def predict(self, x: np.ndarray, partial: np.ndarray) -> np.ndarray:
        """Final values of the curves whose first ``few`` epochs are ``partial`` (n, >= few)."""
        partial = np.asarray(partial, dtype=np.float64)
        if partial.ndim != 2 or partial.shape[1] < self.few:
            raise ConfigError(f"LcSVR extrapolates from {self.few} epochs, got partial curves of shape {partial.shape}")
        return self.model.predict(np.hstack([np.asarray(x, dtype=np.float64), partial[:, : self.few]]))


# WPM's families (Domhan et al. 2015, Table 1) with at most three parameters, x = epoch >= 1: (f, initial guess)
FAMILIES: dict[str, tuple[Any, tuple[float, ...]]] = {
    "pow3": (lambda x, c, a, al: c - a * x ** (-al), (0.9, 0.5, 0.5)),
    "log_log_linear": (lambda x, a, b: np.log(np.maximum(a * np.log(x) + b, 1e-12)), (0.5, 2.0)),
    "exp3": (lambda x, c, a, b: c - np.exp(-a * x + b), (0.9, 0.5, -0.5)),
    "ilog2": (lambda x, c, a: c - a / np.log(x + 1), (0.9, 0.2)),
    "vapor_pressure": (lambda x, a, b, c: np.exp(a + b / x + c * np.log(x)), (-0.2, -0.5, 0.0)),
    "log_power": (lambda x, a, b, c: a / (1 + (x / math.e**b) ** c), (0.9, 0.0, -1.0)),
}
RISE_TOLERANCE = 0.02  # an extrapolation this far below the partial curve's best is a falling curve: dropped


def wpm_extrapolate(partial: np.ndarray, epochs: int, cfg: LCEConfig) -> float:
    """The final value (at epoch ``epochs``) of one curve from its first values ``partial``; the last observed
    value where no family fits."""
    y = np.asarray(partial, dtype=np.float64)
    x = np.arange(1, len(y) + 1, dtype=np.float64)
    preds, errors = [], []
    for f, p0 in FAMILIES.values():
        if len(p0) > len(y):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (OptimizeWarning, RuntimeWarning))
                params, _ = curve_fit(f, x, y, p0=p0, maxfev=cfg.wpm_max_evals)
                pred = float(f(np.float64(epochs), *params))
                err = float(np.mean((f(x, *params) - y) ** 2))
        except (RuntimeError, ValueError, FloatingPointError):
            continue
        if math.isfinite(pred) and 0.0 <= pred <= 1.0 and pred >= y.max() - RISE_TOLERANCE and math.isfinite(err):
            preds.append(pred)
            errors.append(err)
    if not preds:
        return float(y[-1])
    w = 1.0 / (np.asarray(errors) + 1e-8)
    return float(np.dot(w, preds) / w.sum())
