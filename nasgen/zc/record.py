"""A network's full ZC record in as few passes as the definitions allow.

Every variant of SNIP-SSNR and T-CET (nasgen.zc.variants) is a recombination of the same per-layer saliencies
and Gram matrices, so asking for all of them costs the passes below and nothing more.

Passes, in this order (the order matters only through BN running statistics, restored at the end):
1. eval forward, no autograd (inference mode): every conv/linear output's Gram matrix -> lnwot (T-CET);
2. train forward + backward of the cross-entropy w.r.t. conv/linear weights only: SNIP saliencies, with
   NASWOT's ReLU codes collected by hooks during the same forward (both are defined on that pass);
   SWAP's activation patterns come from the same ReLU hooks; AZ-NAS's stage features from the same forward
   (its Rademacher pull-backs run on that graph before SNIP's backward);
3. synflow: batch 1, float64, |weights|, BN bypassed: forward + backward (~1/B of pass 2's work);
4. MeCo and MeCo_opt: one train-mode forward of the batch's first image (BN statistics of that image);
5. Zen (2 forwards, inference mode) and ZiCo (``splits`` forward+backward passes) only when asked for:
   their inputs, weights or batch splits differ from the passes above, so nothing can be shared.
No copy of the network is made: synflow and Zen pass their weights functionally.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

import torch
from torch import nn

from nasgen.space.cost import Cost, count_module
from nasgen.zc import aznas, meco, saliency, swap, tcet, zen, zico
from nasgen.zc import naswot as _naswot
from nasgen.zc.common import ZCBatch, preserved_state
from nasgen.zc.config import ALL_PROXIES, SNIP_SSNR_FORMS, TCET_VARIANTS, ZCConfig
from nasgen.zc.variants import snip_ssnr_form, split_tcet, tcet_value

# Columns whose definition the config names: `snip_ssnr` is the form z(x) uses, `tcet` the searches' objective.
ROLES: tuple[str, ...] = ("snip_ssnr", "tcet")

Proxy = Callable[[nn.Module, ZCBatch, ZCConfig], float]


def _tcet_alone(variant: str) -> Proxy:
    return lambda net, b, cfg: tcet.tcet(net, b, variant, cfg.gram_singular)


def _ssnr_alone(form: str) -> Proxy:
    return lambda net, b, cfg: saliency.snip_ssnr(net, b, form)


def _az_alone(name: str) -> Proxy:
    return lambda net, b, cfg: aznas.aznas(net, b, cfg.seed)[name]


# Each proxy on its own (benchmarks time these; tests check the shared record against them).
STANDALONE: dict[str, Proxy] = {
    "naswot": lambda net, b, cfg: _naswot.naswot(net, b, cfg.gram_singular),
    "snip": lambda net, b, cfg: saliency.snip(net, b),
    "snip_ssnr": lambda net, b, cfg: saliency.snip_ssnr(net, b, cfg.snip_ssnr),
    "synflow": lambda net, b, cfg: saliency.synflow(net, b),
    "tcet": lambda net, b, cfg: tcet.tcet(net, b, cfg.tcet, cfg.gram_singular),
    "zen": lambda net, b, cfg: zen.zen(net, b, cfg.zen_mixup_gamma, cfg.zen_repeat, cfg.seed, cfg.zen_bn),
    "zico": lambda net, b, cfg: zico.zico(net, b, cfg.zico_splits),
    "meco": lambda net, b, cfg: meco.meco(net, b, False, cfg.seed),
    "meco_opt": lambda net, b, cfg: meco.meco(net, b, True, cfg.seed),
    "swap": lambda net, b, cfg: swap.swap(net, b),
    **{p: _az_alone(p) for p in aznas.AZ_PROXIES},
    **{f: _ssnr_alone(f) for f in SNIP_SSNR_FORMS},
    **{v: _tcet_alone(v) for v in TCET_VARIANTS},
}


def _check(proxies: Iterable[str]) -> set[str]:
    want = set(proxies)
    unknown = want - set(ALL_PROXIES)
    if unknown:
        raise ValueError(f"unknown proxies {sorted(unknown)}; expected some of {', '.join(ALL_PROXIES)}")
    return want


def definitions(want: set[str], cfg: ZCConfig) -> set[str]:
    """The proxies to compute: each role replaced by the variant ``cfg`` names for it."""
    return (want - set(ROLES)) | {getattr(cfg, r) for r in want & set(ROLES)}


def zc_record(
    net: nn.Module,
    batch: ZCBatch,
    cfg: ZCConfig = ZCConfig(),
    proxies: Iterable[str] | None = None,
    cost: Cost | None = None,
) -> dict[str, float]:
    """{proxy: value} for ``proxies`` (default ``cfg.proxies``). ``cost`` skips counting params/FLOPs."""
    want = _check(cfg.proxies if proxies is None else proxies)
    need = definitions(want, cfg)
    tcets = {v: split_tcet(v) for v in TCET_VARIANTS if v in need}
    snip_needed = bool(need & ({"snip"} | set(SNIP_SSNR_FORMS))) or any(s == "snip" for s, _ in tcets.values())
    syn_needed = "synflow" in need or any(s == "syn" for s, _ in tcets.values())
    out: dict[str, float] = {}
    with preserved_state(net):
        lnwot = _naswot.layer_logdets(net, batch.inputs, cfg.gram_singular) if tcets else None
        az_needed = bool(need & set(aznas.AZ_PROXIES))
        if snip_needed or az_needed or need & {"naswot", "swap"}:
            net.train()
            with contextlib.ExitStack() as hooks:
                codes = hooks.enter_context(_naswot.relu_codes(net, enabled="naswot" in need))
                patterns = hooks.enter_context(swap.relu_patterns(net, enabled="swap" in need))
                feats = hooks.enter_context(aznas.stage_features(net)) if az_needed else []
                with torch.set_grad_enabled(snip_needed or az_needed):
                    loss = saliency.snip_loss(net, batch)
            if "naswot" in need:
                out["naswot"] = codes.logdet(cfg.gram_singular)
            if "swap" in need:
                out["swap"] = float(patterns.count())
            if az_needed:
                out.update(aznas.from_features(feats, cfg.seed))
                del feats
            if snip_needed:
                _from_saliencies(out, need, tcets, "snip", saliency.gradient_saliencies(net, loss), lnwot)
                del loss
        if syn_needed:
            _from_saliencies(out, need, tcets, "syn", saliency.synflow_saliencies(net, batch.input_shape), lnwot)
        if need & set(meco.MECO_PROXIES):
            out.update(meco.meco_values(net, batch, cfg.seed, tuple(p for p in meco.MECO_PROXIES if p in need)))
        for name in ("zen", "zico"):
            if name in need:
                out[name] = STANDALONE[name](net, batch, cfg)
    if need & {"params", "flops"}:
        cost = cost or count_module(net, batch.input_shape)
        out["params"], out["flops"] = float(cost.params), float(cost.flops)
    for role in want & set(ROLES):
        out[role] = out[getattr(cfg, role)]
    return {p: out[p] for p in ALL_PROXIES if p in want}


def _from_saliencies(out: dict[str, float], need: set[str], tcets: dict[str, tuple[str, str]], kind: str,
                     sal: saliency.Saliencies, lnwot: dict | None) -> None:  # fmt: skip
    """Every proxy of ``need`` computed from one set of saliencies (SNIP's or synflow's)."""
    total = "snip" if kind == "snip" else "synflow"
    if total in need:
        out[total] = saliency.total(sal)
    if kind == "snip":
        for form in SNIP_SSNR_FORMS:
            if form in need:
                out[form] = snip_ssnr_form(form, sal)
    for variant, (s, mode) in tcets.items():
        if s == kind:
            out[variant] = tcet_value(mode, lnwot, sal)
