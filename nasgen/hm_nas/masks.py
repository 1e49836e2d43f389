"""Hierarchical masks (Eqs. 2.3-2.4): real-valued masks over the supernet's operations (alpha's shape), edges
(beta's) and network weights (every conv and linear weight's), binarised at the threshold in the forward pass.
The masked network is a functional call of the supernet with its weights replaced by weight x binary mask
(``torch.func.functional_call``: the supernet itself is never modified while the masks learn)."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from nasgen.hm_nas.mixed import binarize
from nasgen.hm_nas.supernet import Supernet


def masked_weight_names(net: Supernet) -> list[str]:
    """The network weights a mask covers: every conv and linear weight (BN's affine terms and biases are not
    weights of the architecture's connections)."""
    return [f"{m}.weight" for m, mod in net.named_modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]


def _slot(name: str) -> str:
    return name.replace(".", "__")  # ParameterDict keys cannot hold dots


class HierarchicalMasks(nn.Module):
    def __init__(self, net: Supernet, init: float, threshold: float, weights: bool = True):
        super().__init__()
        self.threshold = threshold
        self.names = masked_weight_names(net) if weights else []
        params = dict(net.named_parameters())
        self.ops = nn.Parameter(torch.full_like(net.alpha, init))
        self.edges = nn.Parameter(torch.full_like(net.beta, init))
        self.weights = nn.ParameterDict({_slot(n): nn.Parameter(torch.full_like(params[n], init)) for n in self.names})

    def arch_masks(self) -> list[nn.Parameter]:
        return [self.ops, self.edges]

    def weight_masks(self) -> list[nn.Parameter]:
        return list(self.weights.values())

    def binary(self) -> dict[str, torch.Tensor]:
        """Every binary mask, by the supernet's name of what it masks (``ops``, ``edges``, weight names)."""
        out = {"ops": binarize(self.ops, self.threshold), "edges": binarize(self.edges, self.threshold)}
        out.update({n: binarize(self.weights[_slot(n)], self.threshold) for n in self.names})
        return out

    def forward(self, net: Supernet, x: torch.Tensor) -> torch.Tensor:
        """The masked supernet's output: P_M(alpha, beta, w) with straight-through gradients to the masks."""
        m = self.binary()
        params = dict(net.named_parameters())
        masked = {n: params[n] * m[n] for n in self.names}
        return functional_call(net, masked, (x,), {"op_mask": m["ops"], "edge_mask": m["edges"]}, strict=False)

    @torch.no_grad()
    def kept(self) -> dict[str, torch.Tensor]:
        """The learnt binary masks as plain tensors (what fine-tuning and derivation read)."""
        return {k: v.detach().clone() for k, v in self.binary().items()}
