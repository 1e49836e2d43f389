"""Tokens of the sequence generator (paper Section 4.3, Appendix A; DESIGN section 5).

A training sequence is ``<bos> [condition tokens] <sep> (cluster channels stride)* <eos>``. Condition tokens
are binned values of the network's y = z(alpha(alpha_hat)): params, FLOPs and ZC values, one token per field
in a fixed field order, any subset of them (training drops some at random). Bin edges are quantiles of the
history the SG is trained on, stored with the model, so every bin holds about the same number of networks.

Vocabulary layout: 4 specials | condition bins, field by field | K clusters | channel values | strides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nasgen.errors import ConfigError, InvalidMacroError
from nasgen.space.macro import CHANNELS, STRIDES, HLLayer, HLSequence

PAD, BOS, SEP, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<sep>", "<eos>")
TOKENS_PER_POSITION = 3  # cluster, channels, stride


class InvalidSequenceError(InvalidMacroError):
    """Token ids that do not parse as an HL sequence."""


@dataclass(frozen=True)
class SGTokenizer:
    fields: tuple[str, ...]  # condition fields, in token order
    edges: tuple[tuple[float, ...], ...]  # inner bin edges per field: len(edges[f]) + 1 bins
    clusters: int  # K of the GMM the history's HL sequences name

    def __post_init__(self) -> None:
        if len(self.fields) != len(self.edges) or len(set(self.fields)) != len(self.fields):
            raise ConfigError(f"condition fields {self.fields} and their {len(self.edges)} edge lists do not match")
        if self.clusters < 1:
            raise ConfigError(f"an SG needs at least one cluster, got {self.clusters}")

    # --- construction ---------------------------------------------------------------------------------
    @classmethod
    def fit(cls, conditions: Mapping[str, Sequence[float]], bins: int, clusters: int) -> SGTokenizer:
        """Quantile bin edges (duplicates merged) of each field's values in the training history."""
        edges = []
        for name, values in conditions.items():
            v = np.asarray(values, dtype=np.float64)
            v = v[np.isfinite(v)]
            if len(v) == 0:
                raise ConfigError(f"condition field {name!r} has no finite value in the history")
            q = np.quantile(v, np.arange(1, bins) / bins)
            edges.append(tuple(float(x) for x in np.unique(q)))
        return cls(tuple(conditions), tuple(edges), clusters)

    def to_json(self) -> dict:
        return {"fields": list(self.fields), "edges": [list(e) for e in self.edges], "clusters": self.clusters}

    @classmethod
    def from_json(cls, data: dict) -> SGTokenizer:
        return cls(tuple(data["fields"]), tuple(tuple(e) for e in data["edges"]), int(data["clusters"]))

    # --- vocabulary -----------------------------------------------------------------------------------
    def bins(self, field: str) -> int:
        return len(self.edges[self._field_index(field)]) + 1

    def _field_index(self, field: str) -> int:
        try:
            return self.fields.index(field)
        except ValueError:
            raise ConfigError(f"unknown condition field {field!r}; this SG knows {', '.join(self.fields)}") from None

    def _field_offset(self, i: int) -> int:
        return len(SPECIALS) + sum(len(e) + 1 for e in self.edges[:i])

    @property
    def cluster_offset(self) -> int:
        return self._field_offset(len(self.fields))

    @property
    def channel_offset(self) -> int:
        return self.cluster_offset + self.clusters

    @property
    def stride_offset(self) -> int:
        return self.channel_offset + len(CHANNELS)

    @property
    def vocab_size(self) -> int:
        return self.stride_offset + len(STRIDES)

    def token_ranges(self) -> dict[str, range]:
        """Id ranges of the token kinds the grammar distinguishes."""
        return {
            "condition": range(len(SPECIALS), self.cluster_offset),
            "cluster": range(self.cluster_offset, self.channel_offset),
            "channels": range(self.channel_offset, self.stride_offset),
            "stride": range(self.stride_offset, self.vocab_size),
        }

    # --- encoding -------------------------------------------------------------------------------------
    def bin_of(self, field: str, value: float) -> int:
        i = self._field_index(field)
        if not np.isfinite(value):
            raise ConfigError(f"condition {field}={value!r} is not a finite number")
        return int(np.searchsorted(self.edges[i], value, side="right"))

    def bin_range(self, field: str, b: int) -> tuple[float, float]:
        """The values bin ``b`` of ``field`` covers: [low, high) with -inf/inf at the ends."""
        e = (-np.inf, *self.edges[self._field_index(field)], np.inf)
        return float(e[b]), float(e[b + 1])

    def condition_ids(self, condition: Mapping[str, float]) -> list[int]:
        """``<bos>``, one bin token per given field (in field order), ``<sep>``: the generation prompt."""
        for f in condition:
            self._field_index(f)
        ids = [BOS]
        for i, f in enumerate(self.fields):
            if f in condition:
                ids.append(self._field_offset(i) + self.bin_of(f, condition[f]))
        return [*ids, SEP]

    def body_ids(self, seq: HLSequence) -> list[int]:
        ids = []
        for p, x in enumerate(seq.layers):
            if not 0 <= x.cluster < self.clusters:
                raise InvalidSequenceError(f"position {p}: cluster {x.cluster} is not among this SG's {self.clusters}")
            ids += [self.cluster_offset + x.cluster, self.channel_offset + CHANNELS.index(x.channels),
                    self.stride_offset + STRIDES.index(x.stride)]  # fmt: skip
        return [*ids, EOS]

    def encode(self, seq: HLSequence, condition: Mapping[str, float]) -> list[int]:
        return self.condition_ids(condition) + self.body_ids(seq)

    # --- decoding -------------------------------------------------------------------------------------
    def decode_body(self, ids: Sequence[int], input_shape=None, classes: int | None = None) -> HLSequence:
        """The HL sequence of the tokens after ``<sep>`` (up to ``<eos>``; trailing padding ignored)."""
        ids = [int(i) for i in ids]
        if EOS not in ids:
            raise InvalidSequenceError("the sequence has no <eos>")
        body = ids[: ids.index(EOS)]
        if not body or len(body) % TOKENS_PER_POSITION:
            raise InvalidSequenceError(f"{len(body)} body tokens are not whole (cluster, channels, stride) triples")
        r = self.token_ranges()
        layers = []
        for p in range(0, len(body), TOKENS_PER_POSITION):
            k, c, s = body[p : p + TOKENS_PER_POSITION]
            if k not in r["cluster"] or c not in r["channels"] or s not in r["stride"]:
                raise InvalidSequenceError(f"position {p // 3}: tokens {k, c, s} are not (cluster, channels, stride)")
            layers.append(HLLayer(k - self.cluster_offset, CHANNELS[c - self.channel_offset],
                                  STRIDES[s - self.stride_offset]))  # fmt: skip
        extra = {} if input_shape is None else {"input_shape": tuple(input_shape)}
        return HLSequence(tuple(layers), **extra, **({} if classes is None else {"classes": classes}))

    def decode(self, ids: Sequence[int], input_shape=None, classes: int | None = None) -> HLSequence:
        """Parse a whole sequence ``<bos> ... <sep> body <eos>``."""
        ids = [int(i) for i in ids]
        if SEP not in ids:
            raise InvalidSequenceError("the sequence has no <sep>")
        return self.decode_body(ids[ids.index(SEP) + 1 :], input_shape, classes)
