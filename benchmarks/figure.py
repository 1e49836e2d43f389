"""The headless matplotlib a benchmark draws with, and saving a figure (benchmarks/load.py, benchmarks/soak.py)."""

from __future__ import annotations

from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display on CI or a worker)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str, dpi: int = 120) -> None:
    """Tight layout, a PNG at ``path``, the figure closed."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
