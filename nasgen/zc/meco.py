"""MeCo (Jiang et al., NeurIPS 2023; HamsterMimi/MeCo, correlation/NAS_Bench_201.py ``get_score``).

One train-mode forward of one image (the batch's first; BN normalises with that image's statistics). Every
module's output (``named_modules()``: the root and every container too, so a value repeats once per module
that returns it, as in the reference) gives, from its first sample, the Pearson correlation matrix of its
channels over positions (C x H*W rows; NaN entries, from constant channels or one position, set to 0); the
score is the sum over modules of its smallest eigenvalue. ``meco_opt`` takes 8 random channels per module and
scales the smallest eigenvalue by C / 8.

Differences from the reference, on purpose: eigenvalues of the symmetric matrix by eigvalsh in float64 (the
reference: general eig in float32, real part; the same numbers up to round-off); meco_opt's channels come
from a seeded generator (the reference's Python RNG is never seeded) and a module of <= 8 channels uses them
all (the reference raises). A module whose output is not one tensor of >= 2 dimensions is skipped.
"""

from __future__ import annotations

import torch
from torch import nn

from nasgen.zc.common import ZCBatch, preserved_state

OPT_CHANNELS = 8  # MeCo_opt's channel sample


def min_eig_corr(feature: torch.Tensor) -> float:
    """Smallest eigenvalue of the channel correlation matrix of one sample's feature map (C, ...)."""
    f = feature.detach().to(torch.float64).reshape(feature.shape[0], -1)
    if f.shape[1] < 2:  # one position: every correlation undefined, the reference's all-zero matrix
        return 0.0
    r = torch.nan_to_num(torch.corrcoef(f), nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(r)[0])


MECO_PROXIES: tuple[str, ...] = ("meco", "meco_opt")


def meco_values(net: nn.Module, batch: ZCBatch, seed: int = 0,
                which: tuple[str, ...] = MECO_PROXIES) -> dict[str, float]:  # fmt: skip
    """MeCo and MeCo_opt (``which`` of them) of ``net`` on the batch's first image, from one forward. MeCo_opt
    alone skips the full C x C eigenproblems, which dominate the cost of a wide network; its channel draws
    are the same either way."""
    g = torch.Generator().manual_seed(seed)
    want_full = "meco" in which
    full: list[float] = []
    sampled: list[float] = []

    def hook(_m: nn.Module, _inp, out) -> None:
        if not isinstance(out, torch.Tensor) or out.dim() < 2:
            return
        f = out[0]
        c = f.shape[0]
        whole = min_eig_corr(f) if want_full or c <= OPT_CHANNELS else None
        full.append(whole)
        if c > OPT_CHANNELS:
            pick = torch.randperm(c, generator=g)[:OPT_CHANNELS].to(f.device)
            sampled.append(min_eig_corr(f[pick]) * c / OPT_CHANNELS)
        else:
            sampled.append(whole)

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    try:
        with preserved_state(net), torch.inference_mode():
            net.train()
            net(batch.inputs[:1])
    finally:
        for h in handles:
            h.remove()
    if not full:
        raise ValueError("MeCo found no module output with channels")
    out = {"meco_opt": float(sum(sampled))}
    return out | {"meco": float(sum(full))} if want_full else out


def meco(net: nn.Module, batch: ZCBatch, opt: bool = False, seed: int = 0) -> float:
    """MeCo (``opt``: MeCo_opt) of ``net`` on the batch's first image."""
    name = "meco_opt" if opt else "meco"
    return meco_values(net, batch, seed, (name,))[name]
