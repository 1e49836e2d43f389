"""G-VAE losses, semi-supervised training and decoding (paper Eq. 2-3).

Each step takes a batch of all cells for reconstruction + KL, and a batch of labelled cells (those with a ZC
vector) for the triplet loss and the predictor's MSE. Triplets are mined inside the labelled batch with the ZC
distance d(a, b) = L1 of transformed ZC vectors: the positive is the anchor's nearest neighbour, the negative a
random cell farther from the anchor than the positive; the margin applies to latent L1 distances (the distance
the ZC-preservation metric uses). AdamW, cosine learning-rate schedule, early stopping on the held-out cells'
reconstruction loss; the best weights are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from nasgen.early_stopping import EarlyStopping
from nasgen.errors import ConfigError
from nasgen.gvae.config import GVAEConfig
from nasgen.gvae.data import IGNORE, TRIU, Decoded, GraphBatch, encode_cells, to_cell
from nasgen.gvae.model import GVAE, ZC_DIM
from nasgen.space.cell import MAX_NODES, Cell
from nasgen.space.ops import TYPES

SKIP = TYPES.index("skip")


def reconstruction_loss(logits: tuple[torch.Tensor, ...], g: GraphBatch) -> torch.Tensor:
    """Per-graph sum of op-count CE, slot type and kernel CE and edge BCE over the cell's own slots: (B,)."""
    size, types, kernel, edges = logits
    ce_size = F.cross_entropy(size, g.n_ops - 1, reduction="none")
    ce_type = F.cross_entropy(types.transpose(1, 2), g.type_class, reduction="none", ignore_index=IGNORE).sum(1)
    ce_kernel = F.cross_entropy(kernel.transpose(1, 2), g.kernel_class, reduction="none", ignore_index=IGNORE).sum(1)
    bce = (F.binary_cross_entropy_with_logits(edges, g.edges, reduction="none") * g.edge_mask).sum(1)
    return ce_size + ce_type + ce_kernel + bce


def dead_node_loss(size_logits: torch.Tensor, edge_logits: torch.Tensor) -> torch.Tensor:
    """-log P(every op node has an incoming and an outgoing edge), per graph, edges independent: (B,).

    In a topologically ordered DAG that is exactly "every op node lies on an input-output path", the
    validity condition decoding checks, so this trains the decoder towards valid graphs (nothing is repaired
    at decoding time). The op count is the decoder's own most likely one.
    """
    n = size_logits.argmax(-1) + 1  # (B,)
    p = torch.zeros(edge_logits.shape[0], MAX_NODES, MAX_NODES, dtype=edge_logits.dtype, device=edge_logits.device)
    p[:, TRIU[0], TRIU[1]] = torch.sigmoid(edge_logits)
    idx = torch.arange(MAX_NODES, device=edge_logits.device)
    inside = idx[None, :] <= (n + 1)[:, None]  # nodes of the decoded cell (input .. output)
    ops = (idx[None, :] >= 1) & (idx[None, :] <= n[:, None])
    pair = inside[:, :, None] & inside[:, None, :]
    log_none = torch.log1p(-(p * pair).clamp(max=1 - 1e-6))  # log(1 - p) over the cell's own pairs
    no_out = log_none.sum(2).exp()  # P(node i has no outgoing edge)
    no_in = log_none.sum(1).exp()  # P(node j has no incoming edge)
    per_node = -(torch.log1p(-no_out.clamp(max=1 - 1e-6)) + torch.log1p(-no_in.clamp(max=1 - 1e-6)))
    return (per_node * ops).sum(1)


