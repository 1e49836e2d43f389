"""The G-VAE: a graph encoder of torch-geometric dense convolutions, a slot decoder, and the ZC predictor q.

Encoder: node features plus a one-hot of the node's slot (cells arrive in canonical order, so the slot is
part of the graph's identity and the decoder need not learn canonicalisation); every layer runs one
convolution along the edges and one against them (a DAG's direction matters: which op feeds which), then
LayerNorm, ReLU and a residual; read-out = masked mean, max and the slot states themselves, then mean and
log-variance of the latent (mean/max read-out alone reached 4-6% held-out reconstruction on 5,000 cells).
``gcn`` uses DenseGCNConv (paper); ``gin`` uses DenseGINConv, the arch2vec encoder, as an ablation.
Decoder: a head for the op count; the latent expanded into 8 slot states (plus a learnt per-slot embedding),
from which two softmax heads give each slot's type and kernel and a pair MLP gives each of the 28
upper-triangle edge logits. q: a 2-layer MLP from the latent mean to the transformed ZC vector.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn.dense import DenseGCNConv, DenseGINConv

from nasgen.gvae.config import GVAEConfig
from nasgen.gvae.data import N_KERNEL_CLASSES, N_SIZE_CLASSES, N_TYPE_CLASSES, TRIU, GraphBatch
from nasgen.space.cell import FEATURE_DIM, MAX_NODES

ZC_DIM = 4


def _conv(kind: str, h: int) -> nn.Module:
    if kind == "gcn":
        return DenseGCNConv(h, h)
    return DenseGINConv(nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h)), train_eps=True)


def gcn_normalised(adj: torch.Tensor) -> torch.Tensor:
    """D^-1/2 (A + I) D^-1/2, as DenseGCNConv normalises its adjacency (row sums, self-loops of weight 1)."""
    adj = adj.clone()
    idx = torch.arange(adj.shape[-1], device=adj.device)
    adj[:, idx, idx] = 1
    d = adj.sum(-1).clamp(min=1).pow(-0.5)
    return d.unsqueeze(-1) * adj * d.unsqueeze(-2)


def dense_gcn(conv: DenseGCNConv, x: torch.Tensor, adj_normalised: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """DenseGCNConv's forward on an adjacency already normalised (``gcn_normalised``), its weights unchanged."""
    out = adj_normalised @ conv.lin(x)
    return (out if conv.bias is None else out + conv.bias) * m


class Encoder(nn.Module):
    def __init__(self, cfg: GVAEConfig):
        super().__init__()
        h = cfg.hidden
        self.inp = nn.Linear(FEATURE_DIM + MAX_NODES, h)
        self.forward_convs = nn.ModuleList(_conv(cfg.encoder, h) for _ in range(cfg.layers))
        self.backward_convs = nn.ModuleList(_conv(cfg.encoder, h) for _ in range(cfg.layers))
        self.norms = nn.ModuleList(nn.LayerNorm(h) for _ in range(cfg.layers))
        self.mu = nn.Linear((2 + MAX_NODES) * h, cfg.latent)
        self.logvar = nn.Linear((2 + MAX_NODES) * h, cfg.latent)

    def forward(
        self, adj: torch.Tensor, features: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        slots = torch.eye(MAX_NODES, dtype=features.dtype, device=features.device).expand(len(features), -1, -1)
        x = self.inp(torch.cat([features, slots], dim=-1))
        # DenseGCNConv aggregates over adj[:, i, :] (row i's non-zeros) into node i: A^T carries i's
        # predecessors to i (along the edges), A its successors (against them).
        along, against = adj.transpose(1, 2), adj
        m = mask.unsqueeze(-1).to(x.dtype)
        if isinstance(self.forward_convs[0], DenseGCNConv):  # the normalised adjacencies once, not per layer
            along, against = gcn_normalised(along), gcn_normalised(against)
            conv = lambda c, x, a: dense_gcn(c, x, a, m)  # noqa: E731
        else:
            conv = lambda c, x, a: c(x, a, mask)  # noqa: E731
        for fc, bc, norm in zip(self.forward_convs, self.backward_convs, self.norms):
            x = x + F.relu(norm(conv(fc, x, along) + conv(bc, x, against)))
        mean = (x * m).sum(1) / m.sum(1).clamp_min(1.0)
        mx = x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        g = torch.cat([mean, mx, (x * m).flatten(1)], dim=-1)
        return self.mu(g), self.logvar(g)


class Decoder(nn.Module):
    def __init__(self, cfg: GVAEConfig):
        super().__init__()
        h = cfg.hidden
        self.expand = nn.Sequential(nn.Linear(cfg.latent, h), nn.ReLU(), nn.Linear(h, MAX_NODES * h))
        self.slot = nn.Parameter(torch.randn(MAX_NODES, h) * 0.02)
        self.mix = nn.Sequential(nn.LayerNorm(h), nn.Linear(h, h), nn.ReLU())
        self.size_head = nn.Sequential(nn.Linear(cfg.latent, h), nn.ReLU(), nn.Linear(h, N_SIZE_CLASSES))
        self.type_head = nn.Linear(h, N_TYPE_CLASSES)
        self.kernel_head = nn.Linear(h, N_KERNEL_CLASSES)
        self.edge_head = nn.Sequential(nn.Linear(2 * h, h), nn.ReLU(), nn.Linear(h, 1))
        self.hidden = h

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Logits of the op count (B, 6), slot types (B, 8, 10), slot kernels (B, 8, 4), edges (B, 28)."""
        s = self.mix(self.expand(z).view(-1, MAX_NODES, self.hidden) + self.slot)
        return self.size_head(z), self.type_head(s), self.kernel_head(s), self.edge_logits(s)

    def edge_logits(self, s: torch.Tensor) -> torch.Tensor:
        """``edge_head`` on the concatenated slot pairs (B, 28, 2h), computed as W_i s_i + W_j s_j: the first
        layer runs on the 8 slots instead of the 28 pairs (the same function, a third of its arithmetic)."""
        first, act, last = self.edge_head
        h = self.hidden
        src = F.linear(s, first.weight[:, :h])  # (B, 8, h)
        dst = F.linear(s, first.weight[:, h:], first.bias)
        return last(act(src[:, TRIU[0]] + dst[:, TRIU[1]])).squeeze(-1)


class GVAE(nn.Module):
    def __init__(self, cfg: GVAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.predictor = nn.Sequential(nn.Linear(cfg.latent, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, ZC_DIM))

    def encode(self, g: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(g.adj, g.features, g.mask)

    def forward(self, g: GraphBatch, sample: bool = True):
        mu, logvar = self.encode(g)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return mu, logvar, self.decoder(z)
