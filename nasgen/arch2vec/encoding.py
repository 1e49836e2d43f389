"""What arch2vec needs of a search space: graphs of ``n_nodes`` labelled nodes in topological order, each node
carrying one class per label head (NB-201: its op; GraphNet: its type and its kernel), and the way back from a
decoded graph to an architecture of the space, or None when it is not one.

The GIN reads the concatenated one-hots of a node's labels; the decoder has one softmax per head.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Encoding:
    name: str
    n_nodes: int
    heads: tuple[int, ...]  # classes of each label head
    encode: Callable[[Sequence[Any]], tuple[np.ndarray, np.ndarray]]  # items -> adj (B,N,N) int8, labels (B,N,H)
    decode: Callable[[np.ndarray, np.ndarray], Any | None]  # adj (N,N), labels (N,H) -> item or None
    reference_valid: Callable[[np.ndarray], bool] | None = None  # the authors' weaker check, where they had one

    @property
    def in_dim(self) -> int:
        return sum(self.heads)
