"""The NAS-Bench-201 network (Dong & Yang, 2020, the ``TinyNetwork`` its tables were trained with).

Stem 3x3 conv (16 channels) -> BN; three stages of ``cells_per_stage`` (5) cells at 16 / 32 / 64 channels,
joined by ResNet basic blocks of stride 2 (ReLU-conv3x3(s2)-BN, ReLU-conv3x3-BN, shortcut 2x2 average pool then
1x1 conv); BN -> ReLU; global average pooling; linear. In a cell node j sums op_ij(node i) over i < j and the
cell returns node 3. Ops: ``nor_conv_kxk`` = ReLU-conv-BN, ``avg_pool_3x3`` (stride 1, padding not counted),
``skip_connect`` = identity, ``none`` = zeros. Proxies see it like alpha_x: conv/linear layers, ReLU modules
and a ``features`` method (the pre-pooling maps Zen-score needs).
"""

from __future__ import annotations

import torch
from torch import nn

from nasgen.nb201.arch import EDGES, NODES, Arch, check

STEM_CHANNELS = 16
CELLS_PER_STAGE = 5
STAGES = 3


def relu_conv_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout)
    )


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def edge_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name == "nor_conv_3x3":
        return relu_conv_bn(channels, channels, 3)
    if name == "nor_conv_1x1":
        return relu_conv_bn(channels, channels, 1)
    raise ValueError(f"unknown NB-201 operation {name!r}")


class NB201Cell(nn.Module):
    def __init__(self, arch: Arch, channels: int):
        super().__init__()
        self.edges = list(EDGES)
        self.ops = nn.ModuleList(edge_op(o, channels) for o in arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, NODES):
            nodes.append(sum(op(nodes[i]) for (i, k), op in zip(self.edges, self.ops) if k == j))
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NB201's ResNetBasicblock with stride 2: the only place the channels double and the resolution halves."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv_a = relu_conv_bn(cin, cout, 3, stride=2)
        self.conv_b = relu_conv_bn(cout, cout, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    def __init__(self, arch: Arch, classes: int = 10, in_channels: int = 3, channels: int = STEM_CHANNELS,
                 cells_per_stage: int = CELLS_PER_STAGE):  # fmt: skip
        super().__init__()
        arch = check(arch)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        blocks: list[nn.Module] = []
        c = channels
        for stage in range(STAGES):
            if stage:
                blocks.append(ResidualReduction(c, 2 * c))
                c *= 2
            blocks += [NB201Cell(arch, c) for _ in range(cells_per_stage)]
        self.cells = nn.Sequential(*blocks)
        self.last = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.cells(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_nb201(arch: Arch, classes: int = 10, in_channels: int = 3) -> NB201Network:
    return NB201Network(arch, classes=classes, in_channels=in_channels)
