"""T-CET (Xiang et al., 2023b; alethiometer/zero_cost_metrics/t_cet.py, mode "none", mt "synflow").

T-CET = sum over conv/linear layers l of lnwot_l * SSNR(synflow saliencies of l), where lnwot_l is the
log det of layer l's output-code Gram matrix in eval mode with BN in place (nasgen.zc.naswot) and synflow
runs with BN removed (nasgen.zc.saliency). The reference pairs the two lists with zip(), but one is in
forward-execution order and the other in module-registration order, which differ whenever a module is
declared before it is used; nasgen pairs them by module identity. Singular layer Grams (e.g. a classifier
with fewer outputs than B - 1) contribute 0 (see ``gram_logdet``).
"""

from __future__ import annotations

from torch import nn

from nasgen.zc.common import ZCBatch, ssnr
from nasgen.zc.naswot import layer_logdets
from nasgen.zc.saliency import Saliencies, synflow_saliencies


def combine(lnwot: dict[nn.Module, float], synflow_sal: Saliencies) -> float:
    if lnwot.keys() != synflow_sal.keys():
        raise ValueError("T-CET needs lnwot and synflow saliencies of the same layers")
    return float(sum(value * ssnr(synflow_sal[m]) for m, value in lnwot.items()))


def tcet(net: nn.Module, batch: ZCBatch) -> float:
    return combine(layer_logdets(net, batch.inputs), synflow_saliencies(net, batch.input_shape))
