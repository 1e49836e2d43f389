"""Macro space: MacroArch (cells with channels/strides), HL sequences (cluster ids instead of cells),
their JSON forms, and the reference macro alpha_x of the paper's Eq. 1."""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from nasgen.errors import InvalidCellError, InvalidMacroError
from nasgen.space.cell import Cell

MAX_LAYERS = 20
CHANNEL_STEP = 8
MAX_CHANNELS = 1024
CHANNELS: tuple[int, ...] = tuple(range(CHANNEL_STEP, MAX_CHANNELS + 1, CHANNEL_STEP))
STRIDES: tuple[int, ...] = (1, 2)
DEFAULT_INPUT = (3, 32, 32)
DEFAULT_CLASSES = 10

# Eq. 1: 17 positions, c_i = 16 * 2^floor(i/6), s_i = 2 iff i in {6, 12}
REFERENCE_POSITIONS = 17
REFERENCE_BASE_CHANNELS = 16
REFERENCE_GROUP = 6
REFERENCE_STRIDE_POSITIONS = (6, 12)


@dataclass(frozen=True)
class Layer:
    cell: Cell
    channels: int
    stride: int


@dataclass(frozen=True)
class HLLayer:
    cluster: int
    channels: int
    stride: int


def _check_common(n_layers: int, channels: Sequence[int], strides: Sequence[int], input_shape, classes) -> None:
    if not 1 <= n_layers <= MAX_LAYERS:
        raise InvalidMacroError(f"a macro architecture has 1..{MAX_LAYERS} positions, got {n_layers}")
    for p, (c, s) in enumerate(zip(channels, strides)):
        if c not in CHANNELS:
            raise InvalidMacroError(
                f"position {p}: channels {c!r} not in {{{CHANNEL_STEP}, {2 * CHANNEL_STEP}, ..., {MAX_CHANNELS}}}"
            )
        if s not in STRIDES:
            raise InvalidMacroError(f"position {p}: stride {s!r} not in {{1, 2}}")
    if len(input_shape) != 3 or not all(isinstance(x, int) and x >= 1 for x in input_shape):
        raise InvalidMacroError(f"input must be three positive integers (C, H, W), got {list(input_shape)!r}")
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        raise InvalidMacroError(f"classes must be a positive integer, got {classes!r}")


