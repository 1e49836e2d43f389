"""ONNX files of torch modules and onnxruntime sessions on them: the one place nasgen meets ONNX.

ONNX goes through torch's ``torch.export``-based exporter (``dynamo=True``, the one kept going forward; the
TorchScript-based one is deprecated since torch 2.9); onnxruntime, the reference runtime, runs the file. Used by
the exports (files a deployment takes away) and by latency timing on ONNX Runtime.
"""

from __future__ import annotations

import logging
import warnings

import torch
from torch import nn

from nasgen.errors import ConfigError, CorruptArtifactError

OPSET = 18  # the torch.export-based exporter's default opset in torch 2.13; every file states its own
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def to_onnx(net: nn.Module, input_shape: tuple[int, int, int], opset: int = OPSET) -> bytes:
    """The serialised ONNX model of ``net`` (eval mode, fp32), batch dimension dynamic."""
    net = net.eval().float().cpu()
    x = torch.zeros(2, *input_shape)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(net, (x,), dynamo=True, opset_version=opset, verbose=False,
                                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                    dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))  # fmt: skip
    return program.model_proto.SerializeToString()


def onnx_session(model: bytes, device: str = "cpu", threads: int = 1):
    """An onnxruntime session of ``model`` with ``threads`` intra-op threads, on CPU or (where the CUDA
    provider is installed) on the GPU."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError("onnxruntime has no CUDA provider here (the lock installs the CPU wheel)")
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(model, opts, providers=providers)
    except Exception as e:  # onnxruntime raises its own types for a bad file
        raise CorruptArtifactError(f"onnxruntime cannot load the ONNX model: {e}") from e
