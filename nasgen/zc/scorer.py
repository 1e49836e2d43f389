"""Scoring cells and macro architectures: seeded networks, one batch per scorer, failures as rows.

A failure of one network (non-finite value, exception, out of memory) becomes a row with a status and the
error text; it never stops the other networks of a shard. Weights come from a generator seeded by
(config seed, cell code or arch id), so a record is reproducible bit for bit on one machine whatever the
order, shard, thread or process that scores it.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from nasgen.device import resolve_device
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch, reference_macro
from nasgen.space.network import Network, build_network
from nasgen.zc.common import WEIGHT_LAYERS, make_batch
from nasgen.zc.config import ZCConfig
from nasgen.zc.record import zc_record

STATUSES = ("ok", "nan", "error", "oom")


def derive_seed(seed: int, name: str) -> int:
    """A 63-bit seed for one network: independent streams for distinct names, stable across runs."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little") >> 1


def init_default(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """PyTorch's default initialisation (kaiming-uniform with a = sqrt(5), uniform biases), from ``generator``."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, WEIGHT_LAYERS):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
            elif isinstance(m, _BatchNorm):
                m.reset_parameters()
    return net


def seeded_module(build: Callable[[], nn.Module], seed: int, device: str | torch.device = "cpu") -> nn.Module:
    """Built on the meta device (no throw-away init), materialised on ``device``, initialised from ``seed``."""
    with torch.device("meta"):
        net = build()
    net = net.to_empty(device=device)
    return init_default(net, torch.Generator(device=device).manual_seed(seed))


def seeded_network(macro: MacroArch, seed: int, device: str | torch.device = "cpu") -> Network:
    return seeded_module(lambda: build_network(macro), seed, device)


def is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.OutOfMemoryError) or "out of memory" in str(e).lower()


class Scorer:
    """ZC records of cells (on alpha_x at the config's input) and of macro architectures."""

    def __init__(self, cfg: ZCConfig = ZCConfig(), device: str = "cpu"):
        self.cfg = cfg
        self.device = resolve_device(device)
        self.batch = make_batch(cfg, self.device)

    def macro_for(self, cell: Cell) -> MacroArch:
        return reference_macro(cell, input_shape=self.cfg.input_shape, classes=self.cfg.classes)

    def score_cell(self, cell: Cell) -> dict[str, Any]:
        return self.score_macro(self.macro_for(cell), name=cell.cell_id)

    def score_macro(self, macro: MacroArch, name: str | None = None) -> dict[str, Any]:
        name = name or macro.arch_id
        return self.guarded(lambda: self._record(macro, name))

    def _record(self, macro: MacroArch, name: str) -> dict[str, float]:
        if tuple(macro.input_shape) != self.cfg.input_shape:
            raise ValueError(f"macro input {tuple(macro.input_shape)} differs from the ZC input {self.cfg.input_shape}")
        net = seeded_network(macro, derive_seed(self.cfg.seed, name), self.device)
        return zc_record(net, self.batch, self.cfg, cost=macro_cost(macro))

    def score_module(self, build: Callable[[], nn.Module], name: str) -> dict[str, Any]:
        """The record of any network taking the config's input (e.g. the NB-201 network); costs are counted."""
        return self.guarded(lambda: zc_record(seeded_module(build, derive_seed(self.cfg.seed, name), self.device),
                                              self.batch, self.cfg))  # fmt: skip

    def guarded(self, compute: Callable[[], dict[str, float]]) -> dict[str, Any]:
        """Run ``compute`` and turn what can go wrong with one network into a row."""
        t0 = time.perf_counter()
        values: dict[str, float] = {}
        status, error = "ok", None
        try:
            values = compute()
            bad = [k for k, v in values.items() if not math.isfinite(v)]
            if bad:
                status, error = "nan", "non-finite " + ", ".join(f"{k}={values[k]}" for k in bad)
        except Exception as e:  # one network's failure must not stop the shard
            status = "oom" if is_oom(e) else "error"
            error = f"{type(e).__name__}: {e}"[:2000]
            if status == "oom" and self.device.startswith("cuda"):
                torch.cuda.empty_cache()
        row: dict[str, Any] = {p: values.get(p, math.nan) for p in self.cfg.proxies}
        row.update(status=status, error=error, seconds=time.perf_counter() - t0, device=self.device)
        return row

    def score_cells(self, cells: Iterable[Cell], progress: Callable[[int], None] | None = None) -> Iterator[dict]:
        for cell in cells:
            row = self.score_cell(cell)
            if progress is not None:
                progress(1)
            yield {"cell_id": cell.cell_id, **row}
