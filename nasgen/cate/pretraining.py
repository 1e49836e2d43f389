"""Pre-training CATE (dissertation ch. 4, "Pre-training CATE") and encoding with it.

- Pairs: the architectures are split 95/5 (``test_fraction``); within each split every architecture x gets
  ``pairs_per_arch`` distinct partners y drawn from its neighbourhood {y != x : d(P(x), P(y)) < delta} (none
  when it is empty), P a computational attribute (params, FLOPs) or a ZC vector.
- Corruption (BERT's): each real node of both sides independently with probability ``corruption_rate``
  becomes a target; 80% of targets (``mask_fraction``) read [MASK], the rest a uniformly random node token.
- Loss: cross-entropy of the pair model's predictions at the targets; AdamW with weight decay on the weight
  matrices (linear and embedding), none on biases and layer norms; the learning rate warms up linearly over
  ``warmup_steps`` and decays linearly to 0 at the last step (``lr_schedule = linear``, the authors' code).
- Metric: masked-op accuracy on the held-out pairs (fixed corruption seed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from nasgen.cate.config import CATEConfig
from nasgen.cate.graphs import TokenSpace, Vocabulary, dependency_mask, output_positions
from nasgen.cate.model import PairModel, masked_op_loss
from nasgen.errors import ConfigError

IGNORE = -100


def neighbour_pairs(attribute: np.ndarray, delta: float, k: int, rng: np.random.Generator) -> np.ndarray:
    """(M, 2) index pairs: each row x with up to ``k`` distinct partners at distance < ``delta``."""
    a = np.asarray(attribute, dtype=float)
    out = []
    if a.ndim == 1:
        order = np.argsort(a, kind="stable")
        sa = a[order]
        lo = np.searchsorted(sa, sa - delta, side="right")
        hi = np.searchsorted(sa, sa + delta, side="left")
        for p, x in enumerate(order):
            cand = np.concatenate([order[lo[p] : p], order[p + 1 : hi[p]]])
            out += [(x, y) for y in rng.choice(cand, size=min(k, len(cand)), replace=False)] if len(cand) else []
    else:
        for x in range(len(a)):
            d = np.linalg.norm(a - a[x], axis=1)
            cand = np.flatnonzero(d < delta)
            cand = cand[cand != x]
            out += [(x, y) for y in rng.choice(cand, size=min(k, len(cand)), replace=False)] if len(cand) else []
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def corrupt(tokens: np.ndarray, vocab: Vocabulary, cfg: CATEConfig, rng: np.random.Generator):
    """(corrupted tokens, targets): targets hold the original token where corrupted, IGNORE elsewhere."""
    tokens = np.asarray(tokens)
    real = tokens != vocab.pad
    hit = real & (rng.random(tokens.shape) < cfg.corruption_rate)
    masked = hit & (rng.random(tokens.shape) < cfg.mask_fraction)
    randomised = hit & ~masked
    out = tokens.copy()
    out[masked] = vocab.mask
    out[randomised] = rng.integers(len(vocab.names), size=int(randomised.sum()))
    return out, np.where(hit, tokens, IGNORE)


class Prepared:
    """Tokens, attention masks and real-node flags of a space's architectures, as tensors."""

    def __init__(self, items: Sequence, space: TokenSpace, closure: bool) -> None:
        tokens, adj = space.tokens(items)
        self.tokens = tokens
        self.valid = tokens != space.vocab.pad
        self.allowed = torch.from_numpy(dependency_mask(adj, closure, self.valid))
        self.valid_t = torch.from_numpy(self.valid)
        self.vocab = space.vocab


def _batch_loss(model: PairModel, data: Prepared, pairs: np.ndarray, cfg: CATEConfig, rng) -> tuple:
    x, y = pairs[:, 0], pairs[:, 1]
    cx, tx = corrupt(data.tokens[x], data.vocab, cfg, rng)
    cy, ty = corrupt(data.tokens[y], data.vocab, cfg, rng)
    logits = model(torch.from_numpy(cx), data.allowed[x], data.valid_t[x],
                   torch.from_numpy(cy), data.allowed[y], data.valid_t[y])  # fmt: skip
    targets = torch.from_numpy(np.concatenate([tx, ty], 1))
    return masked_op_loss(logits, targets, IGNORE), logits, targets


def _optimizer(model: PairModel, cfg: CATEConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim >= 2]  # linear and embedding matrices
    rest = [p for p in model.parameters() if p.ndim < 2]  # biases and layer-norm gains
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.999))  # fmt: skip


