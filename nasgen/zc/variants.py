"""Named variants of SNIP-SSNR and T-CET, each computed from the per-layer saliencies the record already has.

Per layer l with saliencies s_l (n_l weights): SSNR_l = sum(s_l) / std(s_l) (unbiased std; a layer with one
weight or zero std gives sum(s_l)), the quantity of alethiometer's ``snr_*``.

SNIP-SSNR forms (SNIP saliencies):
- ``snip_ssnr_sum``  = sum_l SSNR_l (alethiometer ``snr_snip_none``; the authors' released code). It grows with
  every layer's weight count: n * mean / std.
- ``snip_ssnr_mean`` = sum_l SSNR_l / n_l = sum_l mean(s_l) / std(s_l): one signal-to-noise ratio per layer.
- ``snip_ssnr_norm`` = sum_l SSNR_l / std_l'(SSNR_l') (alethiometer ``snr_snip_norm``: population std across
  layers; unchanged when that std is 0).

T-CET variants ``tcet_{syn,snip}_{none,log,log1p,norm}`` (alethiometer ``t_cet.py``, 1.1.2):
T-CET = sum_l lnwot_l * m(SSNR_l) with the saliency synflow (``syn``) or SNIP and m one of
none: v; log: log v (0 where v <= 0); log1p: log(1 + v) (0 where v <= -1); norm: v / std_l'(v_l').
``tcet_syn_none`` is Xiang et al.'s T-CET; ``tcet_snip_log1p`` ranks whole networks in the authors' code
(visionbasicagent/HGENNAS). Layers are paired with lnwot by module, not list order (see ``nasgen.zc.tcet``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from nasgen.zc.common import ssnr
from nasgen.zc.config import SNIP_SSNR_FORMS, TCET_MODES, TCET_SALIENCIES, TCET_VARIANTS


def _population_std(values: list[float]) -> float:
    return float(np.std(values)) if values else 0.0


def snip_ssnr_form(form: str, saliencies: Mapping[nn.Module, torch.Tensor]) -> float:
    if form not in SNIP_SSNR_FORMS:
        raise ValueError(f"unknown SNIP-SSNR form {form!r}; expected one of {SNIP_SSNR_FORMS}")
    values = [ssnr(s) for s in saliencies.values()]
    if form == "snip_ssnr_sum":
        return float(sum(values))
    if form == "snip_ssnr_mean":
        return float(sum(v / s.numel() for v, s in zip(values, saliencies.values())))
    sd = _population_std(values)
    return float(sum(values) / sd) if sd > 0 else float(sum(values))


def layer_mode(mode: str, values: list[float]) -> list[float]:
    """alethiometer's per-layer transform of the SSNR values before they are weighted by lnwot."""
    if mode == "none":
        return list(values)
    if mode == "log":
        return [math.log(v) if v > 0 else 0.0 for v in values]
    if mode == "log1p":
        return [math.log1p(v) if v > -1 else 0.0 for v in values]
    if mode == "norm":
        sd = _population_std(values)
        return [v / sd for v in values] if sd > 0 else list(values)
    raise ValueError(f"unknown T-CET mode {mode!r}; expected one of {TCET_MODES}")


def split_tcet(name: str) -> tuple[str, str]:
    """``tcet_snip_log1p`` -> ("snip", "log1p")."""
    parts = name.split("_", 2)
    if len(parts) != 3 or parts[0] != "tcet" or parts[1] not in TCET_SALIENCIES or parts[2] not in TCET_MODES:
        raise ValueError(f"unknown T-CET variant {name!r}; expected one of {TCET_VARIANTS}")
    return parts[1], parts[2]


def tcet_value(mode: str, lnwot: Mapping[nn.Module, float], saliencies: Mapping[nn.Module, torch.Tensor]) -> float:
    """sum_l lnwot_l * m(SSNR_l), layers paired by module identity."""
    if lnwot.keys() != saliencies.keys():
        raise ValueError("T-CET needs lnwot and saliencies of the same layers")
    layers = list(lnwot)
    values = layer_mode(mode, [ssnr(saliencies[m]) for m in layers])
    return float(sum(lnwot[m] * v for m, v in zip(layers, values)))
