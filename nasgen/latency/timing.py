"""The timing harness: the latency of a module on a device, as a median and spread over repeats.

CPU: intra-op threads fixed for the measurement and recorded. CUDA: the device synchronised around every timed
call, after untimed warm-up calls (kernel selection, caches). ONNX Runtime runs the network's ONNX file
(``nasgen.onnx_format``) with the same threads. ``time.perf_counter`` per call, medians (robust to a stray pause)
with the 10th and 90th percentiles as the spread.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from nasgen.device import fixed_threads, resolve_device
from nasgen.errors import ConfigError
from nasgen.latency.config import TimingConfig
from nasgen.onnx_format import onnx_session, to_onnx


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p10_ms: float
    p90_ms: float
    repeats: int
    threads: int

    def to_dict(self) -> dict:
        return asdict(self)


def time_calls(fn: Callable[[], object], warmup: int, repeats: int, sync: Callable[[], None] = lambda: None,
               threads: int = 0) -> Timing:  # fmt: skip
    """Median and 10th/90th percentiles (ms) of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    p10, p90 = np.percentile(times, [10, 90])
    return Timing(statistics.median(times), float(p10), float(p90), repeats, threads)


def _dtype(precision: str, device: str) -> torch.dtype:
    if precision == "fp32":
        return torch.float32
    if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"precision bf16 is not supported on {torch.cuda.get_device_name(device)}")
    return torch.bfloat16


def time_module(module: nn.Module, input_shape: tuple[int, int, int], cfg: TimingConfig, device: str = "cpu") -> Timing:
    """Latency of ``module`` (eval mode, no autograd) on a batch of ``cfg.batch`` inputs of ``input_shape``."""
    device = resolve_device(device)
    if cfg.runtime == "onnx":
        return _time_onnx(module, input_shape, cfg, device)
    dtype = _dtype(cfg.precision, device)
    if device != "cpu" or dtype != torch.float32:  # timed as a copy: the caller's module keeps its device and dtype
        module = copy.deepcopy(module)
    module = module.eval().to(device=device, dtype=dtype)
    x = torch.randn(cfg.batch, *input_shape, generator=torch.Generator().manual_seed(0)).to(device, dtype)
    sync = (lambda: torch.cuda.synchronize(device)) if device.startswith("cuda") else (lambda: None)
    with fixed_threads(cfg.threads), torch.inference_mode():
        return time_calls(lambda: module(x), cfg.warmup, cfg.repeats, sync, torch.get_num_threads())


def _time_onnx(module: nn.Module, input_shape: tuple[int, int, int], cfg: TimingConfig, device: str) -> Timing:
    if cfg.precision != "fp32":
        raise ConfigError("ONNX Runtime latency is measured in fp32 only (the export is fp32)")
    session = onnx_session(to_onnx(copy.deepcopy(module), input_shape), device, cfg.threads)
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).standard_normal((cfg.batch, *input_shape)).astype(np.float32)
    return time_calls(lambda: session.run(None, {name: x}), cfg.warmup, cfg.repeats, threads=cfg.threads)
