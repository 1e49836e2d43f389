"""Analytic params and FLOPs (MACs of conv/linear at batch 1) of cells and macros, without building modules,
and the hook-based count on a built module that the analytic numbers are tested against."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from nasgen.space.cell import Cell
from nasgen.space.macro import MacroArch
from nasgen.space.network import STEM_KERNEL, build_network, needs_projection
from nasgen.space.ops import op_cost


@dataclass(frozen=True)
class Cost:
    params: int
    flops: int

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.params + other.params, self.flops + other.flops)


def _ops_cost(ops: tuple[int, ...], channels: int) -> tuple[int, int]:
    return _cached_ops_cost(ops, operator.index(channels))  # an int key: no float or numpy value is cached


@lru_cache(maxsize=262144)
def _cached_ops_cost(ops: tuple[int, ...], channels: int) -> tuple[int, int]:
    params = macs = 0
    for o in ops:
        p, m = op_cost(o, channels)
        params += p
        macs += m
    return params, macs


def cell_cost(cell: Cell, channels: int, height: int, width: int) -> Cost:
    """Cost of one cell at ``channels`` and resolution H x W (ops keep both)."""
    params, macs = _ops_cost(cell.ops, channels)
    return Cost(params, macs * operator.index(height) * operator.index(width))


def spatial_after(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


def macro_cost(macro: MacroArch) -> Cost:
    return _positions_cost(macro.input_shape, macro.classes, [(x.channels, x.stride, x.cell.ops) for x in macro.layers])


def skeleton_cost(input_shape: tuple[int, int, int], classes: int, widths: Sequence[tuple[int, int]]) -> Cost:
    """The stem, projections and classifier of (channels, stride) positions, the cells left out: every network
    on this skeleton costs at least this (a cell's ops cost >= 0), so a budget check needs no cell yet."""
    return _positions_cost(input_shape, classes, [(c, s, ()) for c, s in widths])


def _positions_cost(input_shape: tuple[int, int, int], classes: int,
                    positions: Sequence[tuple[int, int, tuple[int, ...]]]) -> Cost:  # fmt: skip
    """(channels, stride, cell ops) per position -> the network's params and MACs."""
    cin, h, w = input_shape
    c = positions[0][0]
    k2 = STEM_KERNEL * STEM_KERNEL
    params, flops = cin * c * k2 + 2 * c, cin * c * k2 * h * w
    for channels, stride, ops in positions:
        if needs_projection(c, channels, stride):
            h, w = spatial_after(h, stride), spatial_after(w, stride)
            params += c * channels + 2 * channels
            flops += c * channels * h * w
        c = channels
        p, m = _ops_cost(ops, c)
        params += p
        flops += m * h * w
    params += c * classes + classes
    flops += c * classes
    return Cost(params, flops)


def count_module(module: nn.Module, input_shape: tuple[int, ...]) -> Cost:
    """Params and conv/linear MACs of a module, counted with forward hooks on one input of batch 1.

    Runs on whatever device the module lives on; on the meta device nothing is computed, only shapes.
    """
    flops = 0

    def hook(mod: nn.Module, _inp, out: torch.Tensor) -> None:
        nonlocal flops
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            flops += out.numel() // out.shape[0] * (mod.in_channels // mod.groups) * k
        elif isinstance(mod, nn.Linear):
            flops += out.numel() // out.shape[0] * mod.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = module.training
    try:
        first = next(itertools.chain(module.parameters(), module.buffers()), None)
        device = first.device if first is not None else torch.device("cpu")  # parameter-free: skip/avg_pool
        with torch.no_grad():
            module.eval()(torch.zeros((1, *input_shape), device=device))
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)  # counting must not change the caller's module
    return Cost(sum(p.numel() for p in module.parameters()), flops)


def counted_macro_cost(macro: MacroArch, device: str = "meta") -> Cost:
    """Build the network (on the meta device by default: no memory, no compute) and count it."""
    with torch.device(device):
        net = build_network(macro)
    return count_module(net, macro.input_shape)
