"""A progress line for long loops (stages, benchmarks) that reads the same on a terminal and in a log file
(stderr): a terminal bar would leave nothing readable in ``make demo > demo.log``."""

from __future__ import annotations

import sys
import time

STAGE_LINE_EVERY_S = 30.0  # a stage's line: often enough to see it move, rare enough to read a log of a long run


class ProgressLine:
    """``label done/total (pct) elapsed, eta`` on stderr, at most every ``every`` seconds and at the end."""

    def __init__(self, label: str, total: int, every: float = 10.0, enabled: bool = True):
        self.label, self.total, self.every, self.enabled = label, total, every, enabled
        self.done = 0
        self.t0 = self.last = time.perf_counter()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self.last >= self.every or self.done >= self.total):
            self.last = now
            elapsed = now - self.t0
            eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
            pct = 100.0 * self.done / max(self.total, 1)
            print(f"{self.label}: {self.done}/{self.total} ({pct:.0f}%) {elapsed:.0f} s, eta {eta:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip

    def finish(self) -> None:
        """The closing line (a loop that stops early, e.g. at early stopping, never reaches ``total``)."""
        if self.enabled and self.done < self.total:
            elapsed = time.perf_counter() - self.t0
            print(f"{self.label}: done at {self.done}/{self.total} in {elapsed:.0f} s", file=sys.stderr, flush=True)
