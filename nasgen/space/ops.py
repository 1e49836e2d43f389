"""The 28 GraphNet operations: names, torch modules and exact analytic costs.

Every op keeps channels and resolution (DESIGN section 3). Costs follow the NAS-Bench-201 convention:
params = every trainable parameter (BN affine included), FLOPs = multiply-accumulates of conv/linear layers
at batch 1. The analytic formulas here must agree with a hook count on the modules built here
(tests/test_cost.py checks all 28 ops at several widths).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import lru_cache

from torch import nn

from nasgen.errors import InvalidCellError

TYPES: tuple[str, ...] = (
    "skip",
    "avg_pool",
    "conv",
    "sep_conv",
    "dil_conv",
    "mbconv_e2",
    "mbconv_e3",
    "mbconv_e6",
    "bconv_r0.5",
    "bconv_r0.25",
)
KERNELS: tuple[int, ...] = (1, 3, 5)
MBCONV_EXPANSION = {"mbconv_e2": 2, "mbconv_e3": 3, "mbconv_e6": 6}
BCONV_REDUCTION = {"bconv_r0.5": 0.5, "bconv_r0.25": 0.25}
DILATION = 2  # dil_conv's depthwise dilation


@dataclass(frozen=True)
class Op:
    """One of the 28 operations: a type and (except skip) a kernel size."""

    index: int
    type: str
    kernel: int | None

    @property
    def name(self) -> str:
        return self.type if self.kernel is None else f"{self.type}_{self.kernel}"

    @property
    def type_index(self) -> int:
        return TYPES.index(self.type)

    @property
    def kernel_index(self) -> int | None:
        return None if self.kernel is None else KERNELS.index(self.kernel)


def _all_ops() -> tuple[Op, ...]:
    ops = [Op(0, "skip", None)]
    for t in TYPES[1:]:
        for k in KERNELS:
            ops.append(Op(len(ops), t, k))
    return tuple(ops)


OPS: tuple[Op, ...] = _all_ops()
NUM_OPS = len(OPS)  # 28
_BY_NAME = {op.name: op for op in OPS}


def op_by_name(name: str) -> Op:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InvalidCellError(f"unknown operation {name!r}; expected one of: {', '.join(_BY_NAME)}") from None


def op_from_type_kernel(type_: str, kernel: int | None) -> Op:
    return op_by_name(type_ if type_ == "skip" else f"{type_}_{kernel}")


def bconv_width(type_: str, channels: int) -> int:
    """Bottleneck width ceil(r*c), at least 1."""
    return max(1, math.ceil(BCONV_REDUCTION[type_] * channels))


def _integer(value, what: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    return operator.index(value)


def op_cost(op_index: int, channels: int) -> tuple[int, int]:
    """(params, MACs per output pixel) of one op at ``channels`` channels. FLOPs = MACs/pixel * H * W.

    The arguments are made Python ints before the cache sees them: numpy ints and floats hash like ints, so a
    cache in front would hand numpy-typed costs to later callers, or answer a float; floats and bools are refused.
    """
    return _op_cost(_integer(op_index, "op index"), _integer(channels, "channels"))


@lru_cache(maxsize=65536)
def _op_cost(op_index: int, channels: int) -> tuple[int, int]:
    op = OPS[op_index]
    c, t = channels, op.type
    if t in ("skip", "avg_pool"):
        return 0, 0
    k2 = op.kernel * op.kernel
    if t == "conv":
        return c * c * k2 + 2 * c, c * c * k2
    if t in ("sep_conv", "dil_conv"):
        return c * k2 + c * c + 2 * c, c * k2 + c * c
    if t in MBCONV_EXPANSION:
        e = MBCONV_EXPANSION[t] * c
        return 2 * c * e + e * k2 + 4 * e + 2 * c, 2 * c * e + e * k2
    m = bconv_width(t, c)  # bconv
    return 2 * c * m + m * m * k2 + 4 * m + 2 * c, 2 * c * m + m * m * k2


def _conv(cin: int, cout: int, k: int, groups: int = 1, dilation: int = 1, stride: int = 1) -> nn.Conv2d:
    pad = dilation * (k - 1) // 2
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, groups=groups, bias=False)


def build_op(op_index: int, channels: int) -> nn.Module:
    """The torch module of one op; input and output are (B, channels, H, W)."""
    op = OPS[op_index]
    c, t, k = channels, op.type, op.kernel
    if t == "skip":
        return nn.Identity()
    if t == "avg_pool":
        return nn.AvgPool2d(k, stride=1, padding=k // 2, count_include_pad=False)
    if t == "conv":
        return nn.Sequential(nn.ReLU(), _conv(c, c, k), nn.BatchNorm2d(c))
    if t == "sep_conv":
        return nn.Sequential(nn.ReLU(), _conv(c, c, k, groups=c), _conv(c, c, 1), nn.BatchNorm2d(c))
    if t == "dil_conv":
        return nn.Sequential(nn.ReLU(), _conv(c, c, k, groups=c, dilation=DILATION), _conv(c, c, 1), nn.BatchNorm2d(c))
    if t in MBCONV_EXPANSION:
        e = MBCONV_EXPANSION[t] * c
        return nn.Sequential(
            _conv(c, e, 1), nn.BatchNorm2d(e), nn.ReLU(),
            _conv(e, e, k, groups=e), nn.BatchNorm2d(e), nn.ReLU(),
            _conv(e, c, 1), nn.BatchNorm2d(c),
        )  # fmt: skip
    m = bconv_width(t, c)
    return nn.Sequential(
        _conv(c, m, 1), nn.BatchNorm2d(m), nn.ReLU(),
        _conv(m, m, k), nn.BatchNorm2d(m), nn.ReLU(),
        _conv(m, c, 1), nn.BatchNorm2d(c),
    )  # fmt: skip
