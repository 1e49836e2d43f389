"""A picture of a generated network: stem, one box per position (cell family, channels, stride, ops), head."""

from __future__ import annotations

import io

from nasgen.space.macro import HLSequence, MacroArch

PER_ROW = 5


def network_png(macro: MacroArch, seq: HLSequence | None = None, title: str = "") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    boxes = [("stem", f"3x3 conv -> {macro.layers[0].channels} ch\ninput {'x'.join(map(str, macro.input_shape))}")]
    for i, layer in enumerate(macro.layers):
        family = f"family {seq.layers[i].cluster}, " if seq is not None else ""
        ops = " ".join(layer.cell.node_names[1:-1])
        boxes.append((f"position {i}", f"{family}{layer.channels} ch, stride {layer.stride}\n{_wrap(ops)}"))
    boxes.append(("head", f"global pool -> linear\n{macro.classes} classes"))
    rows = -(-len(boxes) // PER_ROW)
    fig, ax = plt.subplots(figsize=(2.6 * PER_ROW, 1.6 * rows + 0.6))
    for j, (name, text) in enumerate(boxes):
        r, c = divmod(j, PER_ROW)
        x, y = c * 2.6, -r * 1.6
        colour = "#dde8f5" if name.startswith("position") else "#eeeeee"
        ax.add_patch(FancyBboxPatch((x, y), 2.2, 1.1, boxstyle="round,pad=0.05", fc=colour, ec="#335"))
        ax.text(x + 1.1, y + 0.9, name, ha="center", va="center", fontsize=8, weight="bold")
        ax.text(x + 1.1, y + 0.42, text, ha="center", va="center", fontsize=6.5)
        if j + 1 < len(boxes) and c + 1 < PER_ROW:
            ax.annotate("", (x + 2.55, y + 0.55), (x + 2.25, y + 0.55), arrowprops={"arrowstyle": "->"})
    ax.set_xlim(-0.2, 2.6 * PER_ROW)
    ax.set_ylim(-1.6 * (rows - 1) - 0.2, 1.4)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _wrap(text: str, width: int = 34) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
