"""The NAS-Bench-x11 surrogate (dissertation Section 5.3) of our own curves: a mu-model from an architecture's
features to the SVD coefficients of its mean learning curve, and a noise model that turns the predicted mean
into noisy curves like the ones training draws.

mu-models: LightGBM, a chain of one regressor per coefficient (the dissertation's best; a chain as in the
authors' code); an MLP; a Gaussian process (scikit-learn). Noise models on the residuals y - d_k(c_k(y)) of the
training curves: ``std`` (one standard deviation per epoch for every architecture), ``gkde`` (a Gaussian kernel
density of the residual vectors, scipy), ``window`` (per architecture, the residuals' standard deviation in a
window of epochs, predicted from the features and the predicted coefficients; k nearest neighbours stand in for
the dissertation's unnamed model).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import gaussian_kde
from sklearn.exceptions import ConvergenceWarning

from nasgen.curves.config import SurrogateConfig
from nasgen.curves.svd import CurveSVD
from nasgen.errors import ConfigError

WINDOW_NEIGHBOURS = 5  # of the window noise model's nearest-neighbour regressor
MIN_STD = 1e-6  # a noise scale floor: a constant residual column would make the Gaussians degenerate
# residuals lie in the complement of the k components (a singular covariance): jittered by this share of their
# scale before the KDE, as NAS-Bench-x11's code jitters them (1e-8 absolute there)
KDE_JITTER = 1e-6


def _mu_model(cfg: SurrogateConfig, d: int) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if cfg.model == "lgb":
        from lightgbm import LGBMRegressor
        from sklearn.multioutput import RegressorChain

        return RegressorChain(LGBMRegressor(**cfg.lgb.model_dump(), subsample_freq=1, random_state=cfg.seed,
                                                  verbose=-1, n_jobs=1))  # fmt: skip
    if cfg.model == "mlp":
        from sklearn.neural_network import MLPRegressor

        net = MLPRegressor(hidden_layer_sizes=cfg.mlp.hidden, alpha=cfg.mlp.alpha, max_iter=cfg.mlp.max_iter,
                           random_state=cfg.seed)  # fmt: skip
        reg = TransformedTargetRegressor(net, transformer=StandardScaler())
    else:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel() * RBF(length_scale=np.ones(d)) + WhiteKernel()
        reg = GaussianProcessRegressor(kernel, normalize_y=True, random_state=cfg.seed)
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), reg)


def window_std(residuals: np.ndarray, window: int) -> np.ndarray:
    """Per curve and epoch: the standard deviation of the residuals in a window of ``window`` epochs centred on
    it (shifted inside the curve at its ends), the target of the ``window`` noise model."""
    n, e = residuals.shape
    out = np.empty((n, e))
    half = window // 2
    for j in range(e):
        lo = min(max(0, j - half), max(0, e - window))  # the window slides in at the curve's ends
        out[:, j] = residuals[:, lo : lo + window].std(axis=1, ddof=1)
    return np.maximum(out, MIN_STD)


@dataclass
class Surrogate:
    cfg: SurrogateConfig
    svd: CurveSVD
    mu: Any
    sigma: np.ndarray | None = None  # std: per epoch
    kde: gaussian_kde | None = None  # gkde
    window_model: Any = None  # window: features + coefficients -> log std per epoch

    def coefficients(self, x: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # LightGBM 4.6 names its columns; scikit-learn then warns on arrays
            warnings.filterwarnings("ignore", "X does not have valid feature names", UserWarning)
            return np.asarray(self.mu.predict(np.asarray(x, dtype=np.float64))).reshape(len(x), self.svd.k)

    def mean(self, x: np.ndarray) -> np.ndarray:
        """The predicted mean curves (n, epochs)."""
        return self.svd.decompress(self.coefficients(x))

    def sample(self, x: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
        """``draws`` noisy curves per architecture: (draws, n, epochs)."""
        mean = self.mean(x)
        n, e = mean.shape
        if self.cfg.noise == "std":
            noise = rng.standard_normal((draws, n, e)) * self.sigma
        elif self.cfg.noise == "gkde":
            flat = self.kde.resample(draws * n, seed=rng)  # (epochs, draws * n)
            noise = flat.T.reshape(draws, n, e)
        else:
            std = np.exp(self.window_model.predict(np.hstack([_impute(x), self.coefficients(x)])))
            noise = rng.standard_normal((draws, n, e)) * std
        return mean + noise


def _impute(x: np.ndarray) -> np.ndarray:
    """NaN (a proxy that failed) as 0 for the nearest-neighbour noise model, after the features' own scale."""
    return np.nan_to_num(np.asarray(x, dtype=np.float64))


def fit(x: np.ndarray, curves: np.ndarray, cfg: SurrogateConfig) -> Surrogate:
    """Fit the SVD, the mu-model and the noise model on training architectures' features ``x`` (n, d) and their
    curves (n, epochs): one row per trained run (several seeds of one architecture are several rows)."""
    x, curves = np.asarray(x, dtype=np.float64), np.asarray(curves, dtype=np.float64)
    if len(x) != len(curves):
        raise ConfigError(f"{len(x)} feature rows for {len(curves)} curves")
    if len(curves) < max(cfg.components + 1, 3):
        raise ConfigError(f"a curve surrogate with k={cfg.components} needs more than {cfg.components} curves, "
                          f"got {len(curves)}")  # fmt: skip
    svd = CurveSVD.fit(curves, cfg.components)
    coefs = svd.compress(curves)
    with warnings.catch_warnings():  # an ARD length scale at its bound: a feature the GP found irrelevant
        warnings.filterwarnings("ignore", "The optimal value found for dimension", ConvergenceWarning)
        mu = _mu_model(cfg, x.shape[1]).fit(x, coefs)
    residuals = curves - svd.decompress(coefs)
    s = Surrogate(cfg, svd, mu)
    if cfg.noise == "std":
        s.sigma = np.maximum(np.sqrt((residuals**2).sum(axis=0) / (len(residuals) - 1)), MIN_STD)
    elif cfg.noise == "gkde":
        if len(residuals) <= residuals.shape[1]:
            raise ConfigError(f"the gkde noise model needs more curves ({len(residuals)}) than epochs "
                              f"({residuals.shape[1]}); use curves.noise=std")  # fmt: skip
        jitter = np.random.default_rng(cfg.seed).standard_normal(residuals.shape) * KDE_JITTER * residuals.std()
        s.kde = gaussian_kde((residuals + jitter).T)
    else:
        from sklearn.neighbors import KNeighborsRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        knn = KNeighborsRegressor(n_neighbors=min(WINDOW_NEIGHBOURS, len(x)), weights="distance")
        inputs = np.hstack([_impute(x), coefs])
        s.window_model = make_pipeline(StandardScaler(), knn).fit(inputs, np.log(window_std(residuals, cfg.window)))
    return s
