"""How networks are exported and checked (stage ``export``)."""

from __future__ import annotations

from typing import ClassVar, Literal, get_args

from pydantic import Field

from nasgen.frozen import Frozen
from nasgen.latency.config import TimingConfig
from nasgen.onnx_format import OPSET

ExportFormat = Literal["onnx", "torchscript"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)


class ExportConfig(Frozen):
    """``opset`` of the ONNX file (dynamic batch); the parity check runs the exported file (onnxruntime on CPU,
    or the TorchScript module) beside PyTorch at ``parity_batches`` and fails above ``tolerance`` (max abs
    difference of the logits); the card's latency is measured with ``timing`` on the export's device."""

    SECTION: ClassVar[str] = "export"

    opset: int = Field(OPSET, ge=13)
    parity_batches: tuple[int, ...] = (1, 4)
    tolerance: float = Field(1e-4, gt=0)
    timing: TimingConfig = TimingConfig()
