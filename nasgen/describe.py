"""Human-readable description of a cell, macro or HL sequence: ops, ids, params and FLOPs (analytic and counted)."""

from __future__ import annotations

from typing import Any

from nasgen.space.cell import Cell
from nasgen.space.cost import counted_macro_cost, macro_cost
from nasgen.space.macro import HLSequence, MacroArch, reference_macro


def describe(spec: Cell | MacroArch | HLSequence) -> dict[str, Any]:
    if isinstance(spec, HLSequence):
        return {"kind": "hl_sequence", "seq_id": spec.seq_id, **spec.to_dict()}
    if isinstance(spec, Cell):
        macro = reference_macro(spec)
        out: dict[str, Any] = {
            "kind": "cell",
            "cell_id": spec.cell_id,
            "ops": spec.node_names[1:-1],
            "edges": [list(e) for e in spec.edges],
            "canonical": spec.canonical().to_dict(),
            "cost_on": "reference macro alpha_x (paper Eq. 1)",
        }
    else:
        macro = spec
        out = {
            "kind": "macro",
            "arch_id": spec.arch_id,
            "input": list(spec.input_shape),
            "classes": spec.classes,
            "layers": [
                {"cell_id": x.cell.cell_id, "ops": x.cell.node_names[1:-1], "channels": x.channels, "stride": x.stride}
                for x in spec.layers
            ],
        }
    analytic, counted = macro_cost(macro), counted_macro_cost(macro)
    out["params"] = {"analytic": analytic.params, "counted": counted.params}
    out["flops"] = {"analytic": analytic.flops, "counted": counted.flops}
    return out
