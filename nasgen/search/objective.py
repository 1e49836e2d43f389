"""What every search optimises: a ZC proxy of a materialised network (T-CET by default; Zen-score or ZiCo for
the ZenNet rows of paper Table 1; any of nasgen.zc.config.OBJECTIVES), under size constraints, counted and cached.

Constraints are checked on the analytic cost first (microseconds), so a violator never costs a ZC
evaluation; records are cached by architecture id, so a network met twice is scored once. ``evaluations``
counts real scorer calls: the budget axis of the search benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nasgen.errors import ConfigError
from nasgen.search.config import ConstraintConfig
from nasgen.space.cost import Cost, macro_cost
from nasgen.space.macro import MacroArch
from nasgen.zc.config import OBJECTIVES, ZCConfig
from nasgen.zc.scorer import Scorer


def satisfies(cost: Cost, c: ConstraintConfig) -> bool:
    return (c.max_params is None or cost.params <= c.max_params) and (c.max_flops is None or cost.flops <= c.max_flops)


def within(macro: MacroArch, c: ConstraintConfig, latency: Callable[[MacroArch], float] | None = None) -> bool:
    """Whether ``macro`` meets every bound of ``c``: params and FLOPs analytically, latency as ``latency`` (a
    device's predictor) predicts it; a latency bound without a predictor is a ConfigError."""
    if not satisfies(macro_cost(macro), c):
        return False
    if c.max_latency_ms is None:
        return True
    if latency is None:
        raise ConfigError(f"{c.name} needs a latency model (hl_evo.latency_device, or generate's latency device)")
    return latency(macro) <= c.max_latency_ms


class ZCObjective:
    """What a search maximises: the ZC ``objective`` of a network, its record cached by architecture id, its
    scorer calls counted (``evaluations``, the budget axis). Not a trained evaluation: that is stage `trained`."""

    def __init__(
        self,
        cfg: ZCConfig,
        device: str = "cpu",
        cache: dict[str, dict[str, Any]] | None = None,
        objective: str = "tcet",
    ):
        if objective not in OBJECTIVES:
            raise ConfigError(f"unknown search objective {objective!r}; expected one of {', '.join(OBJECTIVES)}")
        if objective not in cfg.proxies:
            raise ConfigError(f"the search objective {objective!r} must be among the ZC proxies {cfg.proxies}")
        self.objective = objective
        self.cfg = cfg
        self.scorer = Scorer(cfg, device)
        self.cache = {} if cache is None else cache
        self.evaluations = 0

    def record(self, macro: MacroArch) -> dict[str, Any]:
        """The ZC record of ``macro`` (cached by arch id)."""
        key = macro.arch_id
        if key not in self.cache:
            self.evaluations += 1
            self.cache[key] = self.scorer.score_macro(macro, name=key)
        return self.cache[key]

    def fitness(self, record: dict[str, Any]) -> float:
        """The objective's value; -inf when scoring failed."""
        v = record.get(self.objective, math.nan)
        return float(v) if record.get("status") == "ok" and math.isfinite(v) else -math.inf

    def check_input(self, input_shape: tuple[int, int, int], classes: int) -> None:
        if tuple(input_shape) != self.cfg.input_shape or classes != self.cfg.classes:
            raise ConfigError(
                f"networks of input {tuple(input_shape)} / {classes} classes cannot be scored by a ZC config of "
                f"input {self.cfg.input_shape} / {self.cfg.classes} classes"
            )
