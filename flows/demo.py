"""`make demo`: the pipeline at a profile on the embedded defaults, printing the result.

Today's pipeline is the foundation stage (sample cells); later stages are appended here as they land.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from flows.sample_cells import sample_cells
from nasgen.config import get_profile
from nasgen.space.cell import Cell
from nasgen.space.cost import counted_macro_cost, macro_cost
from nasgen.space.macro import reference_macro
from nasgen.stages import cells
from nasgen.store import ArtifactStore


def run_demo(profile: str = "demo", store: str | None = None, console: Console | None = None) -> dict:
    console = console or Console()
    prof = get_profile(profile)
    st = ArtifactStore(store)
    ref = sample_cells(profile=profile, store=st.root)
    table = cells.load_cells(st, ref)
    codes = table.column("code").to_numpy()
    n_ops = np.bincount(table.column("n_ops").to_numpy(), minlength=7)[1:]
    console.print(f"[bold]cells[/bold]: {ref.rows} unique canonical cells at {ref.uri}")
    console.print(f"op-count histogram (1..6 ops): {n_ops.tolist()}")
    t = Table(title=f"{prof.describe_examples} cells on the reference macro alpha_x (3x32x32, 10 classes)")
    for col in ("cell_id", "ops", "edges", "params", "FLOPs (MACs)", "hook count agrees"):
        t.add_column(col)
    examples = []
    for code in codes[: prof.describe_examples]:
        cell = Cell.from_code(int(code))
        macro = reference_macro(cell)
        a, c = macro_cost(macro), counted_macro_cost(macro)
        t.add_row(
            cell.cell_id,
            " ".join(cell.node_names[1:-1]),
            str(len(cell.edges)),
            f"{a.params:,}",
            f"{a.flops:,}",
            str(a == c),
        )
        examples.append({"cell_id": cell.cell_id, "params": a.params, "flops": a.flops, "agrees": a == c})
    console.print(t)
    return {"ref": ref.model_dump(), "op_count_histogram": n_ops.tolist(), "examples": examples}
