"""TorchScript files of a network, and the parity of an exported file (ONNX or TorchScript) with PyTorch."""

from __future__ import annotations

import io

import numpy as np
import torch
from torch import nn

from nasgen.errors import ConfigError, CorruptArtifactError
from nasgen.onnx_format import INPUT_NAME, onnx_session


def to_torchscript(net: nn.Module, input_shape: tuple[int, int, int]) -> bytes:
    """The serialised TorchScript module of ``net`` (traced in eval mode; the network has no data-dependent
    control flow, so the trace is the network at every batch size)."""
    net = net.eval().float().cpu()
    with torch.no_grad():
        traced = torch.jit.trace(net, torch.zeros(2, *input_shape))
    buf = io.BytesIO()
    torch.jit.save(traced, buf)
    return buf.getvalue()


def load_torchscript(data: bytes) -> torch.jit.ScriptModule:
    try:
        return torch.jit.load(io.BytesIO(data), map_location="cpu")
    except RuntimeError as e:
        raise CorruptArtifactError(f"not a TorchScript module: {str(e).splitlines()[0]}") from e


def max_abs_difference(net: nn.Module, data: bytes, fmt: str, input_shape: tuple[int, int, int],
                       batches: tuple[int, ...] = (1, 4), seed: int = 0) -> float:  # fmt: skip
    """The largest |logit difference| between ``net`` and its exported ``data`` (``fmt``) over seeded random
    batches of each size: what a deployment sees change by leaving PyTorch."""
    net = net.eval().float().cpu()
    run = _runner(data, fmt)
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    with torch.no_grad():
        for b in batches:
            x = torch.randn(b, *input_shape, generator=gen)
            worst = max(worst, float(np.abs(run(x) - net(x).numpy()).max()))
    return worst


def _runner(data: bytes, fmt: str):
    if fmt == "onnx":
        session = onnx_session(data)
        return lambda x: session.run(None, {INPUT_NAME: x.numpy()})[0]
    if fmt == "torchscript":
        module = load_torchscript(data)
        return lambda x: module(x).numpy()
    raise ConfigError(f"unknown export format {fmt!r}; use onnx or torchscript")