def _integer(value: Any, what: str) -> int:
    """A Python int from an int or numpy integer; bool, float and anything else are refused by name."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidMacroError(f"{what} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def _freeze_and_check(arch: MacroArch | HLSequence) -> None:
    """Shared by both macro forms: tuples of Python ints (hashable, JSON-safe, cache-safe), then the
    position/input/classes rules."""
    layers = tuple(
        replace(x, channels=_integer(x.channels, f"position {p}: channels"),
                stride=_integer(x.stride, f"position {p}: stride"))
        for p, x in enumerate(arch.layers)
    )  # fmt: skip
    if not isinstance(arch.input_shape, (list, tuple)) or len(arch.input_shape) != 3:
        raise InvalidMacroError(f"input must be three positive integers (C, H, W), got {arch.input_shape!r}")
    object.__setattr__(arch, "layers", layers)
    object.__setattr__(arch, "input_shape", tuple(_integer(v, "input (C, H, W)") for v in arch.input_shape))
    object.__setattr__(arch, "classes", _integer(arch.classes, "classes"))
    _check_common(len(layers), [x.channels for x in layers], [x.stride for x in layers], arch.input_shape, arch.classes)


def _parse_header(data: Any) -> tuple[tuple[int, int, int], int, list[dict]]:
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise InvalidMacroError('a macro architecture must be an object with a "layers" list')
    inp = data.get("input", list(DEFAULT_INPUT))
    if not isinstance(inp, (list, tuple)):
        raise InvalidMacroError(f"input must be [C, H, W], got {inp!r}")
    for p, layer in enumerate(data["layers"]):
        if not isinstance(layer, dict) or "channels" not in layer or "stride" not in layer:
            raise InvalidMacroError(f'position {p}: expected an object with "channels" and "stride"')
    return tuple(inp), data.get("classes", DEFAULT_CLASSES), data["layers"]


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MacroArch:
    """A concrete network: 1..20 (cell, channels, stride) triples, the input spec (C, H, W) and classes."""

    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int] = DEFAULT_INPUT
    classes: int = DEFAULT_CLASSES

    def __post_init__(self) -> None:
        for p, layer in enumerate(self.layers):
            if not isinstance(layer.cell, Cell):
                raise InvalidMacroError(f"position {p}: cell must be a Cell, got {type(layer.cell).__name__}")
        _freeze_and_check(self)

    @classmethod
    def from_triples(cls, triples: Sequence[tuple[Cell, int, int]], input_shape=DEFAULT_INPUT, classes=DEFAULT_CLASSES):
        return cls(tuple(Layer(c, ch, s) for c, ch, s in triples), tuple(input_shape), classes)

    def to_dict(self, cell_ids: bool = False) -> dict[str, Any]:
        return {
            "input": list(self.input_shape),
            "classes": self.classes,
            "layers": [
                {"cell": x.cell.cell_id if cell_ids else x.cell.to_dict(), "channels": x.channels, "stride": x.stride}
                for x in self.layers
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], normalise: bool = False) -> MacroArch:
        inp, classes, layers = _parse_header(data)
        parsed = []
        for p, layer in enumerate(layers):
            spec = layer.get("cell")
            try:
                cell = Cell.from_id(spec) if isinstance(spec, str) else Cell.from_dict(spec, normalise=normalise)
            except InvalidCellError as e:
                raise InvalidMacroError(f"position {p}: {e}") from None
            parsed.append(Layer(cell, layer["channels"], layer["stride"]))
        return cls(tuple(parsed), inp, classes)

    @classmethod
    def from_json(cls, text: str, normalise: bool = False) -> MacroArch:
        return cls.from_dict(_loads(text), normalise=normalise)

    @property
    def arch_id(self) -> str:
        """Content id over canonical cell ids, channels, strides, input and classes."""
        return _digest(self.to_dict(cell_ids=True))


@dataclass(frozen=True)
class HLSequence:
    """A high-level design: (cluster, channels, stride) per position; materialised by choosing a cell per cluster."""

    layers: tuple[HLLayer, ...]
    input_shape: tuple[int, int, int] = DEFAULT_INPUT
    classes: int = DEFAULT_CLASSES

    def __post_init__(self) -> None:
        clusters = [_integer(x.cluster, f"position {p}: cluster") for p, x in enumerate(self.layers)]
        for p, c in enumerate(clusters):
            if c < 0:
                raise InvalidMacroError(f"position {p}: cluster must be a non-negative integer, got {c!r}")
        object.__setattr__(self, "layers", tuple(replace(x, cluster=c) for x, c in zip(self.layers, clusters)))
        _freeze_and_check(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": list(self.input_shape),
            "classes": self.classes,
            "layers": [{"cluster": x.cluster, "channels": x.channels, "stride": x.stride} for x in self.layers],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HLSequence:
        inp, classes, layers = _parse_header(data)
        for p, layer in enumerate(layers):
            if "cluster" not in layer:
                raise InvalidMacroError(f'position {p}: an HL sequence names a "cluster" per position')
        return cls(tuple(HLLayer(x["cluster"], x["channels"], x["stride"]) for x in layers), inp, classes)

    @classmethod
    def from_json(cls, text: str) -> HLSequence:
        return cls.from_dict(_loads(text))

    def materialise(self, cells: Sequence[Cell]) -> MacroArch:
        """alpha(alpha_hat): the concrete network with ``cells[i]`` drawn from cluster i's family."""
        if len(cells) != len(self.layers):
            raise InvalidMacroError(f"materialise needs one cell per position: {len(self.layers)} != {len(cells)}")
        return MacroArch(
            tuple(Layer(c, x.channels, x.stride) for c, x in zip(cells, self.layers)), self.input_shape, self.classes
        )

    @property
    def seq_id(self) -> str:
        return _digest(self.to_dict())


def reference_macro(cell: Cell, input_shape=DEFAULT_INPUT, classes: int = DEFAULT_CLASSES) -> MacroArch:
    """alpha_x of Eq. 1: 17 copies of ``cell``, c_i = 16 * 2^floor(i/6), stride 2 at i = 6 and 12."""
    return MacroArch(
        tuple(
            Layer(
                cell, REFERENCE_BASE_CHANNELS * 2 ** (i // REFERENCE_GROUP), 2 if i in REFERENCE_STRIDE_POSITIONS else 1
            )
            for i in range(REFERENCE_POSITIONS)
        ),
        tuple(input_shape),
        classes,
    )


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidMacroError(f"JSON does not parse: {e}") from None


def load_spec(text: str, normalise: bool = False) -> Cell | MacroArch | HLSequence:
    """Parse any of the three JSON forms, told apart by their keys."""
    data = _loads(text)
    if isinstance(data, dict) and "nodes" in data:
        return Cell.from_dict(data, normalise=normalise)
    if isinstance(data, dict) and isinstance(data.get("layers"), list):
        if data["layers"] and isinstance(data["layers"][0], dict) and "cluster" in data["layers"][0]:
            return HLSequence.from_dict(data)
        return MacroArch.from_dict(data, normalise=normalise)
    raise InvalidMacroError('expected a cell ({"nodes", "edges"}) or a macro architecture ({"layers": [...]})')
