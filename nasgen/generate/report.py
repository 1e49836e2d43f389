"""Console report of a generation (CLI and `make demo`)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table


def show_generation(summary: dict, uri: str, console: Console) -> None:
    """The chosen networks of a `generate` artifact's summary as a table."""
    t = Table(title=f"generated for {summary['request']['max_params']} params / {summary['request']['max_flops']} "
                    f"FLOPs: {summary['counts']}")  # fmt: skip
    objective = summary.get("objective", "tcet")
    for col in ("rank", "T-CET" if objective == "tcet" else objective, "params", "FLOPs", "positions",
                "HL sequence (k/ch/s)"):  # fmt: skip
        t.add_column(col)
    for c in summary["chosen"]:
        seq = json.loads(c["hl_sequence"])["layers"]
        t.add_row(str(c["rank"]), f"{c.get('fitness', c['tcet']):.4g}", f"{c['params']:,}", f"{c['flops']:,}",
                  str(c["positions"]),
                  " ".join(f"{x['cluster']}/{x['channels']}/{x['stride']}" for x in seq))  # fmt: skip
    console.print(t)
    for w in summary.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}", soft_wrap=True)
    console.print(f"artifact: {uri} (rank<i>.json spec, rank<i>.safetensors weights, rank<i>.png)")
