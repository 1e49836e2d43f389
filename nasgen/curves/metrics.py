"""The surrogate's metrics exactly as the dissertation defines them (Section 5.3): R^2 and Kendall tau of the
predicted mean curves, at the final epoch and averaged over epochs, and the KL divergence between the true and
the predicted distribution of noisy curves, both taken as Gaussians with diagonal covariance."""

from __future__ import annotations

import numpy as np

from nasgen.errors import ConfigError


def kendall_pq(pred: np.ndarray, true: np.ndarray) -> float:
    """KT = (P - Q) / (P + Q): P concordant, Q discordant pairs; pairs tied in either are neither."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    dp = np.sign(p[:, None] - p[None, :])
    dt = np.sign(t[:, None] - t[None, :])
    prod = np.triu(dp * dt, k=1)
    conc, disc = int((prod > 0).sum()), int((prod < 0).sum())
    return (conc - disc) / (conc + disc) if conc + disc else float("nan")


def r2(pred: np.ndarray, true: np.ndarray) -> float:
    """Coefficient of determination of ``pred`` for ``true`` (1 - SS_res / SS_tot)."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    tot = float(((t - t.mean()) ** 2).sum())
    return 1.0 - float(((t - p) ** 2).sum()) / tot if tot > 0 else float("nan")


def mean_curve_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Average and final-epoch R^2 and KT of predicted mean curves (n, epochs) against the true ones."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 2 or len(pred) < 2:
        raise ConfigError(f"metrics need two (n >= 2, epochs) matrices of one shape, got {pred.shape}, {true.shape}")
    r2s = [r2(pred[:, j], true[:, j]) for j in range(true.shape[1])]
    kts = [kendall_pq(pred[:, j], true[:, j]) for j in range(true.shape[1])]
    return {"r2_avg": float(np.nanmean(r2s)), "r2_final": r2s[-1], "kt_avg": float(np.nanmean(kts)),
            "kt_final": kts[-1]}  # fmt: skip


def kl_divergence(true_curves: np.ndarray, pred_curves: np.ndarray) -> dict[str, float]:
    """D_KL(y || y_hat) of one architecture: ``true_curves`` (seeds, epochs) and ``pred_curves`` (draws, epochs)
    as Gaussians of their sample means and per-epoch sample variances. ``avg`` is the dissertation's formula
    (1 / (2 E_max) [log|S_hat|/|S| - E_max + (mu - mu_hat)^T S_hat^-1 (mu - mu_hat) + tr(S_hat^-1 S)]), the mean
    of the per-epoch KLs; ``final`` the last epoch's."""
    t, p = np.asarray(true_curves, dtype=np.float64), np.asarray(pred_curves, dtype=np.float64)
    if len(t) < 2 or len(p) < 2:
        raise ConfigError("a KL divergence needs at least two true and two predicted curves of the architecture")
    vt, vp = t.var(axis=0, ddof=1), p.var(axis=0, ddof=1)
    if (vt <= 0).any() or (vp <= 0).any():
        raise ConfigError("a KL divergence needs a positive variance at every epoch")
    per_epoch = 0.5 * (np.log(vp / vt) - 1.0 + (t.mean(axis=0) - p.mean(axis=0)) ** 2 / vp + vt / vp)
    return {"avg": float(per_epoch.mean()), "final": float(per_epoch[-1])}
