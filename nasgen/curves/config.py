"""Settings of the curve surrogate (NAS-Bench-x11) and of learning-curve extrapolation, every number here."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from nasgen.frozen import Frozen
from nasgen.search.config import REAConfig

CurveModel = Literal["lgb", "mlp", "gp"]
NoiseModel = Literal["std", "window", "gkde"]


class LGBConfig(Frozen):
    """LightGBM per SVD coefficient (the dissertation's best mu-model), sized for a few hundred curves."""

    n_estimators: int = Field(300, ge=1)
    learning_rate: float = Field(0.05, gt=0)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(5, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)


class MLPConfig(Frozen):
    hidden: tuple[int, ...] = (64, 64)
    alpha: float = Field(1e-3, ge=0)  # L2 penalty
    max_iter: int = Field(3_000, ge=1)


class SurrogateConfig(Frozen):
    """SVD-compressed curves, a mu-model from [encoding, ZC record] to the ``components`` coefficients and a
    noise model on the residuals (dissertation Section 5.3; k = 6 there, 98-epoch curves)."""

    SECTION: ClassVar[str] = "surrogate"

    metric: str = "val_top1"  # the curve column modelled
    components: int = Field(6, ge=1)  # k of the truncated SVD
    model: CurveModel = "lgb"
    noise: NoiseModel = "gkde"
    window: int = Field(3, ge=2)  # epochs of the sliding-window noise model (10 of 98 there; scaled to our curves)
    zc: tuple[str, ...] = ("tcet", "meco_opt", "naswot", "synflow", "az_trainability")  # ZC columns used as input
    test_fraction: float = Field(0.2, gt=0, lt=1)  # held-out architectures (all their seeds)
    lgb: LGBConfig = LGBConfig()
    mlp: MLPConfig = MLPConfig()
    seed: int = 0


class LCEConfig(Frozen):
    """Learning-curve extrapolation (dissertation Section 5.4): from the first ``few_fraction`` of a curve to its
    final value. ``svr``: LcSVR (an SVR on [encoding, partial curve, ZC record]); ``wpm``: a weighted fit of
    parametric curve families to the partial curve alone (after Domhan et al.'s WPM, least squares, no MCMC)."""

    SECTION: ClassVar[str] = "lce"

    method: Literal["svr", "wpm"] = "svr"
    few_fraction: float = Field(0.2, gt=0, lt=1)
    zc: tuple[str, ...] = ("tcet", "meco_opt", "naswot", "synflow", "az_trainability")
    svr_c: float = Field(10.0, gt=0)
    svr_epsilon: float = Field(0.005, ge=0)
    svr_gamma: Literal["scale", "auto"] = "scale"
    wpm_max_evals: int = Field(2_000, ge=10)  # per family's least-squares fit


class MultiFidelityConfig(Frozen):
    """Search on the curve surrogate (dissertation Section 5.4): REA and local search, each single-fidelity
    (every architecture trained to the last epoch) and with LCE (trained to E_few, extrapolated, trained on
    only when the prediction is in the top ``top_fraction`` of the fully trained ones so far), at an equal
    budget of simulated training epochs."""

    SECTION: ClassVar[str] = "multifidelity"

    budget_epochs: int = Field(1_500, ge=1)  # simulated epochs per search run
    runs: int = Field(10, ge=1)  # seeds per algorithm
    top_fraction: float = Field(0.25, gt=0, le=1)
    warmup: int = Field(10, ge=1)  # fully trained architectures before LCE is trusted to stop any
    rea: REAConfig = REAConfig(population=20, sample=5)
    local_neighbours: int = Field(10, ge=1)  # mutations of the current best per local-search step
    pool: int = Field(300, ge=1)  # random networks of the budget drawn once: every run's random draws
