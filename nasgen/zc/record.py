"""A network's full ZC record in as few passes as the definitions allow.

Passes, in this order (the order matters only through BN running statistics, restored at the end):
1. eval forward, no autograd (inference mode): every conv/linear output's Gram matrix -> lnwot (T-CET);
2. train forward + backward of the cross-entropy w.r.t. conv/linear weights only: SNIP saliencies, with
   NASWOT's ReLU codes collected by hooks during the same forward (both are defined on that pass);
3. synflow: batch 1, float64, |weights|, BN bypassed: forward + backward (~1/B of pass 2's work);
4. Zen (2 forwards, inference mode) and ZiCo (``splits`` forward+backward passes) only when asked for:
   their inputs, weights or batch splits differ from the passes above, so nothing can be shared.
No copy of the network is made: synflow and Zen pass their weights functionally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from nasgen.config import ALL_PROXIES, ZCConfig
from nasgen.space.cost import Cost, count_module
from nasgen.zc import naswot as _naswot
from nasgen.zc import saliency, tcet, zen, zico
from nasgen.zc.common import ZCBatch, preserved_state

SNIP_FAMILY = frozenset({"snip", "snip_ssnr"})
SYNFLOW_FAMILY = frozenset({"synflow", "tcet"})

Proxy = Callable[[nn.Module, ZCBatch, ZCConfig], float]

# Each proxy on its own (benchmarks time these; tests check the shared record against them).
STANDALONE: dict[str, Proxy] = {
    "naswot": lambda net, b, cfg: _naswot.naswot(net, b),
    "snip": lambda net, b, cfg: saliency.snip(net, b),
    "snip_ssnr": lambda net, b, cfg: saliency.snip_ssnr(net, b),
    "synflow": lambda net, b, cfg: saliency.synflow(net, b),
    "tcet": lambda net, b, cfg: tcet.tcet(net, b),
    "zen": lambda net, b, cfg: zen.zen(net, b, cfg.zen_mixup_gamma, cfg.zen_repeat, cfg.seed),
    "zico": lambda net, b, cfg: zico.zico(net, b, cfg.zico_splits),
}


def _check(proxies: Iterable[str]) -> set[str]:
    want = set(proxies)
    unknown = want - set(ALL_PROXIES)
    if unknown:
        raise ValueError(f"unknown proxies {sorted(unknown)}; expected some of {', '.join(ALL_PROXIES)}")
    return want


def zc_record(
    net: nn.Module,
    batch: ZCBatch,
    cfg: ZCConfig = ZCConfig(),
    proxies: Iterable[str] | None = None,
    cost: Cost | None = None,
) -> dict[str, float]:
    """{proxy: value} for ``proxies`` (default ``cfg.proxies``). ``cost`` skips counting params/FLOPs."""
    want = _check(cfg.proxies if proxies is None else proxies)
    out: dict[str, float] = {}
    with preserved_state(net):
        lnwot = _naswot.layer_logdets(net, batch.inputs) if "tcet" in want else None
        if want & (SNIP_FAMILY | {"naswot"}):
            net.train()
            with _naswot.relu_codes(net, enabled="naswot" in want) as codes:
                with torch.set_grad_enabled(bool(want & SNIP_FAMILY)):
                    loss = saliency.snip_loss(net, batch)
            if "naswot" in want:
                out["naswot"] = codes.logdet()
            if want & SNIP_FAMILY:
                sal = saliency.gradient_saliencies(net, loss)
                if "snip" in want:
                    out["snip"] = saliency.total(sal)
                if "snip_ssnr" in want:
                    out["snip_ssnr"] = saliency.total_ssnr(sal)
                del sal, loss
        if want & SYNFLOW_FAMILY:
            syn = saliency.synflow_saliencies(net, batch.input_shape)
            if "synflow" in want:
                out["synflow"] = saliency.total(syn)
            if lnwot is not None:
                out["tcet"] = tcet.combine(lnwot, syn)
        for name in ("zen", "zico"):
            if name in want:
                out[name] = STANDALONE[name](net, batch, cfg)
    if want & {"params", "flops"}:
        cost = cost or count_module(net, batch.input_shape)
        out["params"], out["flops"] = float(cost.params), float(cost.flops)
    return {p: out[p] for p in ALL_PROXIES if p in want}
