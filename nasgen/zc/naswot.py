"""NASWOT (Mellor et al., 2021) and its layer-wise form used by T-CET.

NASWOT, as in BayesWatch/nas-without-training (score_networks.py): forward one batch of B inputs through
the network in train mode (BN uses batch statistics; the module default the reference runs in), take the
binary code c = 1[x > 0] of the *input* of every ReLU, K = sum over ReLUs of C C^T + (1-C)(1-C)^T, and
score = log det K (float64; singular K under the config's policy, see ``gram_logdet``).

Layer-wise NASWOT (lnwot, alethiometer/naswot.py with layerwise=True): eval mode, one Gram matrix per
conv/linear layer of that layer's *output* codes, log det of each. T-CET multiplies these by the layer's
synflow SSNR.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from nasgen.zc.common import ZCBatch, binary_gram, gram_logdet, preserved_state, weight_layers


class GramAccumulator:
    """Running sum of binary Gram matrices; filled by forward pre-hooks on ReLUs."""

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.layers = 0

    def add(self, x: torch.Tensor) -> None:
        with torch.no_grad():
            g = binary_gram(x)
        self.k = g if self.k is None else self.k.add_(g)
        self.layers += 1

    def logdet(self, policy: str = "exact") -> float:
        if self.k is None:
            raise ValueError("NASWOT needs at least one ReLU in the network")
        return float(gram_logdet(self.k, policy))


@contextlib.contextmanager
def relu_codes(net: nn.Module, enabled: bool = True) -> Iterator[GramAccumulator]:
    """Collect NASWOT's K during whatever forward pass runs inside the block (e.g. SNIP's)."""
    acc = GramAccumulator()
    handles = []
    if enabled:
        handles = [
            m.register_forward_pre_hook(lambda _m, inp: acc.add(inp[0]))
            for m in net.modules()
            if isinstance(m, nn.ReLU)
        ]
    try:
        yield acc
    finally:
        for h in handles:
            h.remove()


def naswot(net: nn.Module, batch: ZCBatch, policy: str = "exact") -> float:
    with preserved_state(net), relu_codes(net) as acc, torch.inference_mode():
        net.train()
        net(batch.inputs)
    return acc.logdet(policy)


def layer_logdets(net: nn.Module, inputs: torch.Tensor, policy: str = "exact") -> dict[nn.Module, float]:
    """lnwot: log det of each conv/linear layer's output-code Gram matrix, eval mode, one batched eigensolve."""
    layers = weight_layers(net)
    grams: dict[nn.Module, torch.Tensor] = {}

    def hook(m: nn.Module, _inp, out: torch.Tensor) -> None:
        grams[m] = binary_gram(out)

    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with preserved_state(net), torch.inference_mode():
            net.eval()
            net(inputs)
    finally:
        for h in handles:
            h.remove()
    missing = [m for m in layers if m not in grams]
    if missing:
        raise ValueError(f"{len(missing)} conv/linear layers were not called in the forward pass")
    values = gram_logdet(torch.stack([grams[m] for m in layers]), policy).tolist()
    return dict(zip(layers, values))
