"""Early stopping shared by the model trainers: keep the best epoch's weights, stop after ``patience`` idle epochs."""

from __future__ import annotations

import copy

from torch import nn


class EarlyStopping:
    def __init__(self, patience: int, min_delta: float = 1e-6):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.stale = float("inf"), 0, 0
        self._state: dict | None = None

    def step(self, monitor: float, model: nn.Module, epoch: int) -> bool:
        """Record an epoch's monitored loss; True when training should stop."""
        if monitor < self.best - self.min_delta:
            self.best, self.best_epoch, self.stale = monitor, epoch, 0
            self._state = copy.deepcopy(model.state_dict())
            return False
        self.stale += 1
        return self.stale >= self.patience

    def restore(self, model: nn.Module) -> None:
        if self._state is not None:
            model.load_state_dict(self._state)
