"""CATE's networks (dissertation ch. 4, Eqs. 4.1-4.5).

- ``Encoder``: token embedding (scaled by √d) and L pre-norm transformer blocks — multi-head attention under
  the DAG dependency mask, a ReLU feed-forward of width d_ff, residuals, dropout — and a layer norm on the last
  block's output (the residual stream between blocks is not normalised: the authors' code normalises each
  block's output only for its list of outputs, of which the encoder returns the last); the encoding of an
  architecture is its output node's final state.
- ``PairModel``: the same encoder on both architectures of a pair, a trainable segment embedding added to each
  side (unscaled, at the size of the normalised node states; ``scaled_segment``: times √d as the authors'
  code), their concatenation through L_c cross-attention blocks whose mask lets every real node attend to every
  real node of both architectures, and a tanh-linear head to the node vocabulary (masked-op prediction).
The attention mask enters as -1e9 on forbidden scores (as in the authors' code), so a row is never empty.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nasgen.cate.config import CATEConfig

NEG = -1e9


class Block(nn.Module):
    def __init__(self, cfg: CATEConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1, self.norm2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.ReLU(), nn.Dropout(cfg.dropout),
                                nn.Linear(cfg.d_ff, cfg.d_model))  # fmt: skip
        self.drop = nn.Dropout(cfg.dropout)

    def attention(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        scores = scores.masked_fill(~allowed[:, None], NEG)
        out = self.drop(scores.softmax(-1)) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, d))

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attention(self.norm1(x), allowed))
        return x + self.drop(self.ff(self.norm2(x)))


class Stack(nn.Module):
    """Pre-norm blocks on an unnormalised residual stream, one layer norm at the end (the authors' encoder; an
    earlier reading normalised the stream after every block, which alone made no measurable difference)."""

    def __init__(self, cfg: CATEConfig, layers: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(layers))
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, allowed)
        return self.norm(x)


class Encoder(nn.Module):
    def __init__(self, vocab_size: int, cfg: CATEConfig) -> None:
        super().__init__()
        self.d = cfg.d_model
        self.embedding = nn.Embedding(vocab_size, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.stack = Stack(cfg, cfg.layers)

    def forward(self, tokens: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """tokens (B, N), allowed (B, N, N) bool -> node states (B, N, d)."""
        return self.stack(self.drop(self.embedding(tokens) * math.sqrt(self.d)), allowed)


class PairModel(nn.Module):
    def __init__(self, vocab_size: int, n_predicted: int, cfg: CATEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(vocab_size, cfg)
        self.segment = nn.Embedding(2, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.cross = Stack(cfg, cfg.cross_layers)
        self.head = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_model), nn.Tanh(), nn.Dropout(cfg.dropout),
                                  nn.Linear(cfg.d_model, n_predicted))  # fmt: skip

    def forward(self, x, allowed_x, valid_x, y, allowed_y, valid_y) -> torch.Tensor:
        """Both sides' tokens (B, N), masks (B, N, N) and real-node flags (B, N) -> logits (B, 2N, vocab)."""
        hx, hy = self.encoder(x, allowed_x), self.encoder(y, allowed_y)
        seg = self.segment(torch.tensor([0, 1], device=x.device))
        seg = seg * math.sqrt(self.cfg.d_model) if self.cfg.scaled_segment else seg
        h = torch.cat([hx + self.drop(seg[0]), hy + self.drop(seg[1])], 1)
        valid = torch.cat([valid_x, valid_y], 1)
        cross = (valid[:, :, None] & valid[:, None, :]) | torch.eye(h.shape[1], dtype=torch.bool, device=h.device)
        return self.head(self.cross(h, cross))


def masked_op_loss(logits: torch.Tensor, targets: torch.Tensor, ignore: int) -> torch.Tensor:
    """Cross-entropy over the corrupted positions only (targets ``ignore`` elsewhere)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=ignore)
