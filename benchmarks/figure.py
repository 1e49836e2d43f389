"""The headless matplotlib every benchmark draws with, and a figure as a PNG file or as PNG bytes."""

from __future__ import annotations

import io
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


def png(fig: Any, dpi: int = 110, tight: bool = False) -> bytes:
    """The figure as PNG bytes (``tight``: cropped to its content), the figure closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    pyplot().close(fig)
    return buf.getvalue()
