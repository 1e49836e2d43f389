"""Training the SG on the HL-Evo history (paper Eq. 7): -log p(t_i | t_<i, y) over the sequence tokens only.

Condition tokens are the input, not the target: their labels are masked. Each condition token is dropped
independently with probability ``drop_condition`` every time an example is drawn (Appendix A), so one model
serves any subset of {params, FLOPs, ZC values}. The split is by distinct HL sequence, so a design seen in
training never scores the held-out loss; validation keeps every condition token. Early stopping on that loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import GPTNeoForCausalLM

from nasgen.early_stopping import EarlyStopping
from nasgen.errors import ConfigError
from nasgen.sg.config import SGConfig
from nasgen.sg.model import build
from nasgen.sg.tokenizer import PAD, SEP, SGTokenizer
from nasgen.space.macro import HLSequence

IGNORE = -100  # the label transformers' loss skips


@dataclass
class Example:
    seq: HLSequence
    condition: dict[str, float]


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)  # nats per sequence token
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0


def drop_condition(condition: Mapping[str, float], p: float, rng: np.random.Generator) -> dict[str, float]:
    """Each field kept with probability 1 - p (independently)."""
    return {k: v for k, v in condition.items() if rng.random() >= p}


def collate(rows: Sequence[list[int]], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Right-padded ids, attention mask, and labels on the tokens after <sep> only."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), PAD, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
        body = r.index(SEP) + 1
        labels[i, body : len(r)] = torch.tensor(r[body:])
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def split(examples: Sequence[Example], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices of (train, validation), grouped by distinct HL sequence."""
    ids = sorted({e.seq.seq_id for e in examples})
    rng = np.random.default_rng(seed)
    n_val = int(round(val_fraction * len(ids))) if len(ids) > 1 else 0
    held = set(rng.permutation(ids)[:n_val].tolist())
    train = [i for i, e in enumerate(examples) if e.seq.seq_id not in held]
    val = [i for i, e in enumerate(examples) if e.seq.seq_id in held]
    return train, val


@torch.no_grad()
def mean_loss(model: GPTNeoForCausalLM, rows: list[list[int]], batch: int, device) -> float:
    """Token-weighted mean NLL of the sequence tokens."""
    model.eval()
    total = count = 0.0
    for i in range(0, len(rows), batch):
        b = collate(rows[i : i + batch], device)
        n = float((b["labels"][:, 1:] != IGNORE).sum())
        total += float(model(**b).loss) * n
        count += n
    return total / max(count, 1.0)


def train(
    examples: Sequence[Example],
    tokenizer: SGTokenizer,
    cfg: SGConfig,
    progress: Callable[[int], None] | None = None,
    device: str | torch.device = "cpu",
) -> tuple[GPTNeoForCausalLM, History]:
    """Fit the SG; returns the best-validation model (eval mode) and the loss history."""
    if len(examples) < 2:
        raise ConfigError(f"the SG needs at least 2 history rows to train on, got {len(examples)}")
    rng = np.random.default_rng(cfg.seed)
    model = build(tokenizer, cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train_idx, val_idx = split(examples, cfg.val_fraction, cfg.seed)
    val_rows = [tokenizer.encode(examples[i].seq, examples[i].condition) for i in val_idx]
    hist, stopper = History(), EarlyStopping(cfg.patience)
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(train_idx)
        total = count = 0.0
        for i in range(0, len(order), cfg.batch_size):
            rows = [tokenizer.encode(examples[j].seq, drop_condition(examples[j].condition, cfg.drop_condition, rng))
                    for j in order[i : i + cfg.batch_size]]  # fmt: skip
            b = collate(rows, device)
            loss = model(**b).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n = float((b["labels"][:, 1:] != IGNORE).sum())
            total += loss.item() * n
            count += n
        hist.train_loss.append(total / max(count, 1.0))
        hist.val_loss.append(mean_loss(model, val_rows, cfg.batch_size, device) if val_rows else hist.train_loss[-1])
        if progress is not None:
            progress(1)
        if stopper.step(hist.val_loss[-1], model, epoch):
            break
    stopper.restore(model)
    hist.best_epoch = stopper.best_epoch
    return model.eval(), hist
