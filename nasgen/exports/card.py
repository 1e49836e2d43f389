"""Model cards (Markdown and JSON), in the spirit of Hugging Face's: what a network is, what it costs, how fast
it ran where, how well it trained on what, and how nasgen found it, so a deployment team needs nothing else.

A card is a plain dict with every field of ``FIELDS`` present (``None`` where a network has no such fact, e.g.
no training for a network that was generated but not trained); ``card_markdown`` renders it.
"""

from __future__ import annotations

import json

FIELDS: tuple[str, ...] = ("name", "architecture", "picture", "params", "flops", "input_shape", "classes",
                           "latency", "zc", "training", "provenance", "export")  # fmt: skip


def model_card(**fields) -> dict:
    """A card from its fields; every one of FIELDS must be given (None allowed), nothing else."""
    missing, unknown = set(FIELDS) - set(fields), set(fields) - set(FIELDS)
    if missing or unknown:
        raise TypeError(f"model card: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return {f: fields[f] for f in FIELDS}


def card_markdown(card: dict, picture: str | None = None) -> str:
    """The card as Markdown: a summary table, then one section per group of facts. ``picture``: where the
    network's picture is linked from (default the card's own file name; a data URI where the page stands alone)."""
    lat = card["latency"]
    rows = [("parameters", f"{card['params']:,}"), ("FLOPs (MACs, batch 1)", f"{card['flops']:,}"),
            ("input", "×".join(map(str, card["input_shape"]))), ("classes", str(card["classes"]))]  # fmt: skip
    if lat is not None:
        rows.append(("latency", f"{lat['median_ms']:.3f} ms median (p10 {lat['p10_ms']:.3f}, p90 {lat['p90_ms']:.3f}) "
                                f"on {_device(lat['device'])}, batch {lat['settings']['batch']}, "
                                f"{lat['threads']} threads, {lat['settings']['precision']}, "
                                f"{lat['settings']['runtime']}"))  # fmt: skip
    training = card["training"]
    if training is not None:
        rows.append(("test top-1", f"{training['metrics']['test_top1']:.4f} on {training['dataset']['name']}"))
    lines = [f"# {card['name']}", "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), ""]
    if card["picture"]:
        lines += [f"![architecture]({picture or card['picture']})", ""]
    lines += ["## Architecture", "", "```json", json.dumps(card["architecture"], indent=1), "```", ""]
    if card["zc"]:
        lines += ["## Zero-cost record", "", "| proxy | value |", "|---|---|",
                  *(f"| {k} | {_num(v)} |" for k, v in card["zc"].items()), ""]  # fmt: skip
    if training is not None:
        lines += ["## Training", "", f"dataset: `{json.dumps(training['dataset'])}`", "",
                  f"recipe: `{json.dumps(training['recipe'])}`", "", "| metric | value |", "|---|---|",
                  *(f"| {k} | {_num(v)} |" for k, v in training["metrics"].items()), ""]  # fmt: skip
    lines += ["## How it was found", "", "```json", json.dumps(card["provenance"], indent=1), "```", ""]
    if card["export"] is not None:
        e = card["export"]
        lines += ["## Export", "", f"format {e['format']}" + (f", opset {e['opset']}" if e.get("opset") else "")
                  + f", file `{e['file']}` (sha256 {e['sha256'][:16]}…), dynamic batch; max |logit difference| from "
                  f"PyTorch {e['max_abs_difference']:.2e} at batches {e['parity_batches']}", ""]  # fmt: skip
    return "\n".join(lines)


def _device(d: dict) -> str:
    return d["gpu"] or f"{d['cpu']} ({d['cores']} cores)"


def _num(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
