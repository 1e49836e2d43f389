"""GraphPNAS's learning signal (Section 3.2, Eqs. 11-12): REINFORCE on rewards standardised by the replay buffer,
with the reweighted log-likelihood that keeps improbable negatives from dominating.

R̄ = (R - C) / σ with C, σ the buffer's mean and std. A positive sample's loss is -R̄ log P(G); a negative's is
-β |R̄| log(1 - P(G)). Read literally, Eq. 12 inside Eq. 11 gives a negative the loss β |R̄| log(1 - P), whose
descent raises P(G); we take the reading that lowers it (the paper's stated aim) and test that sign.
log(1 - P) is computed as log(-expm1(log P)).
"""

from __future__ import annotations

import torch


def standardised(rewards: torch.Tensor, buffer_rewards: torch.Tensor) -> torch.Tensor:
    std = buffer_rewards.std(unbiased=False)
    return (rewards - buffer_rewards.mean()) / (std if float(std) > 0 else 1.0)


def reweighted_loss(log_p: torch.Tensor, advantage: torch.Tensor, beta: float) -> torch.Tensor:
    """Mean over samples of Eq. 11 with Eq. 12's likelihood; ``advantage`` is R̄ (no gradient)."""
    adv = advantage.detach()
    log_not = torch.log(-torch.expm1(log_p.clamp_max(-1e-7)))
    pos = torch.where(adv > 0, -adv * log_p, torch.zeros_like(log_p))
    neg = torch.where(adv < 0, -beta * adv.abs() * log_not, torch.zeros_like(log_p))
    return (pos + neg).mean()
