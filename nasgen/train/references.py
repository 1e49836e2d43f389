"""Hand-designed reference networks for a size budget: what a generated network has to beat on a real task.

- ``two_conv``: Zalando's "2 Conv <100K parameters" entry of the Fashion-MNIST benchmark (92.5%; hardmaru's
  ``pytorch_tiny_custom_mnist_adam`` notebook): 5x5 conv (32) -> ReLU -> 2x2 max-pool, 5x5 conv (64) -> ReLU ->
  2x2 max-pool, one linear layer. Max-pooling and a flattened classifier are not in the macro space: plain torch,
  specified as a ``PlainNet`` so stage `trained` keys, trains and checkpoints it like a MacroArch.
- ``resnet20``: He et al.'s CIFAR ResNet-20 in the macro space: 3 stages of 3 basic blocks (a cell of two 3x3
  convs with an identity edge), widths b, 2b, 4b, stride 2 at the 2nd and 3rd stage. The space's convs are
  ReLU -> conv -> BN (pre-activation order) and a width or stride change is a 1x1 projection (shortcut B).
- ``mobilenetv2``: MobileNetV2's CIFAR-style stages in the macro space: a depthwise-separable block, then
  inverted residuals (a cell of one expand-6 3x3 MBConv with an identity edge); no 1280-wide last conv.

``fit_budget`` scales a reference's width to the largest that meets a budget (analytic costs: params, MACs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from nasgen.errors import ConfigError
from nasgen.space.cell import Cell
from nasgen.space.cost import Cost, macro_cost
from nasgen.space.macro import CHANNEL_STEP, MAX_CHANNELS, MacroArch
from nasgen.space.network import build_network


def _cell(ops: tuple[str, ...], edges: list[list[int]]) -> Cell:
    return Cell.from_dict({"nodes": ["input", *ops, "output"], "edges": edges})


BASIC_BLOCK = _cell(("conv_3", "conv_3"), [[0, 1], [1, 2], [2, 3], [0, 3]])
INVERTED_RESIDUAL = _cell(("mbconv_e6_3",), [[0, 1], [1, 2], [0, 2]])
SEPARABLE = _cell(("sep_conv_3",), [[0, 1], [1, 2]])
# MobileNetV2 (Sandler et al. 2018, Table 2) from its 16-channel block on, strides for a 28-32 pixel input:
# (cell, channels at width 1, repeats, stride of the first)
MOBILENETV2_STAGES = (
    (SEPARABLE, 16, 1, 1), (INVERTED_RESIDUAL, 24, 2, 1), (INVERTED_RESIDUAL, 32, 3, 2),
    (INVERTED_RESIDUAL, 64, 4, 2), (INVERTED_RESIDUAL, 96, 3, 1), (INVERTED_RESIDUAL, 160, 3, 2),
)  # fmt: skip
RESNET20_STAGES = ((16, 3, 1), (32, 3, 2), (64, 3, 2))  # (channels at width 1, blocks, stride of the first)
TWO_CONV = (32, 64, 5)  # channels of the two convs, kernel
WIDTHS = tuple(w / 16 for w in range(1, 129))  # the multipliers fit_budget tries: 1/16 .. 8


def _channels(c: float) -> int:
    return int(min(MAX_CHANNELS, max(CHANNEL_STEP, CHANNEL_STEP * round(c / CHANNEL_STEP))))


def resnet20(width: float = 1.0, input_shape=(3, 32, 32), classes: int = 10) -> MacroArch:
    triples = [(BASIC_BLOCK, _channels(c * width), s if i == 0 else 1)
               for c, n, s in RESNET20_STAGES for i in range(n)]  # fmt: skip
    return MacroArch.from_triples(triples, input_shape, classes)


def mobilenetv2(width: float = 1.0, input_shape=(3, 32, 32), classes: int = 10) -> MacroArch:
    triples = [(cell, _channels(c * width), s if i == 0 else 1)
               for cell, c, n, s in MOBILENETV2_STAGES for i in range(n)]  # fmt: skip
    return MacroArch.from_triples(triples, input_shape, classes)


class TwoConv(nn.Module):
    """Zalando's "2 Conv <100K parameters" network, its widths scaled by ``width``."""

    def __init__(self, width: float = 1.0, input_shape=(1, 28, 28), classes: int = 10):
        super().__init__()
        c1, c2, k = _channels(TWO_CONV[0] * width), _channels(TWO_CONV[1] * width), TWO_CONV[2]
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], c1, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.side = input_shape[1] // 4, input_shape[2] // 4
        self.classifier = nn.Linear(c2 * self.side[0] * self.side[1], classes)
        self.shape = (c1, c2, k, tuple(input_shape), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))

    def cost(self) -> Cost:
        """Params and multiply-accumulates at batch 1 (convs and the linear layer: the space's convention)."""
        c1, c2, k, (cin, h, w), classes = self.shape
        feat = c2 * self.side[0] * self.side[1]
        params = (cin * k * k + 1) * c1 + (c1 * k * k + 1) * c2 + (feat + 1) * classes
        macs = h * w * c1 * cin * k * k + (h // 2) * (w // 2) * c2 * c1 * k * k + feat * classes
        return Cost(params=params, flops=macs)


PLAIN: dict[str, Callable[..., nn.Module]] = {"two_conv": TwoConv}  # references outside the macro space


@dataclass(frozen=True)
class PlainNet:
    """A reference network outside the macro space as a spec: what stage `trained` keys, builds and checkpoints
    in place of a MacroArch (``arch_id``, ``to_dict``, ``to_json``, ``input_shape``, ``classes``)."""

    name: str
    width: float
    input_shape: tuple[int, int, int] = (1, 28, 28)
    classes: int = 10

    def __post_init__(self) -> None:
        if self.name not in PLAIN:
            raise ConfigError(f"unknown plain reference network {self.name!r}; plain ones: {', '.join(PLAIN)}")

    def to_dict(self) -> dict:
        return {"reference": self.name, "width": self.width, "input_shape": list(self.input_shape),
                "classes": self.classes}  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> PlainNet:
        return cls(d["reference"], float(d["width"]), tuple(d["input_shape"]), int(d["classes"]))

    @property
    def arch_id(self) -> str:
        return f"{self.name}-{hashlib.sha256(self.to_json().encode()).hexdigest()[:12]}"

    def build(self) -> nn.Module:
        return PLAIN[self.name](self.width, self.input_shape, self.classes)

    def cost(self) -> Cost:
        return self.build().cost()


def build(spec: MacroArch | PlainNet) -> nn.Module:
    """The torch module of a network spec: the macro space's, or a plain reference's."""
    return spec.build() if isinstance(spec, PlainNet) else build_network(spec)


def spec_from_dict(d: dict) -> MacroArch | PlainNet:
    """A spec's dict (``to_dict``) back: a plain reference names itself, anything else is a MacroArch."""
    return PlainNet.from_dict(d) if "reference" in d else MacroArch.from_dict(d)


REFERENCES: dict[str, tuple[Callable[..., object], Callable[[object], Cost]]] = {
    "two_conv": (lambda w, shape, classes: PlainNet("two_conv", w, tuple(shape), classes), PlainNet.cost),
    "resnet20": (resnet20, macro_cost),
    "mobilenetv2": (mobilenetv2, macro_cost),
}


def fit_budget(name: str, max_params: int | None, max_flops: int | None, input_shape=(1, 28, 28),
               classes: int = 10) -> tuple[object, float, Cost]:  # fmt: skip
    """Reference ``name`` at the largest width of ``WIDTHS`` whose params and MACs meet the budget:
    (the network — a MacroArch, or a ``PlainNet`` for two_conv —, its width, its cost)."""
    if name not in REFERENCES:
        raise ConfigError(f"unknown reference network {name!r}; references: {', '.join(REFERENCES)}")
    build, cost_of = REFERENCES[name]
    best = None
    for w in WIDTHS:
        net = build(w, tuple(input_shape), classes)
        cost = cost_of(net)
        if (max_params is None or cost.params <= max_params) and (max_flops is None or cost.flops <= max_flops):
            best = (net, w, cost)
    if best is None:
        raise ConfigError(f"no width of {name} fits params <= {max_params}, MACs <= {max_flops}")
    return best
