"""The operation-level lookup table: the latency of every building block of the macro space, measured alone.

A network is a sequence of blocks (stem, projections, the ops of every cell, head), each at its own channels and
resolution; the table holds each kind of block on a grid of channels at every resolution a network of the input
reaches, and ``lookup`` interpolates between grid points as a power law (latency ~ a * channels^b between two
neighbours, b from them), which is exact for a block whose cost is a power of its width. The sum over a
network's blocks is the first-order latency HW-NAS-Bench tabulates and nn-Meter refines; the element-wise sums
inside cells and what the blocks share (caches, launches) is what ``nasgen.latency.predictor`` learns on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from nasgen.latency.config import LatencyTableConfig
from nasgen.latency.timing import time_module
from nasgen.space.cost import spatial_after
from nasgen.space.macro import STRIDES, MacroArch
from nasgen.space.network import STEM_KERNEL, needs_projection, projection
from nasgen.space.ops import NUM_OPS, build_op

KINDS = ("stem", "projection", "op", "head")
COLUMNS = ("kind", "op", "stride", "cin", "cout", "resolution", "median_ms", "p10_ms", "p90_ms")


@dataclass(frozen=True)
class Block:
    """One block of a network: ``kind``, the op index (ops) or stride (projections), channels in and out, and the
    input resolution."""

    kind: str
    op: int
    stride: int
    cin: int
    cout: int
    resolution: int


def resolutions(size: int) -> tuple[int, ...]:
    """Every side a network of input side ``size`` can reach: size, then halved (rounding up) down to 1."""
    out = [size]
    while out[-1] > 1:
        out.append(spatial_after(out[-1], 2))
    return tuple(out)


def blocks(macro: MacroArch) -> list[Block]:
    """The blocks ``macro`` runs, in order, as ``nasgen.space.network.Network`` builds them."""
    c0 = macro.layers[0].channels
    res = macro.input_shape[1]
    out = [Block("stem", -1, 1, macro.input_shape[0], c0, res)]
    prev = c0
    for layer in macro.layers:
        if needs_projection(prev, layer.channels, layer.stride):
            out.append(Block("projection", -1, layer.stride, prev, layer.channels, res))
        res = spatial_after(res, layer.stride)
        out += [Block("op", o, 1, layer.channels, layer.channels, res) for o in layer.cell.ops]
        prev = layer.channels
    out.append(Block("head", -1, 1, prev, macro.classes, res))
    return out


def block_module(b: Block) -> nn.Module:
    if b.kind == "stem":
        pad = STEM_KERNEL // 2
        return nn.Sequential(nn.Conv2d(b.cin, b.cout, STEM_KERNEL, padding=pad, bias=False), nn.BatchNorm2d(b.cout),
                             nn.ReLU())  # fmt: skip
    if b.kind == "projection":
        return projection(b.cin, b.cout, b.stride)
    if b.kind == "op":
        return build_op(b.op, b.cin)
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(b.cin, b.cout))


def grid_blocks(input_shape: tuple[int, int, int], classes: int, channels: tuple[int, ...]) -> list[Block]:
    """The blocks the table measures for networks of ``input_shape`` and ``classes``."""
    cin, size = input_shape[0], input_shape[1]
    res = resolutions(size)
    out = [Block("stem", -1, 1, cin, c, size) for c in channels]
    out += [Block("projection", -1, s, a, c, r) for s in STRIDES for r in res for a in channels for c in channels]
    out += [Block("op", o, 1, c, c, r) for o in range(NUM_OPS) for r in res for c in channels]
    out += [Block("head", -1, 1, c, classes, r) for r in res for c in channels]
    return out


def measure(input_shape: tuple[int, int, int], classes: int, cfg: LatencyTableConfig, device: str = "cpu",
            progress: Callable[[int], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """Time every grid block alone on ``device`` (cfg.timing); one row per block (COLUMNS)."""
    rows = []
    for b in grid_blocks(input_shape, classes, cfg.channels):
        t = time_module(block_module(b), (b.cin, b.resolution, b.resolution), cfg.timing, device)
        rows.append({"kind": b.kind, "op": b.op, "stride": b.stride, "cin": b.cin, "cout": b.cout,
                     "resolution": b.resolution, "median_ms": t.median_ms, "p10_ms": t.p10_ms,
                     "p90_ms": t.p90_ms})  # fmt: skip
        if progress is not None:
            progress(1)
    return pd.DataFrame(rows, columns=list(COLUMNS))


class LatencyTable:
    """Lookups in a measured table (``measure``'s frame)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.grid = np.array(sorted(frame.loc[frame.kind == "op", "cin"].unique()), dtype=float)
        self._curves: dict[tuple, np.ndarray] = {}
        for (kind, op, stride, res), g in frame.groupby(["kind", "op", "stride", "resolution"]):
            if kind == "projection":  # a (cin, cout) surface
                surface = g.pivot(index="cin", columns="cout", values="median_ms").loc[self.grid, self.grid]
                self._curves[(kind, op, stride, res)] = surface.to_numpy()
            else:
                along = "cout" if kind == "stem" else "cin"
                self._curves[(kind, op, stride, res)] = g.set_index(along).loc[self.grid, "median_ms"].to_numpy()

    def lookup(self, b: Block) -> float:
        """The latency (ms) of block ``b``, interpolated between the grid's channels."""
        key = (b.kind, b.op if b.kind == "op" else -1, b.stride, b.resolution)
        if key not in self._curves:
            raise KeyError(f"the latency table has no {b.kind} block at resolution {b.resolution} (input side of the "
                           "table differs from the network's)")  # fmt: skip
        curve = self._curves[key]
        if b.kind == "projection":
            rows = np.array([_power_interp(self.grid, row, b.cout) for row in curve])
            return _power_interp(self.grid, rows, b.cin)
        return _power_interp(self.grid, curve, b.cout if b.kind == "stem" else b.cin)

    def network_sum(self, macro: MacroArch) -> tuple[float, int]:
        """(sum of the blocks' latencies in ms, number of blocks) of ``macro``."""
        bs = blocks(macro)
        return float(sum(self.lookup(b) for b in bs)), len(bs)


def _power_interp(grid: np.ndarray, values: np.ndarray, x: float) -> float:
    """log-log linear interpolation of ``values`` over ``grid`` at ``x`` (beyond the grid: the end segment's
    power law continued)."""
    lx, lg, lv = np.log(x), np.log(grid), np.log(np.maximum(values, 1e-6))
    i = int(np.clip(np.searchsorted(lg, lx) - 1, 0, len(grid) - 2))
    slope = (lv[i + 1] - lv[i]) / (lg[i + 1] - lg[i])
    return float(np.exp(lv[i] + slope * (lx - lg[i])))
