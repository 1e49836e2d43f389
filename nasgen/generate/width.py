"""Width fitting: a network over a size budget, its channels scaled down uniformly until it meets the budget.

Cells, depth and strides are kept: the design the SG (or a user) chose, narrower, as width multipliers scale
MobileNet and EfficientNet. Every position's channels become ``max(8, floor(c * f / 8) * 8)`` for the largest
factor ``f`` in (0, 1] whose network meets the budget; params and MACs never grow as ``f`` shrinks, so ``f`` is
found by bisection. Why not drop the network instead (the paper's generate): an SG asked for a budget far from
the sizes of its HL-Evo history proposes networks that mostly exceed it, and dropping them leaves a handful.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from nasgen.search.config import ConstraintConfig
from nasgen.search.objective import within
from nasgen.space.macro import CHANNEL_STEP, HLSequence, MacroArch

BISECTIONS = 30  # halvings of the factor's interval: far below one channel step at any width of the space

Net = TypeVar("Net", MacroArch, HLSequence)


def scaled(net: Net, factor: float) -> Net:
    """``net`` with every position's channels times ``factor``, rounded down to the channel step (at least one)."""
    layers = tuple(replace(x, channels=max(CHANNEL_STEP, int(x.channels * factor) // CHANNEL_STEP * CHANNEL_STEP))
                   for x in net.layers)  # fmt: skip
    return replace(net, layers=layers)


def width_factor(macro: MacroArch, constraint: ConstraintConfig,
                 latency: Callable[[MacroArch], float] | None = None) -> float | None:  # fmt: skip
    """The largest factor in (0, 1] at which ``macro`` meets ``constraint`` (a latency bound as ``latency``
    predicts it; predicted latency does not grow as widths shrink) (1.0: it already does); None when not even
    every position at the narrowest width does."""
    fits = lambda f: within(scaled(macro, f), constraint, latency)  # noqa: E731

    if fits(1.0):
        return 1.0
    if not fits(0.0):
        return None
    low, high = 0.0, 1.0  # fits(low), not fits(high)
    for _ in range(BISECTIONS):
        mid = (low + high) / 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low
