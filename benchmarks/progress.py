"""A progress line for long benchmark loops that reads the same on a terminal and in a log file (stderr)."""

from __future__ import annotations

import sys
import time


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
