"""Torch builder: MacroArch -> nn.Module (stem, automatic projections, cells, head) as DESIGN section 3 fixes."""

from __future__ import annotations

import torch
from torch import nn

from nasgen.space.cell import Cell
from nasgen.space.macro import MacroArch
from nasgen.space.ops import build_op

STEM_KERNEL = 3


class CellModule(nn.Module):
    """Op nodes sum their inputs and apply their op; the output node sums its inputs."""

    def __init__(self, cell: Cell, channels: int):
        super().__init__()
        self.cell_id = cell.cell_id
        self.preds = [cell.predecessors(j) for j in range(1, cell.n_nodes)]
        self.ops = nn.ModuleList(build_op(o, channels) for o in cell.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = [x]
        for j, op in enumerate(self.ops):
            states.append(op(_sum(states, self.preds[j])))
        return _sum(states, self.preds[-1])


def _sum(states: list[torch.Tensor], idx: list[int]) -> torch.Tensor:
    out = states[idx[0]]
    for i in idx[1:]:
        out = out + states[i]
    return out


def projection(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


def needs_projection(cin: int, cout: int, stride: int) -> bool:
    return cin != cout or stride != 1


class Network(nn.Module):
    def __init__(self, macro: MacroArch):
        super().__init__()
        cin = macro.input_shape[0]
        c0 = macro.layers[0].channels
        self.stem = nn.Sequential(
            nn.Conv2d(cin, c0, STEM_KERNEL, padding=STEM_KERNEL // 2, bias=False), nn.BatchNorm2d(c0), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        prev = c0
        for layer in macro.layers:
            cell = CellModule(layer.cell, layer.channels)
            if needs_projection(prev, layer.channels, layer.stride):
                blocks.append(nn.Sequential(projection(prev, layer.channels, layer.stride), cell))
            else:
                blocks.append(cell)
            prev = layer.channels
        self.cells = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(prev, macro.classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps before global average pooling (Zen-score's f(x))."""
        return self.cells(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_network(macro: MacroArch) -> Network:
    return Network(macro)
