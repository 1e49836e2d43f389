"""The GMM of cell families (stage `clusters`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from nasgen.frozen import Frozen
from nasgen.zc.config import ZC_VECTOR


class ClusterConfig(Frozen):
    """Stage `clusters`: a GMM on the transformed ZC vectors of the labelled cells (paper Section 4.1).

    K is the smallest value in [k_min, k_max] at which both BIC and AIC (with the small-sample correction,
    AICc, which equals AIC for large samples) have plateaued: the improvement still
    available beyond it is at most ``plateau_tol`` of the criterion's total improvement over the range, or at
    most ``min_delta`` (information-criterion differences below 10 are not meaningful, Burnham & Anderson).
    """

    components: tuple[str, ...] = ZC_VECTOR
    log_components: tuple[str, ...] = ("params", "flops")  # log before standardising (DESIGN section 4)
    k_min: int = Field(1, ge=1)
    k_max: int = Field(12, ge=1)
    plateau_tol: float = Field(0.05, gt=0, lt=1)
    min_delta: float = Field(10.0, ge=0)
    covariance_type: Literal["full", "diag"] = "full"
    n_init: int = Field(3, ge=1)
    max_iter: int = Field(500, ge=10)
    reg_covar: float = Field(1e-6, gt=0)
    seed: int = 0

    @field_validator("k_max")
    @classmethod
    def _range(cls, v: int, info) -> int:
        if v < info.data.get("k_min", 1):
            raise ValueError("k_max must be >= k_min")
        return v
