"""The search history H as Parquet: one row per accepted network (what the SG trains on, issue 7)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa

BASE_FIELDS = [
    pa.field("iteration", pa.int64(), nullable=False),
    pa.field("phase", pa.string(), nullable=False),
    pa.field("mutation", pa.string(), nullable=False),
    pa.field("arch_id", pa.string(), nullable=False),
    pa.field("macro", pa.string(), nullable=False),  # MacroArch JSON: the concrete network alpha(alpha_hat)
    pa.field("hl_sequence", pa.string(), nullable=True),  # HLSequence JSON (null in the raw space)
    pa.field("cells", pa.list_(pa.string()), nullable=False),  # canonical cell ids per position
    pa.field("positions", pa.int32(), nullable=False),
    pa.field("params", pa.int64(), nullable=False),
    pa.field("flops", pa.int64(), nullable=False),
    pa.field("fitness", pa.float64(), nullable=False),  # the objective (T-CET by default); -inf: scoring failed
    pa.field("status", pa.string(), nullable=False),
    pa.field("constraint", pa.string(), nullable=False),
    pa.field("evaluations", pa.int64(), nullable=False),  # ZC evaluations spent when the row was added
    pa.field("seconds", pa.float64(), nullable=False),
]


def schema(proxies: tuple[str, ...]) -> pa.Schema:
    """Base columns plus one float64 column per ZC proxy except params/flops (the network's ZC vector)."""
    names = {f.name for f in BASE_FIELDS}
    return pa.schema(BASE_FIELDS + [pa.field(p, pa.float64(), nullable=False) for p in proxies if p not in names])


def to_table(rows: list[dict], proxies: tuple[str, ...]) -> pa.Table:
    sch = schema(proxies)
    return pa.Table.from_pylist([{f.name: r[f.name] for f in sch} for r in rows], schema=sch)


def from_table(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def curve_png(history: list[dict], title: str, objective: str = "tcet") -> bytes:
    """Best objective against ZC evaluations, and the history's objective against params (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = np.array([r["evaluations"] for r in history])
    fit = np.array([r["fitness"] for r in history])
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.step(ev, np.maximum.accumulate(fit), where="post")
    a.set(xlabel="ZC evaluations", ylabel=f"best {objective} so far", title=title)
    b.scatter([r["params"] for r in history], fit, s=6, c=[r["iteration"] for r in history], cmap="viridis")
    b.set(xscale="log", xlabel="params", ylabel=objective, title="history H (colour: iteration)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