def lr_factor(step: int, total: int, cfg: CATEConfig) -> float:
    """The learning-rate multiplier at optimiser step ``step`` (0-based) of ``total``."""
    if cfg.lr_schedule == "constant":
        return 1.0
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    return max(0.0, (total - step) / max(1, total - cfg.warmup_steps))


def held_out_count(n: int, cfg: CATEConfig) -> int:
    return int(round(n * cfg.test_fraction))


def split_pairs(attribute: np.ndarray, cfg: CATEConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(training pairs, held-out pairs): a ``test_fraction`` split of the architectures, then neighbour pairs
    within each part."""
    n = len(attribute)
    held = held_out_count(n, cfg)
    if held < 2 or n - held < 2:
        raise ConfigError(f"{n} architectures cannot be split into a held-out {cfg.test_fraction:.0%} and training")
    perm = rng.permutation(n)
    test_idx, train_idx = np.sort(perm[:held]), np.sort(perm[held:])
    train_pairs = train_idx[neighbour_pairs(attribute[train_idx], cfg.pair_delta, cfg.pairs_per_arch, rng)]
    test_pairs = test_idx[neighbour_pairs(attribute[test_idx], cfg.pair_delta, cfg.pairs_per_arch, rng)]
    if not len(train_pairs) or not len(test_pairs):
        raise ConfigError(f"no architecture pair within pair_delta {cfg.pair_delta} of {cfg.pair_by}")
    return train_pairs, test_pairs


def train(items: Sequence, space: TokenSpace, attribute: np.ndarray, cfg: CATEConfig,
          progress: Callable[[int], None] | None = None) -> tuple[PairModel, dict]:  # fmt: skip
    """Pre-train on pairs of ``items`` neighbouring in ``attribute``; the model and its metrics."""
    n = len(items)
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    train_pairs, test_pairs = split_pairs(np.asarray(attribute), cfg, rng)
    data = Prepared(items, space, cfg.closure)
    model = PairModel(space.vocab.size, len(space.vocab.names), cfg)
    opt = _optimizer(model, cfg)
    total = cfg.epochs * -(-len(train_pairs) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, total, cfg))
    history = []
    for _ in range(cfg.epochs):
        model.train()
        order = rng.permutation(len(train_pairs))
        seen = 0.0
        for i in range(0, len(order), cfg.batch_size):
            loss = _batch_loss(model, data, train_pairs[order[i : i + cfg.batch_size]], cfg, rng)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            seen += float(loss.detach()) * len(order[i : i + cfg.batch_size])
        history.append(seen / len(order))
        if progress:
            progress(1)
    metrics = {"architectures": n, "held_out": held_out_count(n, cfg), "train_pairs": len(train_pairs),
               "test_pairs": len(test_pairs), "train_loss": history,
               **held_out_accuracy(model, data, test_pairs, cfg)}  # fmt: skip
    return model, metrics


@torch.no_grad()
def held_out_accuracy(model: PairModel, data: Prepared, pairs: np.ndarray, cfg: CATEConfig) -> dict:
    model.eval()
    rng = np.random.default_rng(cfg.seed + 1)
    right = count = 0
    loss = 0.0
    for i in range(0, len(pairs), cfg.batch_size):
        batch_loss, logits, targets = _batch_loss(model, data, pairs[i : i + cfg.batch_size], cfg, rng)
        hit = targets != IGNORE
        right += int((logits.argmax(-1)[hit] == targets[hit]).sum())
        count += int(hit.sum())
        loss += float(batch_loss) * int(hit.sum())
    return {"masked_accuracy": right / max(count, 1), "test_loss": loss / max(count, 1), "masked_ops": count}


@torch.no_grad()
def encode(model: PairModel, items: Sequence, space: TokenSpace, batch_size: int = 4096) -> torch.Tensor:
    """(B, d_model) CATE encodings: each architecture's output-node state from the (unpaired) encoder."""
    model.eval()
    data = Prepared(items, space, model.cfg.closure)
    out_pos = torch.from_numpy(output_positions(data.tokens, space.vocab))
    parts = []
    for i in range(0, len(items), batch_size):
        h = model.encoder(torch.from_numpy(data.tokens[i : i + batch_size]), data.allowed[i : i + batch_size])
        parts.append(h[torch.arange(len(h)), out_pos[i : i + batch_size]])
    return torch.cat(parts)
