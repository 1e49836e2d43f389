"""Console report of a generation (CLI and `make demo`)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table


def show_generation(summary: dict, uri: str, console: Console) -> None:
    """The chosen networks of a `generate` artifact's summary as a table."""
    req = summary["request"]
    latency = req.get("max_latency_ms")
    budget = f" / {latency} ms on {req['latency_device']}" if latency is not None else ""
    t = Table(title=f"generated for {req['max_params']} params / {req['max_flops']} FLOPs{budget}: "
                    f"{summary['counts']}")  # fmt: skip
    objective = summary.get("objective", "tcet")
    columns = ["rank", "T-CET" if objective == "tcet" else objective, "params", "FLOPs", "positions"]
    columns += ["latency ms (predicted / measured)"] if latency is not None else []
    for col in (*columns, "HL sequence (k/ch/s)"):
        t.add_column(col)
    for c in summary["chosen"]:
        seq = json.loads(c["hl_sequence"])["layers"]
        cells = [str(c["rank"]), f"{c.get('fitness', c['tcet']):.4g}", f"{c['params']:,}", f"{c['flops']:,}",
                 str(c["positions"])]  # fmt: skip
        if latency is not None:
            cells.append(f"{c['latency_ms']:.3f} / {c['measured_latency_ms']:.3f}")
        t.add_row(*cells, " ".join(f"{x['cluster']}/{x['channels']}/{x['stride']}" for x in seq))
    console.print(t)
    for w in summary.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}", soft_wrap=True)
    console.print(f"artifact: {uri} (rank<i>.json spec, rank<i>.safetensors weights, rank<i>.png)")
