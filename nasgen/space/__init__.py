"""GraphNet search space: cells (micro), macro architectures, the torch builder and the cost model."""

from nasgen.space.cell import Cell
from nasgen.space.macro import HLSequence, MacroArch, reference_macro
from nasgen.space.ops import NUM_OPS, OPS, Op, op_by_name

__all__ = ["Cell", "MacroArch", "HLSequence", "reference_macro", "OPS", "NUM_OPS", "Op", "op_by_name"]
