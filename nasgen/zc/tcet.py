"""T-CET (Xiang et al., 2023b; alethiometer/zero_cost_metrics/t_cet.py) in all its named variants.

T-CET = sum over conv/linear layers l of lnwot_l * m(SSNR_l(saliency)), where lnwot_l is the log det of layer
l's output-code Gram matrix in eval mode with BN in place (nasgen.zc.naswot), the saliency is synflow (BN
removed) or SNIP (BN in train mode) (nasgen.zc.saliency) and m the per-layer mode (nasgen.zc.variants).
The reference pairs the two lists with zip(), but one is in forward-execution order and the other in
module-registration order, which differ whenever a module is declared before it is used; nasgen pairs them
by module identity.
"""

from __future__ import annotations

from torch import nn

from nasgen.zc.common import ZCBatch
from nasgen.zc.naswot import layer_logdets
from nasgen.zc.saliency import Saliencies, snip_saliencies, synflow_saliencies
from nasgen.zc.variants import split_tcet, tcet_value


def combine(lnwot: dict[nn.Module, float], saliencies: Saliencies, mode: str = "none") -> float:
    return tcet_value(mode, lnwot, saliencies)


def tcet(net: nn.Module, batch: ZCBatch, variant: str = "tcet_syn_none", policy: str = "exact") -> float:
    saliency, mode = split_tcet(variant)
    lnwot = layer_logdets(net, batch.inputs, policy)
    sal = synflow_saliencies(net, batch.input_shape) if saliency == "syn" else snip_saliencies(net, batch)
    return combine(lnwot, sal, mode)
