"""Batch augmentation on the training device: random crop after zero padding, and horizontal flip.

The standard CIFAR augmentation of the ZenNAS recipe, done on whole batches with index arithmetic so it
runs where the batch is (GPU included) and is reproducible from one generator. Test/validation data are
never augmented.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def augment(x: torch.Tensor, padding: int, hflip: bool, gen: torch.Generator) -> torch.Tensor:
    """``x`` (N, C, H, W): each image flipped with probability 1/2 (``hflip``), then an HxW window of it
    zero-padded by ``padding`` on every side, at a uniform random offset."""
    n, c, h, w = x.shape
    if hflip:
        flip = (torch.rand(n, generator=gen) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if padding:
        dy = torch.randint(0, 2 * padding + 1, (n,), generator=gen).to(x.device)
        dx = torch.randint(0, 2 * padding + 1, (n,), generator=gen).to(x.device)
        rows = dy[:, None] + torch.arange(h, device=x.device)[None]
        cols = dx[:, None] + torch.arange(w, device=x.device)[None]
        xp = F.pad(x, (padding,) * 4)
        idx_n = torch.arange(n, device=x.device)[:, None, None, None]
        idx_c = torch.arange(c, device=x.device)[None, :, None, None]
        x = xp[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]
    return x
