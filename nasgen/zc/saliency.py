"""Per-weight saliencies (SNIP, synflow) and the scores built on them (SamsungLabs/zero-cost-nas,
foresight/pruners/measures; SNIP-SSNR as in alethiometer).

- SNIP (Lee et al., 2019): s = |w * dL/dw| for every conv/linear weight, L = cross-entropy of one labelled
  batch, BN in train mode, float32. The reference takes |dL/dmask| of a multiplicative mask fixed at 1,
  which is the same number. score = sum of s over all layers.
- SNIP-SSNR (Xiang et al., 2023): per-layer SSNR(s_layer) = sum(s) / std(s), combined over layers in one of
  three named forms (nasgen.zc.variants).
- synflow (Tanaka et al., 2020): every parameter replaced by its absolute value, BN removed, float64, one
  all-ones input of batch 1, R = sum of the outputs; s = |w * dR/dw|. score = sum of s.

Saliencies are returned per layer module so that T-CET pairs them with lnwot by module identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from nasgen.zc.common import ZCBatch, bn_bypassed, layer_weight_names, preserved_state, weight_layers
from nasgen.zc.variants import snip_ssnr_form

Saliencies = dict[nn.Module, torch.Tensor]


def gradient_saliencies(net: nn.Module, loss: torch.Tensor) -> Saliencies:
    """|w * dL/dw| of every conv/linear weight; gradients of other parameters are not computed."""
    layers = weight_layers(net)
    grads = torch.autograd.grad(loss, [m.weight for m in layers], allow_unused=True)
    return {
        m: torch.zeros_like(m.weight) if g is None else (m.weight.detach() * g).abs() for m, g in zip(layers, grads)
    }


def snip_loss(net: nn.Module, batch: ZCBatch) -> torch.Tensor:
    return F.cross_entropy(net(batch.inputs), batch.targets)


def snip_saliencies(net: nn.Module, batch: ZCBatch) -> Saliencies:
    with preserved_state(net):
        net.train()
        return gradient_saliencies(net, snip_loss(net, batch))


def synflow_saliencies(net: nn.Module, input_shape: tuple[int, ...]) -> Saliencies:
    """The parameters are copied as |p| in float64 and passed functionally: the caller's weights stay as they are."""
    names = layer_weight_names(net)
    params = {n: p.detach().abs().to(torch.float64) for n, p in net.named_parameters()}
    for n in names.values():
        params[n].requires_grad_(True)
    device = next(iter(params.values())).device
    ones = torch.ones((1, *input_shape), dtype=torch.float64, device=device)
    with bn_bypassed(net), torch.enable_grad():
        out = functional_call(net, params, (ones,))
        grads = torch.autograd.grad(out.sum(), [params[n] for n in names.values()], allow_unused=True)
    return {
        m: torch.zeros_like(params[n]) if g is None else (params[n].detach() * g).abs()
        for (m, n), g in zip(names.items(), grads)
    }


def total(sal: Saliencies) -> float:
    return float(sum(s.to(torch.float64).sum() for s in sal.values()))


def snip(net: nn.Module, batch: ZCBatch) -> float:
    return total(snip_saliencies(net, batch))


def snip_ssnr(net: nn.Module, batch: ZCBatch, form: str = "snip_ssnr_mean") -> float:
    return snip_ssnr_form(form, snip_saliencies(net, batch))


def synflow(net: nn.Module, batch: ZCBatch) -> float:
    return total(synflow_saliencies(net, batch.input_shape))
