"""The supernet's building blocks: the mixed op (Eq. 2.1), edge weights normalised over a node's inputs
(Eq. 2.2) and the straight-through binariser of the masks (Eq. 2.4).

Written here rather than taken from a NAS library: NNI 3.0 (its last release, 2023) pins ``filelock<3.12``
against our lock's 4.x and wraps mixed ops in its own model-space mutators, not around nasgen's 28 operations;
the straight-through estimator is one line of autograd and the first-order bi-level loop two optimisers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def binarize(real: torch.Tensor, threshold: float) -> torch.Tensor:
    """H(real - threshold) in the forward pass; the gradient passes to ``real`` unchanged (BinaryConnect)."""
    hard = (real > threshold).to(real.dtype)
    return real + (hard - real).detach()


def op_weights(alpha: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(alpha) over the last axis (Eq. 2.1), times the binary op mask: a masked op contributes nothing."""
    w = torch.softmax(alpha, dim=-1)
    return w if mask is None else w * mask


def edge_weights(
    beta: torch.Tensor, groups: Sequence[tuple[int, int]], mask: torch.Tensor | None = None
) -> torch.Tensor:
    """beta normalised by a softmax within each group (a node's input edges, Eq. 2.2: the edges are stored by
    target node, so a group is a slice (start, end)), times the binary edge mask."""
    w = torch.cat([torch.softmax(beta[a:b], dim=0) for a, b in groups])
    return w if mask is None else w * mask


class MixedOp(nn.Module):
    """sum_i w_i o_i(x) over the candidate ops. An op whose weight is exactly 0 and needs no gradient (a masked
    op once the masks are fixed) is not computed."""

    def __init__(self, ops: Sequence[nn.Module]):
        super().__init__()
        self.ops = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = None
        for w, op in zip(weights, self.ops):
            if not w.requires_grad and float(w) == 0.0:
                continue
            y = w * op(x)
            out = y if out is None else out + y
        return x.mul(0.0) if out is None else out