def validity_latents(mu: torch.Tensor, interpolation: float, gen: torch.Generator) -> torch.Tensor:
    """Where the dead-node loss is applied: the rescaled prior (what the validity metric draws from) and,
    for a share ``interpolation`` of the rows, random points between two posterior means of the batch
    (where a generator that smooths the latent data, such as the CCNF, puts its samples)."""
    eps = torch.randn(mu.shape, generator=gen).to(mu.device)
    z = mu.mean(0) + mu.std(0) * eps
    k = int(round(interpolation * len(mu)))
    if k:
        a, b = torch.randint(0, len(mu), (2, k), generator=gen).to(mu.device)
        lam = torch.rand((k, 1), generator=gen).to(mu.device)
        z = torch.cat([mu[a] + lam * (mu[b] - mu[a]), z[k:]])
    return z


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def mine_triplets(t_zc: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(T, 3) anchor/positive/negative indices from ZC L1 distances."""
    d = torch.cdist(t_zc, t_zc, p=1)
    d.fill_diagonal_(float("inf"))
    pos = d.argmin(1)
    d_pos = d.gather(1, pos[:, None])
    farther = (d > d_pos) & torch.isfinite(d)
    # a uniform draw among each anchor's farther cells: the argmax of iid uniforms over that set
    draw = torch.rand(d.shape, generator=generator).masked_fill(~farther, -1.0)
    anchors = torch.nonzero(farther.any(1)).flatten()
    return torch.stack([anchors, pos[anchors], draw.argmax(1)[anchors]], 1).to(torch.long).reshape(-1, 3)


def triplet_loss(mu: torch.Tensor, t_zc: torch.Tensor, margin: float, generator: torch.Generator) -> torch.Tensor:
    trip = mine_triplets(t_zc.cpu(), generator).to(mu.device)
    if len(trip) == 0:
        return mu.sum() * 0.0
    a, p, n = mu[trip[:, 0]], mu[trip[:, 1]], mu[trip[:, 2]]
    return F.relu((a - p).abs().sum(1) - (a - n).abs().sum(1) + margin).mean()


def step_loss(model: GVAE, cfg: GVAEConfig, g: GraphBatch, labelled: tuple[GraphBatch, torch.Tensor] | None,
              gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """One step's loss and its recon / triplet / predictor parts (Eq. 2-3 plus the dead-node term).

    One encoder pass over the batch and the labelled cells together, one decoder pass over the batch's
    posterior draws and the validity latents together: every layer acts per graph (LayerNorm, no batch
    statistics), so this is the same function as separate passes, with half the module calls (30.9 -> 28.9 ms
    per demo step on 2 CPU threads: README, issue 20)."""
    b = len(g)
    both = g if labelled is None else g.cat(labelled[0])
    mu_all, logvar_all = model.encode(both)
    mu, logvar = mu_all[:b], logvar_all[:b]
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
    if cfg.validity_weight > 0:
        z = torch.cat([z, validity_latents(mu.detach(), cfg.validity_interpolation, gen)])
    size, types, kernel, edges = model.decoder(z)
    recon = reconstruction_loss((size[:b], types[:b], kernel[:b], edges[:b]), g).mean()
    loss = recon + cfg.beta_kl * kl_divergence(mu, logvar).mean()
    if cfg.validity_weight > 0:
        loss = loss + cfg.validity_weight * dead_node_loss(size[b:], edges[b:]).mean()
    trip = pred = torch.zeros(())
    if labelled is not None:
        mu_l, zc = mu_all[b:], labelled[1]
        trip = triplet_loss(mu_l, zc, cfg.triplet_margin, gen)
        pred = F.mse_loss(model.predictor(mu_l), zc)
        loss = loss + cfg.triplet_weight * trip + cfg.predictor_weight * pred
    return loss, recon, trip, pred


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    recon: list[float] = field(default_factory=list)
    val_recon: list[float] = field(default_factory=list)
    triplet: list[float] = field(default_factory=list)
    predictor: list[float] = field(default_factory=list)
    best_epoch: int = 0


def train(
    cells: Sequence[Cell],
    cfg: GVAEConfig,
    labelled: np.ndarray | None = None,
    t_zc: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
    device: str | torch.device = "cpu",
) -> tuple[GVAE, History, np.ndarray]:
    """Train on ``cells``; ``labelled`` indexes the cells whose transformed ZC vectors are ``t_zc``.

    Random draws (initialisation, batches, triplets, prior samples) come from CPU generators seeded by
    ``cfg.seed`` whatever the device, so a run is reproducible on its device.

    Returns the model with the best validation weights, the history and the indices of the held-out cells
    (``val_fraction`` of all cells, labelled or not; used for early stopping and never for supervision).
    """
    n = len(cells)
    if n < 2:
        raise ConfigError(f"the G-VAE needs at least 2 cells, got {n}")
    labelled = np.zeros(0, np.int64) if labelled is None else np.asarray(labelled, np.int64)
    if t_zc is not None and (t_zc.ndim != 2 or t_zc.shape != (len(labelled), ZC_DIM)):
        raise ConfigError(f"t_zc must have shape ({len(labelled)}, {ZC_DIM}), got {getattr(t_zc, 'shape', None)}")
    supervised = len(labelled) >= 3 and t_zc is not None and (cfg.triplet_weight > 0 or cfg.predictor_weight > 0)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    dev = torch.device(device)
    data = encode_cells(cells).to(dev)
    n_val = int(round(cfg.val_fraction * n)) if n >= 10 else 0
    perm = rng.permutation(n)
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    if supervised:  # held-out cells never reach the triplet or predictor losses (their metrics stay honest)
        keep = ~np.isin(labelled, val_idx)
        labelled, t_zc = labelled[keep], t_zc[keep]
        supervised = len(labelled) >= 3
    zc_t = torch.as_tensor(t_zc, dtype=torch.float32, device=dev) if supervised else None
    model = GVAE(cfg).to(dev)
    # fused: one kernel for all parameters instead of ~10 small ops each (the same update; 8% of a CPU step)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    steps_per_epoch = max(1, int(np.ceil(len(train_idx) / cfg.batch_size)))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch)
    hist, stopper = History(), EarlyStopping(cfg.patience)
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(train_idx))
        sums = np.zeros(4)
        for step in range(steps_per_epoch):
            g = data.index(order[step * cfg.batch_size : (step + 1) * cfg.batch_size])
            lab = None
            if supervised:
                pick = torch.from_numpy(
                    rng.choice(len(labelled), min(cfg.labelled_batch_size, len(labelled)), replace=False)
                )
                lab = (data.index(torch.from_numpy(labelled)[pick]), zc_t[pick])
            loss, recon, trip, pred = step_loss(model, cfg, g, lab, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            sums += [loss.item(), recon.item(), trip.item(), pred.item()]
        sums /= steps_per_epoch
        hist.train_loss.append(sums[0])
        hist.recon.append(sums[1])
        hist.triplet.append(sums[2])
        hist.predictor.append(sums[3])
        monitor = evaluate_reconstruction_loss(model, data.index(torch.from_numpy(val_idx))) if n_val else sums[1]
        hist.val_recon.append(monitor)
        if progress is not None:
            progress(1)
        stop = stopper.step(monitor, model, epoch)
        hist.best_epoch = stopper.best_epoch
        if stop:
            break
    stopper.restore(model)
    model.eval()
    return model, hist, val_idx


@torch.no_grad()
def evaluate_reconstruction_loss(model: GVAE, g: GraphBatch) -> float:
    model.eval()
    mu, _ = model.encode(g)
    return float(reconstruction_loss(model.decoder(mu), g).mean())


@torch.no_grad()
def decode(model: GVAE, z: torch.Tensor) -> list[Decoded]:
    """Greedy decoding under the grammar: the most likely op count, per op slot the most likely type and, for
    types that have one, the most likely kernel (never "none"); edges with logit > 0. Connectivity is not
    enforced: an op node off every input-output path makes the sample a failure."""
    model.eval()
    size, types, kernel, edges = model.decoder(z)
    n = (size.argmax(-1) + 1).tolist()
    t = types.argmax(-1)
    k = torch.where(t == SKIP, torch.zeros_like(t), kernel[..., 1:].argmax(-1) + 1)
    e = (edges > 0).int().tolist()
    return [to_cell(a, b, c, d) for a, b, c, d in zip(n, t.tolist(), k.tolist(), e)]


@torch.no_grad()
def encode(model: GVAE, cells: Sequence[Cell]) -> torch.Tensor:
    """Latent means of cells (the deterministic embedding)."""
    model.eval()
    return model.encode(encode_cells(cells).to(_device(model)))[0]


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def reconstruct(model: GVAE, cells: Sequence[Cell]) -> list[Decoded]:
    return decode(model, encode(model, cells))
