"""SWAP (Peng et al., ICLR 2024; pym1024/SWAP, src/metrics/swap.py ``SampleWiseActivationPatterns``).

Train-mode forward of the batch, no gradients. Every ReLU applied to a 4-D tensor contributes its binary codes
1[x > 0] (= sign of its output) of each unit (channel x position) over the B samples: one pattern of B bits per
unit. The patterns of all ReLU calls are pooled and the score is the number of *distinct* patterns (at most
min(units, 2^B)). Regularised: score * exp(-(P - mu)^2 / sigma) with P the parameter count in thousands (the
reference's units; sigma not squared, as there).

The ReLU codes are those NASWOT takes (the same hook, the same train-mode pass: nasgen.zc.record shares it).
Patterns are packed into 62-bit integers per row before counting, which is exact for any B. The reference
redraws N(0, 1) weights 32 times and averages, on 16 real images; nasgen scores the record's one seeded
network on the ZC config's batch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn

from nasgen.zc.common import ZCBatch, preserved_state

_WORD = 62  # bits per packed int64 word (positive, no overflow in the shifted sum)


def packed_patterns(x: torch.Tensor) -> torch.Tensor:
    """(units, words) int64: each unit's codes 1[x > 0] over the batch, packed ``_WORD`` bits to a word."""
    b = x.shape[0]
    codes = (x.detach().reshape(b, -1) > 0).T.to(torch.int64)  # (units, B)
    words = []
    for start in range(0, b, _WORD):
        chunk = codes[:, start : start + _WORD]
        shifts = torch.arange(chunk.shape[1], device=chunk.device, dtype=torch.int64)
        words.append((chunk << shifts).sum(1))
    return torch.stack(words, 1)


class PatternCounter:
    """Distinct sample-wise activation patterns over every ReLU call."""

    def __init__(self) -> None:
        self.parts: list[torch.Tensor] = []

    def add(self, x: torch.Tensor) -> None:
        if x.dim() == 4:
            self.parts.append(packed_patterns(x))

    def count(self) -> int:
        if not self.parts:
            raise ValueError("SWAP needs at least one ReLU on a 4-D feature map")
        rows = torch.cat(self.parts)
        if rows.shape[1] == 1:  # B <= 62: one word per pattern, a 1-D unique (far faster than rows)
            return int(torch.unique(rows[:, 0]).numel())
        return int(torch.unique(rows, dim=0).shape[0])


@contextlib.contextmanager
def relu_patterns(net: nn.Module, enabled: bool = True) -> Iterator[PatternCounter]:
    """Collect SWAP's patterns during whatever forward pass runs inside the block (e.g. SNIP's)."""
    counter = PatternCounter()
    handles = []
    if enabled:
        handles = [m.register_forward_pre_hook(lambda _m, inp: counter.add(inp[0]))
                   for m in net.modules() if isinstance(m, nn.ReLU)]  # fmt: skip
    try:
        yield counter
    finally:
        for h in handles:
            h.remove()


def regulariser(params: float, mu_k: float, sigma_k: float) -> float:
    """exp(-(P - mu)^2 / sigma), P = ``params`` / 1000: the reference's size control."""
    return math.exp(-((params / 1e3 - mu_k) ** 2) / sigma_k)


def swap(net: nn.Module, batch: ZCBatch) -> float:
    with preserved_state(net), relu_patterns(net) as counter, torch.inference_mode():
        net.train()
        net(batch.inputs)
    return float(counter.count())
