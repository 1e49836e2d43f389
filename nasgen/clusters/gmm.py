"""Cell families: a Gaussian mixture on transformed ZC vectors, K chosen where BIC and AIC plateau (paper 4.1).

scikit-learn fits the mixtures (EM, k-means++ initialisation, ``n_init`` restarts). What is kept is plain
arrays (weights, means, covariances) plus the ZC transform: assignments and log-densities are computed here
from those arrays, so a stored model never needs unpickling and reads the same in any process.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

from nasgen.clusters.config import ClusterConfig
from nasgen.errors import ConfigError
from nasgen.zc.transform import ZCTransform


@dataclass(frozen=True)
class Selection:
    """Information criteria over K and the K they select."""

    ks: np.ndarray
    bic: np.ndarray
    aic: np.ndarray
    aicc: np.ndarray  # AIC with the small-sample correction: what the selection uses
    converged: np.ndarray
    k: int


@dataclass(frozen=True)
class ClusterModel:
    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, D), in transformed ZC space
    covariances: np.ndarray  # (K, D, D)
    transform: ZCTransform

    @property
    def k(self) -> int:
        return len(self.weights)

    def log_joint(self, t: np.ndarray) -> np.ndarray:
        """log pi_k + log N(t | mu_k, Sigma_k) for transformed vectors t (N, D) -> (N, K)."""
        t = np.atleast_2d(np.asarray(t, dtype=np.float64))
        if t.shape[1] != self.means.shape[1]:
            raise ConfigError(f"expected vectors of dimension {self.means.shape[1]}, got {t.shape[1]}")
        d = t.shape[1]
        out = np.empty((len(t), self.k))
        for j in range(self.k):
            chol = np.linalg.cholesky(self.covariances[j])
            sol = np.linalg.solve(chol, (t - self.means[j]).T)
            maha = (sol**2).sum(axis=0)
            logdet = 2.0 * np.log(np.diag(chol)).sum()
            out[:, j] = np.log(self.weights[j]) - 0.5 * (d * np.log(2 * np.pi) + logdet + maha)
        return out

    def predict(self, t: np.ndarray) -> np.ndarray:
        return self.log_joint(t).argmax(axis=1)

    def predict_proba(self, t: np.ndarray) -> np.ndarray:
        lj = self.log_joint(t)
        return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))

    def score_samples(self, t: np.ndarray) -> np.ndarray:
        """log p(t) under the mixture."""
        return logsumexp(self.log_joint(t), axis=1)

    def assign(self, z: np.ndarray) -> np.ndarray:
        """Clusters of raw ZC vectors (the transform is applied here)."""
        return self.predict(self.transform(z))


def _fit(t: np.ndarray, k: int, cfg: ClusterConfig) -> GaussianMixture:
    return GaussianMixture(
        n_components=k,
        covariance_type=cfg.covariance_type,
        n_init=cfg.n_init,
        max_iter=cfg.max_iter,
        reg_covar=cfg.reg_covar,
        random_state=cfg.seed,
    ).fit(t)


def plateau(values: np.ndarray, tol: float, min_delta: float = 0.0) -> int:
    """Index of the first value within max(tol * total improvement, min_delta) of the best value."""
    best = values.min()
    slack = max(tol * (values[0] - best), min_delta)
    return int(np.flatnonzero(values - best <= slack)[0])


def select(t: np.ndarray, cfg: ClusterConfig, progress=None) -> tuple[Selection, GaussianMixture]:
    """Fit K = k_min..k_max (capped at the number of points) and choose K where BIC and AIC(c) both plateau."""
    k_max = min(cfg.k_max, len(t))
    if k_max < cfg.k_min:
        raise ConfigError(f"{len(t)} ZC vectors cannot support k_min={cfg.k_min} clusters")
    ks = np.arange(cfg.k_min, k_max + 1)
    fits = []
    for k in ks:
        fits.append(_fit(t, int(k), cfg))
        if progress is not None:
            progress(1)
    bic = np.array([g.bic(t) for g in fits])
    aic = np.array([g.aic(t) for g in fits])
    aicc = np.array(
        [corrected_aic(a, n_parameters(int(k), t.shape[1], cfg.covariance_type), len(t)) for a, k in zip(aic, ks)]
    )
    i = max(plateau(c, cfg.plateau_tol, cfg.min_delta) for c in (bic, aicc))
    sel = Selection(ks, bic, aic, aicc, np.array([g.converged_ for g in fits]), int(ks[i]))
    return sel, fits[i]


def n_parameters(k: int, d: int, covariance_type: str) -> int:
    cov = d * (d + 1) // 2 if covariance_type == "full" else d
    return k * (d + cov) + k - 1


def corrected_aic(aic: float, p: int, n: int) -> float:
    """AICc = AIC + 2p(p+1)/(n-p-1): plain AIC overfits small samples (it picked K=7 on 150 points of one
    Gaussian); the correction vanishes for large n. A model with n <= p+1 is not supported (inf)."""
    return aic + 2.0 * p * (p + 1) / (n - p - 1) if n > p + 1 else float("inf")


def full_covariances(g: GaussianMixture) -> np.ndarray:
    if g.covariance_type == "full":
        return g.covariances_.copy()
    return np.stack([np.diag(c) for c in g.covariances_])  # diag


def fit_clusters(z: np.ndarray, cfg: ClusterConfig, progress=None) -> tuple[ClusterModel, Selection]:
    """Fit the transform and the mixture on raw ZC vectors (N, D) of ``cfg.components``."""
    if len(z) < 2:
        raise ConfigError(f"clustering needs at least 2 scored cells, got {len(z)}")
    transform = ZCTransform.fit(z, cfg.components, cfg.log_components)
    t = transform(z)
    sel, g = select(t, cfg, progress)
    model = ClusterModel(g.weights_.copy(), g.means_.copy(), full_covariances(g), transform)
    return model, sel


def selection_png(sel: Selection) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(sel.ks, sel.bic, "o-", label="BIC")
    ax.plot(sel.ks, sel.aic, "s-", label="AIC")
    finite = np.isfinite(sel.aicc)
    ax.plot(sel.ks[finite], sel.aicc[finite], "^:", label="AICc")
    ax.axvline(sel.k, color="k", ls="--", lw=1, label=f"chosen K = {sel.k}")
    ax.set_xlabel("number of clusters K")
    ax.set_ylabel("criterion (lower is better)")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
