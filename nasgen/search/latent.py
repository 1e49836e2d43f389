"""What the searches over frozen embedding tables share (dissertation ch. 3, "Architecture Search
Strategies"): the candidates are the rows of a table and an oracle answers one value per row; nothing is
decoded, so every proposal is a real architecture. ``table_oracle`` turns a space's ``rows`` view and an
objective into that: the rows whose architecture the objective refuses (GraphNet: alpha_x over the budget)
are dropped first, at no evaluation. The searches stop when the budget (or the table) is spent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch

from nasgen.errors import ConfigError
from nasgen.search.strategy import Objective, Space

Reward = Callable[[float], float]


class RowOracle(Protocol):
    left: int

    def query(self, index: int) -> float: ...


class TableOracle:
    """Rows of an admitted sub-table answered by the objective of the architecture they stand for."""

    def __init__(self, objective: Objective, archs: list) -> None:
        self.objective, self.archs = objective, archs

    @property
    def left(self) -> float:
        return self.objective.left

    def query(self, row: int) -> float:
        return self.objective.query(self.archs[row])


def table_oracle(space: Space, objective: Objective, encoder: str) -> tuple[TableOracle, np.ndarray, Reward]:
    """The admitted rows of the space's ``encoder`` table as an oracle, that sub-table, and the reward scale."""
    rows = space.rows
    table = np.asarray(rows.tables[encoder])
    archs = [rows.arch(r) for r in range(len(table))]
    keep = [r for r, a in enumerate(archs) if objective.admits(a)]
    if not keep:
        raise ConfigError(f"no architecture of the {space.name} pool of {encoder} is admitted by the objective")
    return TableOracle(objective, [archs[r] for r in keep]), table[keep], rows.reward


def nearest_unvisited(table: torch.Tensor, point: torch.Tensor, visited: np.ndarray) -> int:
    d = torch.linalg.vector_norm(table - point, dim=1)
    d[torch.from_numpy(visited)] = torch.inf
    return int(torch.argmin(d))
