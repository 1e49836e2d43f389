"""Draws of a trained GraphPNAS generator as GraphNet cells (the learnt distribution of good cells)."""

from __future__ import annotations

import torch

from nasgen.errors import InvalidCellError
from nasgen.graphpnas.graphs import to_cell
from nasgen.graphpnas.model import Generator
from nasgen.space.cell import Cell


def sample_cells(model: Generator, n: int, seed: int) -> list[Cell | None]:
    """``n`` draws of the learnt distribution as cells (None where a draw is not a valid cell)."""
    graphs, _ = model.sample(n, torch.Generator().manual_seed(seed))
    out: list[Cell | None] = []
    for g in graphs:
        try:
            out.append(to_cell(g))
        except InvalidCellError:
            out.append(None)
    return out
