"""What a user asks generate-for-condition for: a budget, optional ZC values, the task's input and classes.

A pydantic model, so the Prefect UI shows it as a form and the CLI/Python calls validate the same way.
Budgets below the smallest network the macro space can build are rejected when the request is made.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nasgen.device import device_name
from nasgen.search.config import ConstraintConfig
from nasgen.space.cell import Cell
from nasgen.space.cost import Cost, macro_cost
from nasgen.space.macro import CHANNELS, DEFAULT_CLASSES, DEFAULT_INPUT, MacroArch
from nasgen.space.ops import OPS
from nasgen.zc.config import ZCConfig

LATENCY_FIELDS = ("max_latency_ms", "latency_device")  # out of a request's store key when no latency is asked


class GenerateRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_params: int | None = Field(None, ge=1, description="Parameter budget of the generated networks.")
    max_flops: int | None = Field(None, ge=1, description="FLOPs (multiply-accumulates) budget.")
    max_latency_ms: float | None = Field(
        None,
        gt=0,
        description="Latency budget (ms, batch 1) on latency_device, "
        "predicted by the device's latency model, the chosen networks measured.",
    )
    latency_device: str = Field("cpu", description="Where latency is measured and predicted: cpu | cuda | cuda:N.")
    zc: dict[str, float] = Field(default_factory=dict, description="Reference ZC values to condition on, e.g. "
                                 '{"naswot": 190, "tcet": 250}.')  # fmt: skip
    input_shape: tuple[int, int, int] = Field(DEFAULT_INPUT, description="(channels, height, width) of the task.")
    classes: int = Field(DEFAULT_CLASSES, ge=1, description="Output classes of the task.")
    n: int | None = Field(None, ge=1, description="Sequences to sample (default: the profile's).")
    top_k: int | None = Field(None, ge=1, description="Networks to keep (default: the profile's).")
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> GenerateRequest:
        if self.max_params is None and self.max_flops is None and self.max_latency_ms is None:
            raise ValueError("give a budget: max_params, max_flops and/or max_latency_ms")
        device_name(self.latency_device)
        c, h, w = self.input_shape
        if min(c, h, w) < 1 or h != w:
            raise ValueError(f"input_shape must be (C, H, H) with positive sizes, got {self.input_shape}")
        # Budgets no network of the macro space can meet (one position, 8 channels, cheapest cell) are refused
        # here, when the request is made: every layer below receives a feasible request.
        low = smallest_network(self.input_shape, self.classes)
        for name, budget, least in (("params", self.max_params, low.params), ("FLOPs", self.max_flops, low.flops)):
            if budget is not None and budget < least:
                raise ValueError(f"impossible budget: {name} <= {budget:,}, but the smallest network for input "
                                 f"{self.input_shape} and {self.classes} classes has {least:,} {name}")  # fmt: skip
        return self

    @property
    def constraint(self) -> ConstraintConfig:
        return ConstraintConfig(
            max_params=self.max_params, max_flops=self.max_flops, max_latency_ms=self.max_latency_ms
        )

    def scorer_config(self, base: ZCConfig) -> ZCConfig:
        """The ZC config that scores candidates for this task (input and classes of the request)."""
        return base.model_copy(update={"in_channels": self.input_shape[0], "resolution": self.input_shape[1],
                                       "classes": self.classes})  # fmt: skip


def one_op_networks(input_shape: tuple[int, int, int], classes: int) -> list[MacroArch]:
    """Every one-position network of the narrowest width with a single-op cell: the cheapest the space builds."""
    return [MacroArch.from_triples([(Cell.from_graph(["input", op.name, "output"], [(0, 1), (1, 2)]), CHANNELS[0],
                                     1)], input_shape, classes) for op in OPS]  # fmt: skip


@lru_cache(maxsize=64)
def smallest_network(input_shape: tuple[int, int, int], classes: int) -> Cost:
    """Cost of the cheapest one-position network (fewest channels; cheapest single-op cell), per measure."""
    costs = [macro_cost(m) for m in one_op_networks(input_shape, classes)]
    return Cost(min(c.params for c in costs), min(c.flops for c in costs))
