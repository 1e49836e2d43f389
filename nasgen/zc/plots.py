"""A one-look picture of a scored set: each proxy's distribution and how it moves with model size.

Rendered off-screen (Agg) to PNG bytes so the store keeps it next to the table it describes.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Proxies spanning many orders of magnitude are shown on a log axis (synflow reaches 1e60).
LOG_SCALE = frozenset({"snip", "synflow", "tcet", "params", "flops", "snip_ssnr"})


def overview_png(table: pa.Table, proxies: tuple[str, ...], title: str = "") -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ok = table.filter(pc.equal(table.column("status"), "ok"))
    shown = [p for p in proxies if p not in ("params", "flops")]
    size = ok.column("params").to_numpy() if "params" in proxies else None
    rows = 2 if size is not None else 1
    fig, axes = plt.subplots(rows, len(shown), figsize=(3.2 * len(shown), 2.8 * rows), squeeze=False)
    for j, p in enumerate(shown):
        v = ok.column(p).to_numpy(zero_copy_only=False).astype(np.float64)
        log = p in LOG_SCALE and np.all(v > 0)
        ax = axes[0, j]
        ax.hist(np.log10(v) if log else v, bins=30, color="tab:blue")
        ax.set_title(p)
        ax.set_xlabel(f"log10 {p}" if log else p)
        if size is not None:
            ax = axes[1, j]
            ax.scatter(size, v, s=4, alpha=0.6, color="tab:orange")
            ax.set_xscale("log")
            if log:
                ax.set_yscale("log")
            ax.set_xlabel("params")
            ax.set_ylabel(p)
    fig.suptitle(title or f"{ok.num_rows} cells scored (status ok) of {table.num_rows}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
