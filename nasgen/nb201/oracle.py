"""The answers a search on NAS-Bench-201 may ask for, counted against a budget.

A strategy sees only an ``Oracle``: a value per architecture index (validation accuracy in the oracle protocol,
a zero-cost proxy in the zero-cost protocol) and the number of queries left. Every query counts, a repeated one
included (the published protocols charge NB201's training time per evaluation). Test accuracy is not reachable
from here: the benchmark reports it for the architecture a run returns, after the search.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nasgen.errors import NasgenError
from nasgen.nb201.arch import SPACE_SIZE


class BudgetExhausted(NasgenError):
    """Raised by a query past the budget: the search is over."""


class Oracle:
    """``value(index)`` for at most ``budget`` queries; the best answer seen is the run's result."""

    def __init__(self, value: Callable[[int], float], budget: int, name: str = "oracle") -> None:
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise ValueError(f"an oracle budget is a positive int, got {budget!r}")
        self._value = value
        self.budget = budget
        self.name = name
        self.history: list[tuple[int, float]] = []  # (index, value) per query, in order
        self.info: dict[str, float] = {}  # what a method reports of a run besides its queries

    @classmethod
    def from_table(cls, values: np.ndarray, budget: int, name: str = "oracle") -> Oracle:
        """An oracle over one value per architecture index (e.g. NB201's validation accuracy)."""
        values = np.asarray(values, dtype=float)
        if values.shape != (SPACE_SIZE,):
            raise ValueError(f"an NB-201 value table has {SPACE_SIZE} entries, got shape {values.shape}")
        return cls(lambda i: float(values[i]), budget, name)

    @property
    def queries(self) -> int:
        return len(self.history)

    @property
    def left(self) -> int:
        return self.budget - self.queries

    def admits(self, index: int) -> bool:
        """Every NB-201 architecture may be asked (the search interface's constraint check)."""
        return True

    def query(self, index: int, iteration: int | None = None, phase: str | None = None) -> float:
        """The value of architecture ``index`` (``iteration`` and ``phase`` label a row of a search history;
        an oracle keeps only (index, value))."""
        index = int(index)
        if not 0 <= index < SPACE_SIZE:
            raise ValueError(f"NB-201 index {index} outside 0..{SPACE_SIZE - 1}")
        if self.left <= 0:
            raise BudgetExhausted(f"{self.name}: budget of {self.budget} queries spent")
        v = float(self._value(index))
        self.history.append((index, v))
        return v

    def best(self) -> tuple[int, float]:
        """The architecture with the highest answer so far (the first one on ties)."""
        if not self.history:
            raise NasgenError(f"{self.name}: no query was made")
        return max(self.history, key=lambda h: h[1])

    def incumbents(self) -> list[int]:
        """The best architecture after each query (what the run would return if stopped there)."""
        out, best_i, best_v = [], -1, -np.inf
        for i, v in self.history:
            if best_i < 0 or v > best_v:
                best_i, best_v = i, v
            out.append(best_i)
        return out
